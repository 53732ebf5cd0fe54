-- description: the sessions expected of each student on the days rolled up, for the daily attendance rollup counted in a dense array (derive::attendance_days)
-- params: $lo Date32, $hi Date32 (days to recompute)
-- output: student_id Utf8, session_id Utf8, n Int64
--
-- `derive/daily_attendance`'s `expected`: a session is expected of a student on its class
-- list whose status is active and who is not a distance learner. `n` is the session's day
-- as a day number. Rollcall marks these sessions attended and excused and counts them per
-- student and day as they are read.
SELECT cl.student_id, s.session_id, CAST(CAST(s.day AS INT) AS BIGINT) AS n
FROM sessions s
JOIN class_lists cl ON cl.session_id = s.session_id
JOIN students st ON st.student_id = cl.student_id
WHERE s.day BETWEEN $lo AND $hi
  AND st.status = 'active'
  AND st.mode <> 'distance'
