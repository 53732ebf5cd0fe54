-- description: the daily activity rollup's rows in the days any rated day's window reaches, for the window sums over dense arrays (rating::windows)
-- params: $from Date32, $hi Date32 (the days any rated day's window reaches)
-- output: student_id Utf8, n Int64, source Utf8, events Int64, expected Int64, attended Int64
--
-- The activity rows `rating/signals` totals, untotalled: one per student, day and source
-- (expected and attended 0). `n` is the day as a day number. The sums are taken in Rust,
-- day by day. A full run that has just counted the rollup in memory reads it from there
-- instead; `rating/attendance_signal_rows` gives the sessions.
SELECT student_id, CAST(CAST(day AS INT) AS BIGINT) AS n, source, CAST(events AS BIGINT) AS events,
       CAST(0 AS BIGINT) AS expected, CAST(0 AS BIGINT) AS attended
FROM daily_activity
WHERE day BETWEEN $from AND $hi
