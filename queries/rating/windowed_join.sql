-- description: each student's signals summed over the trailing window of each day in rating_grid, by a range join (for a few days)
-- params: $from Date32 (= first rated day - window + 1), $hi Date32, $window Int64
-- output: view windowed(student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, teaching_days, vle, lecture_capture, library, pc_login, online_meeting, submission, records_login, expected, attended)
--
-- Joins each student-day to the student's daily signals (daily_signals) within its window. Cheap when
-- few days are rated (an incremental run); windowed_running is linear for long ranges.
SELECT g.student_id, g.programme_code, g.stage, g.department, g.mode,
       g.day, g.academic_year, g.term, g.term_week, g.teaching_days,
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
LEFT JOIN daily_signals p ON p.student_id = g.student_id AND p.n BETWEEN g.n - $window + 1 AND g.n
GROUP BY g.student_id, g.programme_code, g.stage, g.department, g.mode, g.day, g.academic_year, g.term,
         g.term_week, g.teaching_days
