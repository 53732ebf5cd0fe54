-- description: the students table after an upsert: held students not in the file, then the file's rows
-- output: the whole students table
SELECT t.student_id, t.given_name, t.family_name, t.email, t.date_of_birth, t.programme_code,
       t.department, t.level, t.stage, t.mode, t.start_date, t.expected_end_date,
       t.completion_date, t.status, t.status_date, t.visa_route, t.cas_number, t.funding_body,
       t.priority_flags, t.personal_tutor, t.ingested_at
FROM students t
LEFT ANTI JOIN staged s ON s.student_id = t.student_id
UNION ALL
SELECT student_id, given_name, family_name, email, date_of_birth, programme_code,
       department, level, stage, mode, start_date, expected_end_date,
       completion_date, status, status_date, visa_route, cas_number, funding_body,
       priority_flags, personal_tutor, ingested_at
FROM staged
ORDER BY student_id
