-- description: the sessions on the days rolled up and their days, for the daily attendance rollup counted in a dense array (derive::attendance_days)
-- params: $lo Date32, $hi Date32 (days to recompute)
-- output: session_id Utf8, n Int64
--
-- `derive/daily_attendance`'s sessions: those whose day is in the range, `n` being the day
-- as a day number. With `derive/students_expected` and `derive/class_list_rows` they give
-- the sessions expected of each student, which Rollcall brings together as it reads the
-- class lists (each row's session and student found by place) rather than joining the
-- three tables: the join's hashing and output cost about three times a plain read of the
-- class lists at year scale (BENCHMARKS.md).
SELECT session_id, CAST(CAST(day AS INT) AS BIGINT) AS n
FROM sessions
WHERE day BETWEEN $lo AND $hi
