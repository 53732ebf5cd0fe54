-- description: every student's record as the web console shows it (no ethnicity, no priority flags), for the console's index of students
-- output: student_id, name, email, programme_code, department, level, stage, mode, status, start_date, expected_end_date, personal_tutor
SELECT student_id,
       trim(concat(coalesce(given_name, ''), ' ', coalesce(family_name, ''))) AS name,
       email, programme_code, department, level, stage, mode, status, start_date, expected_end_date, personal_tutor
FROM students
