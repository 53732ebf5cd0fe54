-- description: each student's signals summed over the trailing window of each day in rating_grid, by a trailing sum over daily totals (for long ranges)
-- params: $from Date32 (= first rated day - window + 1), $hi Date32, $window Int64 (days in a window)
-- output: view windowed(student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, teaching_days, vle, lecture_capture, library, pc_login, online_meeting, submission, records_login, expected, attended)
--
-- The daily signals, plus a zero row for each student on every calendar day from the
-- first window's start, totalled per student and day. With one row per day, a day's
-- window is its row and the $window - 1 rows before it: `trailing_sum` (a Rollcall window
-- function) sums them for a whole student in one pass, linear in the days rated, with a
-- single join to the grid. For a few days the range join (windowed_join) is faster.
WITH signals AS (
    SELECT * FROM daily_signals
    UNION ALL
    SELECT g.student_id, d.n, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM (SELECT DISTINCT student_id FROM rating_grid) g
    CROSS JOIN (
        SELECT unnest(range(CAST(CAST($from AS INT) AS BIGINT), CAST(CAST($hi AS INT) AS BIGINT) + 1)) AS n
    ) d
),
per_day AS (
    SELECT student_id, n,
           sum(vle) AS vle, sum(lecture_capture) AS lecture_capture, sum(library) AS library,
           sum(pc_login) AS pc_login, sum(online_meeting) AS online_meeting,
           sum(submission) AS submission, sum(records_login) AS records_login,
           sum(expected) AS expected, sum(attended) AS attended
    FROM signals
    GROUP BY student_id, n
),
windowed_sums AS (
    SELECT student_id, n,
           trailing_sum(vle, $window) OVER w AS vle,
           trailing_sum(lecture_capture, $window) OVER w AS lecture_capture,
           trailing_sum(library, $window) OVER w AS library,
           trailing_sum(pc_login, $window) OVER w AS pc_login,
           trailing_sum(online_meeting, $window) OVER w AS online_meeting,
           trailing_sum(submission, $window) OVER w AS submission,
           trailing_sum(records_login, $window) OVER w AS records_login,
           trailing_sum(expected, $window) OVER w AS expected,
           trailing_sum(attended, $window) OVER w AS attended
    FROM per_day
    WINDOW w AS (PARTITION BY student_id ORDER BY n)
)
SELECT g.student_id, g.programme_code, g.stage, g.department, g.mode,
       g.day, g.academic_year, g.term, g.term_week, g.teaching_days,
       e.vle, e.lecture_capture, e.library, e.pc_login, e.online_meeting, e.submission,
       e.records_login, e.expected, e.attended
FROM rating_grid g
JOIN windowed_sums e ON e.student_id = g.student_id AND e.n = g.n
