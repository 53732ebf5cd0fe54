-- description: the students and teaching days to rate, with each day's teaching days in its window
-- params: $lo Date32, $hi Date32 (days to rate), $window Int64
-- output: view rating_grid(student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, n, teaching_days)
--
-- Monitored (active) students on every teaching day in [$lo, $hi] between their start
-- and completion; `n` is the day as a number, for window arithmetic.
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
)
SELECT g.student_id, g.programme_code, g.stage, g.department, g.mode, g.day, g.academic_year, g.term,
       g.term_week, g.n, wt.teaching_days
FROM grid g
JOIN window_teaching wt ON wt.day = g.day
