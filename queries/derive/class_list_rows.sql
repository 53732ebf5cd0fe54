-- description: every class-list row, for the daily attendance rollup counted in a dense array (derive::attendance_days)
-- params: none
-- output: session_id Utf8, student_id Utf8
--
-- The class lists are stored by student, so a range of days cannot skip any of them:
-- every row is read, and those of a session outside `derive/session_days` or of a student
-- outside `derive/students_expected` count for nothing.
SELECT session_id, student_id
FROM class_lists
