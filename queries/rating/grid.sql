-- description: the students and teaching days to rate
-- params: $lo Date32, $hi Date32 (days to rate), $window Int64 (days in a rating window)
-- output: rating_grid(student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, n, teaching_days)
--
-- Monitored (active) students on every teaching day in [$lo, $hi] between their start
-- and completion; `n` is the day as a number, for window arithmetic, and `teaching_days`
-- the teaching days in the window that ends on the day (counted per day, before the
-- days meet the students).
WITH rated_days AS (
    SELECT d.day, d.academic_year, d.term, d.term_week, count(*) AS teaching_days
    FROM teaching_days d
    JOIN teaching_days t
      ON CAST(CAST(t.day AS INT) AS BIGINT) BETWEEN CAST(CAST(d.day AS INT) AS BIGINT) - $window + 1
                                                AND CAST(CAST(d.day AS INT) AS BIGINT)
    WHERE d.day BETWEEN $lo AND $hi
    GROUP BY d.day, d.academic_year, d.term, d.term_week
),
monitored AS (
    SELECT student_id, programme_code, stage, department, mode, start_date, completion_date
    FROM students
    WHERE status = 'active'
),
grid AS (
    SELECT m.student_id, m.programme_code, m.stage, m.department, m.mode,
           d.day, d.academic_year, d.term, d.term_week,
           CAST(CAST(d.day AS INT) AS BIGINT) AS n, d.teaching_days
    FROM monitored m
    CROSS JOIN rated_days d
    WHERE d.day >= m.start_date
      AND (m.completion_date IS NULL OR d.day <= m.completion_date)
)
SELECT student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, n, teaching_days
FROM grid
