-- description: the raw activity events of the days rolled up, for the daily activity rollup counted in a dense array (derive::activity_days)
-- params: $lo Date32, $hi Date32 (days to recompute)
-- output: student_id Utf8, n Int64, source Utf8, events Int64
--
-- `derive/daily_activity` without its grouping: the rows it sums, `n` being the day as a
-- day number. Rollcall adds them up per student, day and source as they are read.
SELECT student_id, CAST(CAST(day AS INT) AS BIGINT) AS n, source, CAST(count AS BIGINT) AS events
FROM activity
WHERE day BETWEEN $lo AND $hi
