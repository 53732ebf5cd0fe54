-- description: a student signing in to the web console, by student id or e-mail address (case-insensitive)
-- params: $who Utf8
-- output: student_id (no row: not a student)
SELECT student_id
FROM students
WHERE student_id = $who OR lower(email) = lower($who)
ORDER BY student_id
LIMIT 1
