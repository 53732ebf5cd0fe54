-- description: each student's signals summed over the trailing window of each day in rating_grid, by a range join (for a few days)
-- params: $from Date32 (= first rated day - window + 1), $hi Date32, $window Int64
-- output: view windowed(student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, vle, lecture_capture, library, pc_login, online_meeting, submission, records_login, expected, attended)
--
-- Joins each student-day to the student's daily signals within its window. Cheap when
-- few days are rated (an incremental run); windowed_running is linear for long ranges.
WITH per_day AS (
    SELECT student_id, CAST(CAST(day AS INT) AS BIGINT) AS n,
           sum(CASE WHEN source = 'vle' THEN events ELSE 0 END) AS vle,
           sum(CASE WHEN source = 'lecture-capture' THEN events ELSE 0 END) AS lecture_capture,
           sum(CASE WHEN source = 'library' THEN events ELSE 0 END) AS library,
           sum(CASE WHEN source = 'pc-login' THEN events ELSE 0 END) AS pc_login,
           sum(CASE WHEN source = 'online-meeting' THEN events ELSE 0 END) AS online_meeting,
           sum(CASE WHEN source = 'submission' THEN events ELSE 0 END) AS submission,
           sum(CASE WHEN source = 'records-login' THEN events ELSE 0 END) AS records_login,
           CAST(0 AS BIGINT) AS expected,
           CAST(0 AS BIGINT) AS attended
    FROM daily_activity
    WHERE day BETWEEN $from AND $hi
    GROUP BY student_id, day
    UNION ALL
    SELECT student_id, CAST(CAST(day AS INT) AS BIGINT), 0, 0, 0, 0, 0, 0, 0, expected, attended
    FROM daily_attendance
    WHERE day BETWEEN $from AND $hi
)
SELECT g.student_id, g.programme_code, g.stage, g.department, g.mode,
       g.day, g.academic_year, g.term, g.term_week,
       coalesce(sum(p.vle), 0) AS vle,
       coalesce(sum(p.lecture_capture), 0) AS lecture_capture,
       coalesce(sum(p.library), 0) AS library,
       coalesce(sum(p.pc_login), 0) AS pc_login,
       coalesce(sum(p.online_meeting), 0) AS online_meeting,
       coalesce(sum(p.submission), 0) AS submission,
       coalesce(sum(p.records_login), 0) AS records_login,
       coalesce(sum(p.expected), 0) AS expected,
       coalesce(sum(p.attended), 0) AS attended
FROM rating_grid g
LEFT JOIN per_day p ON p.student_id = g.student_id AND p.n BETWEEN g.n - $window + 1 AND g.n
GROUP BY g.student_id, g.programme_code, g.stage, g.department, g.mode, g.day, g.academic_year, g.term,
         g.term_week
