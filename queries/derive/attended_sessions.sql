-- description: the sessions students attended around the days rolled up, for the daily attendance rollup counted in a dense array (derive::attendance_days)
-- params: $lo Date32, $hi Date32 (days to recompute)
-- output: student_id Utf8, session_id Utf8
--
-- `derive/daily_attendance`'s attendance marks: a counted swipe falls on the session's day
-- or the day before or after (the window can cross midnight), so attendance is read for
-- the days around the range.
SELECT student_id, session_id
FROM attendance
WHERE day BETWEEN $lo - INTERVAL '1 day' AND $hi + INTERVAL '1 day'
