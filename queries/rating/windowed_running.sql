-- description: each student's signals summed over the trailing window of each day in rating_grid, by a trailing sum over daily totals (for long ranges)
-- params: $from Date32 (= first rated day - window + 1), $hi Date32, $window Int64 (days in a window)
-- output: view windowed(student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, teaching_days, vle, lecture_capture, library, pc_login, online_meeting, submission, records_login, expected, attended)
--
-- The daily signals and a marker row for each student-day of the grid, totalled per
-- student and day: a student's rows in day order, one per day with data or to rate.
-- `trailing_sum` (a Rollcall window function) sums each day's $window-day window for a
-- whole student in one pass, linear in the rows. Only the student and the day number go
-- through the totals and the window; the grid's columns come back at the end from its
-- students and its days, both small. For a few days the range join (windowed_join) is
-- faster.
WITH signals AS (
    SELECT student_id, n, vle, lecture_capture, library, pc_login, online_meeting, submission,
           records_login, expected, attended, 0 AS rated
    FROM daily_signals
    UNION ALL
    SELECT student_id, n, 0, 0, 0, 0, 0, 0, 0, CAST(0 AS BIGINT), CAST(0 AS BIGINT), 1
    FROM rating_grid
),
per_day AS (
    SELECT student_id, n,
           sum(vle) AS vle, sum(lecture_capture) AS lecture_capture, sum(library) AS library,
           sum(pc_login) AS pc_login, sum(online_meeting) AS online_meeting,
           sum(submission) AS submission, sum(records_login) AS records_login,
           sum(expected) AS expected, sum(attended) AS attended, max(rated) AS rated
    FROM signals
    GROUP BY student_id, n
),
windowed_sums AS (
    SELECT student_id, n, rated,
           trailing_sum(vle, n, $window) OVER w AS vle,
           trailing_sum(lecture_capture, n, $window) OVER w AS lecture_capture,
           trailing_sum(library, n, $window) OVER w AS library,
           trailing_sum(pc_login, n, $window) OVER w AS pc_login,
           trailing_sum(online_meeting, n, $window) OVER w AS online_meeting,
           trailing_sum(submission, n, $window) OVER w AS submission,
           trailing_sum(records_login, n, $window) OVER w AS records_login,
           trailing_sum(expected, n, $window) OVER w AS expected,
           trailing_sum(attended, n, $window) OVER w AS attended
    FROM per_day
    WINDOW w AS (PARTITION BY student_id ORDER BY n)
),
grid_students AS (
    SELECT DISTINCT student_id, programme_code, stage, department, mode FROM rating_grid
),
grid_days AS (
    SELECT DISTINCT n, day, academic_year, term, term_week, teaching_days FROM rating_grid
),
-- Joins are written with the small side first: it is the side held in memory.
with_students AS (
    SELECT s.student_id, s.programme_code, s.stage, s.department, s.mode, e.n,
           e.vle, e.lecture_capture, e.library, e.pc_login, e.online_meeting, e.submission,
           e.records_login, e.expected, e.attended
    FROM grid_students s
    JOIN windowed_sums e ON e.student_id = s.student_id
    WHERE e.rated = 1
)
SELECT e.student_id, e.programme_code, e.stage, e.department, e.mode,
       d.day, d.academic_year, d.term, d.term_week, d.teaching_days,
       e.vle, e.lecture_capture, e.library, e.pc_login, e.online_meeting, e.submission,
       e.records_login, e.expected, e.attended
FROM grid_days d
JOIN with_students e ON e.n = d.n
