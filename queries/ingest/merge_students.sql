-- description: the students table after an upsert: held students not in the file, then the file's rows
-- output: the whole students table
--
-- A row the file repeats unchanged keeps its `ingested_at`, so that the rating sees only
-- the students whose record changed.
SELECT t.student_id, t.given_name, t.family_name, t.email, t.date_of_birth, t.programme_code,
       t.department, t.level, t.stage, t.mode, t.start_date, t.expected_end_date,
       t.completion_date, t.status, t.status_date, t.enrolment_status, t.enrolled_on, t.visa_route, t.cas_number, t.funding_body,
       t.priority_flags, t.personal_tutor, t.ingested_at
FROM students t
LEFT ANTI JOIN staged s ON s.student_id = t.student_id
UNION ALL
SELECT s.student_id, s.given_name, s.family_name, s.email, s.date_of_birth, s.programme_code,
       s.department, s.level, s.stage, s.mode, s.start_date, s.expected_end_date,
       s.completion_date, s.status, s.status_date, s.enrolment_status, s.enrolled_on, s.visa_route, s.cas_number, s.funding_body,
       s.priority_flags, s.personal_tutor,
       CASE WHEN t.student_id IS NOT NULL
                 AND (s.given_name IS NOT DISTINCT FROM t.given_name) AND (s.family_name IS NOT DISTINCT FROM t.family_name)
                 AND (s.email IS NOT DISTINCT FROM t.email) AND (s.date_of_birth IS NOT DISTINCT FROM t.date_of_birth)
                 AND (s.programme_code IS NOT DISTINCT FROM t.programme_code) AND (s.department IS NOT DISTINCT FROM t.department)
                 AND (s.level IS NOT DISTINCT FROM t.level) AND (s.stage IS NOT DISTINCT FROM t.stage)
                 AND (s.mode IS NOT DISTINCT FROM t.mode) AND (s.start_date IS NOT DISTINCT FROM t.start_date)
                 AND (s.expected_end_date IS NOT DISTINCT FROM t.expected_end_date)
                 AND (s.completion_date IS NOT DISTINCT FROM t.completion_date) AND (s.status IS NOT DISTINCT FROM t.status)
                 AND (s.status_date IS NOT DISTINCT FROM t.status_date)
                 AND (s.enrolment_status IS NOT DISTINCT FROM t.enrolment_status)
                 AND (s.enrolled_on IS NOT DISTINCT FROM t.enrolled_on) AND (s.visa_route IS NOT DISTINCT FROM t.visa_route)
                 AND (s.cas_number IS NOT DISTINCT FROM t.cas_number) AND (s.funding_body IS NOT DISTINCT FROM t.funding_body)
                 AND (s.priority_flags IS NOT DISTINCT FROM t.priority_flags)
                 AND (s.personal_tutor IS NOT DISTINCT FROM t.personal_tutor)
            THEN t.ingested_at ELSE s.ingested_at END AS ingested_at
FROM staged s
LEFT JOIN students t ON t.student_id = s.student_id
ORDER BY 1
