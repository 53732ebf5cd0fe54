-- description: whether a student is on record (a disclosure about an unknown one is refused)
-- params: $student_id Utf8
-- output: n (0 or 1)
SELECT count(*) AS n
FROM students
WHERE student_id = $student_id
