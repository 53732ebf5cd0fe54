-- description: the daily attendance rollup's rows in the days any rated day's window reaches, for the window sums over dense arrays (rating::windows)
-- params: $from Date32, $hi Date32 (the days any rated day's window reaches)
-- output: student_id Utf8, n Int64, source Utf8, events Int64, expected Int64, attended Int64
--
-- The attendance rows `rating/signals` totals, untotalled: one per student and day
-- (source NULL, events 0), in `rating/activity_signal_rows`' columns. `n` is the day as a
-- day number. The sums are taken in Rust, day by day.
SELECT student_id, CAST(CAST(day AS INT) AS BIGINT) AS n, CAST(NULL AS VARCHAR) AS source, CAST(0 AS BIGINT) AS events,
       CAST(expected AS BIGINT) AS expected, CAST(attended AS BIGINT) AS attended
FROM daily_attendance
WHERE day BETWEEN $from AND $hi
