-- description: each student's signals summed over the trailing window of each day in rating_grid, by a rows window over daily totals (for long ranges)
-- params: $from Date32 (= first rated day - window + 1), $hi Date32; {window_preceding} (window days - 1) is written into the statement
-- output: view windowed(student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, vle, lecture_capture, library, pc_login, online_meeting, submission, records_login, expected, attended)
--
-- The daily signals, plus a zero row for each student on every calendar day from the
-- first window's start, totalled per student and day: with one row per day, a rows
-- window (the day and the window's earlier days) sums each day's window in one sorted
-- pass per student, linear in the days rated and spillable, with a single join to the
-- grid. For a few days the range join (windowed_join) is faster. DataFusion takes no
-- parameter as a frame bound, so the window length is written into the statement.
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
           sum(vle) OVER w AS vle, sum(lecture_capture) OVER w AS lecture_capture,
           sum(library) OVER w AS library, sum(pc_login) OVER w AS pc_login,
           sum(online_meeting) OVER w AS online_meeting, sum(submission) OVER w AS submission,
           sum(records_login) OVER w AS records_login,
           sum(expected) OVER w AS expected, sum(attended) OVER w AS attended
    FROM per_day
    WINDOW w AS (PARTITION BY student_id ORDER BY n ROWS BETWEEN {window_preceding} PRECEDING AND CURRENT ROW)
)
SELECT g.student_id, g.programme_code, g.stage, g.department, g.mode,
       g.day, g.academic_year, g.term, g.term_week,
       e.vle, e.lecture_capture, e.library, e.pc_login, e.online_meeting, e.submission,
       e.records_login, e.expected, e.attended
FROM rating_grid g
JOIN windowed_sums e ON e.student_id = g.student_id AND e.n = g.n
