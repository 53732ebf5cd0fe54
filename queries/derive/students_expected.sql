-- description: the students sessions are expected of, for the daily attendance rollup counted in a dense array (derive::attendance_days)
-- params: none
-- output: student_id Utf8
--
-- `derive/daily_attendance`'s condition on the student: a session on a student's class
-- list is expected of them if their status is active and they are not a distance learner
-- (a student without a status or a mode is expected at none, as in that query: the
-- comparisons with a null are not true).
SELECT student_id
FROM students
WHERE status = 'active'
  AND mode <> 'distance'
