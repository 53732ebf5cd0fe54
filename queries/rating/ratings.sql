-- description: daily engagement ratings over a trailing window, with their components
-- params: $window Int64, $basis Utf8, $min_cohort Int64, $attendance_weight Float64, $points_per_day Float64,
--   $w_vle $w_lecture_capture $w_library $w_pc_login $w_online_meeting $w_submission $w_records_login Float64,
--   $b_low $b_partial $b_good $b_high Float64 (score bands), $c_low $c_partial $c_good $c_high Float64 (cohort bands),
--   $computed_at Timestamp
-- output: ratings rows for the student-days of the `windowed` view (rating/windowed_running or
--   rating/windowed_join over rating/grid, registered for the run)
--
-- The model (README, "Ratings"): for each monitored student and teaching day, count each
-- signal over the window (the day and the window - 1 days before it). Weighted activity
-- points over `points_per_day x teaching days in the window` give the activity score
-- (capped at 1), so a window that reaches back into a vacation asks for less. With
-- sessions expected in the window, the score is attendance_weight x attendance rate +
-- (1 - attendance_weight) x activity score, else the activity score alone. No engagement
-- of any kind gives Very Low. Otherwise the score (absolute) or the student's share of
-- their cohort scoring no higher (cohort: same programme and stage, that day) picks the band.
-- Distance learners are judged on VLE activity and submissions only.
WITH counted AS (
    SELECT w.*,
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
    FROM windowed w
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
           cume_dist() OVER (PARTITION BY day, programme_code, stage ORDER BY score) AS cohort_share,
           count(*) OVER (PARTITION BY day, programme_code, stage) AS cohort_size
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
