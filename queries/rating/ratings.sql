-- description: daily engagement ratings over a trailing window, with their components
-- params: $window Int64, $basis Utf8, $min_cohort Int64,
--   $b_low $b_partial $b_good $b_high Float64 (score bands), $c_low $c_partial $c_good $c_high Float64 (cohort bands),
--   $computed_at Timestamp
-- output: ratings rows for the student-days of the `ranked` view (rating/scores, then rating/cohort_ranks or
--   rating::cohorts, over the window sums of rating/grid's student-days), in day and student order
--
-- The model (README, "Ratings"): the score comes from rating/scores, the cohort share and
-- size from rating/cohort_ranks. No engagement of any kind gives Very Low. Otherwise the
-- score (absolute) or the student's share of their cohort scoring no higher (cohort: same
-- programme and stage, that day, when the cohort is large enough) picks the band.
WITH banded AS (
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
