-- description: daily engagement ratings over a trailing window, with their components
-- params: $lo Date32, $hi Date32 (days to rate), $from Date32 (= $lo - window + 1), $window Int64,
--   $basis Utf8, $min_cohort Int64, $attendance_weight Float64, $points_per_day Float64,
--   $w_vle $w_lecture_capture $w_library $w_pc_login $w_online_meeting $w_submission $w_records_login Float64,
--   $b_low $b_partial $b_good $b_high Float64 (score bands), $c_low $c_partial $c_good $c_high Float64 (cohort bands),
--   $computed_at Timestamp
-- output: ratings rows for the teaching days in [$lo, $hi]
--
-- The model (README, "Ratings"): for each monitored student and teaching day, count each
-- signal over the window (the day and the window - 1 days before it). Weighted activity
-- points over `points_per_day x teaching days in the window` give the activity score
-- (capped at 1), so a window that reaches back into a vacation asks for less. With
-- sessions expected in the window, the score is attendance_weight x attendance rate +
-- (1 - attendance_weight) x activity score, else the activity score alone. No engagement
-- of any kind gives Very Low. Otherwise the score (absolute) or the student's share of
-- their cohort scoring no higher (cohort: same programme and stage, that day) picks the band.
WITH rated_days AS (
    SELECT day, academic_year, term, term_week
    FROM teaching_days
    WHERE day BETWEEN $lo AND $hi
),
window_teaching AS (
    SELECT d.day, count(*) AS teaching_days
    FROM rated_days d
    JOIN teaching_days t
      ON CAST(CAST(t.day AS INT) AS BIGINT) BETWEEN CAST(CAST(d.day AS INT) AS BIGINT) - $window + 1
                                                AND CAST(CAST(d.day AS INT) AS BIGINT)
    GROUP BY d.day
),
monitored AS (
    SELECT student_id, programme_code, stage, department, mode, start_date, completion_date
    FROM students
    WHERE status = 'active'
),
grid AS (
    SELECT m.student_id, m.programme_code, m.stage, m.department, m.mode,
           d.day, d.academic_year, d.term, d.term_week,
           CAST(CAST(d.day AS INT) AS BIGINT) AS n
    FROM monitored m
    CROSS JOIN rated_days d
    WHERE d.day >= m.start_date
      AND (m.completion_date IS NULL OR d.day <= m.completion_date)
),
-- Every signal, plus zero rows at each rated day and at the day before its window, so
-- that window sums are differences of running totals found by equality joins.
signals AS (
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
    UNION ALL
    SELECT student_id, n, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM grid
    UNION ALL
    SELECT student_id, n - $window, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM grid
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
running AS (
    SELECT student_id, n,
           sum(vle) OVER w AS vle, sum(lecture_capture) OVER w AS lecture_capture,
           sum(library) OVER w AS library, sum(pc_login) OVER w AS pc_login,
           sum(online_meeting) OVER w AS online_meeting, sum(submission) OVER w AS submission,
           sum(records_login) OVER w AS records_login,
           sum(expected) OVER w AS expected, sum(attended) OVER w AS attended
    FROM per_day
    WINDOW w AS (PARTITION BY student_id ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
windowed AS (
    SELECT g.student_id, g.programme_code, g.stage, g.department, g.mode,
           g.day, g.academic_year, g.term, g.term_week, wt.teaching_days,
           e.vle - s.vle AS vle,
           e.lecture_capture - s.lecture_capture AS lecture_capture,
           e.library - s.library AS library,
           e.pc_login - s.pc_login AS pc_login,
           e.online_meeting - s.online_meeting AS online_meeting,
           e.submission - s.submission AS submission,
           e.records_login - s.records_login AS records_login,
           e.expected - s.expected AS expected,
           e.attended - s.attended AS attended
    FROM grid g
    JOIN running e ON e.student_id = g.student_id AND e.n = g.n
    JOIN running s ON s.student_id = g.student_id AND s.n = g.n - $window
    JOIN window_teaching wt ON wt.day = g.day
),
-- Distance learners are judged on VLE activity and submissions only.
counted AS (
    SELECT *,
           CASE WHEN mode = 'distance'
                THEN $w_vle * vle + $w_submission * submission
                ELSE $w_vle * vle + $w_lecture_capture * lecture_capture + $w_library * library
                     + $w_pc_login * pc_login + $w_online_meeting * online_meeting
                     + $w_submission * submission + $w_records_login * records_login
           END AS activity_points,
           CASE WHEN mode = 'distance'
                THEN vle + submission
                ELSE vle + lecture_capture + library + pc_login + online_meeting + submission + records_login + attended
           END AS engagement_events,
           CASE WHEN expected > 0 THEN CAST(attended AS DOUBLE) / CAST(expected AS DOUBLE) END AS attendance_rate
    FROM windowed
),
scored AS (
    SELECT *,
           least(1.0, activity_points / ($points_per_day * CAST(teaching_days AS DOUBLE))) AS activity_score
    FROM counted
),
scored_total AS (
    SELECT *,
           CASE WHEN attendance_rate IS NOT NULL
                THEN $attendance_weight * attendance_rate + (1.0 - $attendance_weight) * activity_score
                ELSE activity_score
           END AS score
    FROM scored
),
ranked AS (
    SELECT *,
           cume_dist() OVER (PARTITION BY programme_code, stage, day ORDER BY score) AS cohort_share,
           count(*) OVER (PARTITION BY programme_code, stage, day) AS cohort_size
    FROM scored_total
),
banded AS (
    SELECT *,
           $basis = 'cohort' AND cohort_size >= $min_cohort AS by_cohort
    FROM ranked
)
SELECT student_id, day, academic_year, term, term_week, programme_code, stage, department,
       CASE WHEN engagement_events = 0 THEN 'Very Low'
            WHEN by_cohort THEN
                CASE WHEN cohort_share >= $c_high THEN 'High'
                     WHEN cohort_share >= $c_good THEN 'Good'
                     WHEN cohort_share >= $c_partial THEN 'Partial'
                     WHEN cohort_share >= $c_low THEN 'Low'
                     ELSE 'Very Low' END
            ELSE
                CASE WHEN score >= $b_high THEN 'High'
                     WHEN score >= $b_good THEN 'Good'
                     WHEN score >= $b_partial THEN 'Partial'
                     WHEN score >= $b_low THEN 'Low'
                     ELSE 'Very Low' END
       END AS rating,
       score,
       CASE WHEN by_cohort THEN 'cohort' ELSE 'absolute' END AS basis,
       cohort_share, cohort_size, $window AS window_days,
       expected, attended, attendance_rate,
       vle, lecture_capture, library, pc_login, online_meeting, submission, records_login,
       activity_points, activity_score,
       $computed_at AS computed_at
FROM banded
ORDER BY day, student_id
