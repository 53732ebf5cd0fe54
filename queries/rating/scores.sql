-- description: each student-day's score over its trailing window, with its components (before cohorts are ranked)
-- params: $attendance_weight Float64, $points_per_day Float64,
--   $w_vle $w_lecture_capture $w_library $w_pc_login $w_online_meeting $w_submission $w_records_login Float64
-- output: view scored: the columns of `windowed` (the student-days of rating/grid with their window sums)
--   the ratings keep, activity_points, engagement_events, attendance_rate, activity_score, score
--
-- The model (README, "Ratings"): for each monitored student and teaching day, count each
-- signal over the window (the day and the window - 1 days before it). Weighted activity
-- points over `points_per_day x teaching days in the window` give the activity score
-- (capped at 1), so a window that reaches back into a vacation asks for less. With
-- sessions expected in the window, the score is attendance_weight x attendance rate +
-- (1 - attendance_weight) x activity score, else the activity score alone. Distance
-- learners are judged on VLE activity and submissions only. Row by row: the cohort ranks
-- (rating/cohort_ranks, or rating::cohorts) and the bands (rating/ratings) come after.
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
)
SELECT student_id, programme_code, stage, department, day, academic_year, term, term_week,
       vle, lecture_capture, library, pc_login, online_meeting, submission, records_login, expected, attended,
       activity_points, engagement_events, attendance_rate, activity_score,
       CASE WHEN attendance_rate IS NOT NULL
            THEN $attendance_weight * attendance_rate + (1.0 - $attendance_weight) * activity_score
            ELSE activity_score
       END AS score
FROM scored
