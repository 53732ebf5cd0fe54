-- description: the students and teaching days to rate
-- params: $lo Date32, $hi Date32 (days to rate)
-- output: rating_grid(student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, n)
--
-- Monitored (active) students on every teaching day in [$lo, $hi] between their start
-- and completion; `n` is the day as a number, for window arithmetic.
WITH rated_days AS (
    SELECT day, academic_year, term, term_week
    FROM teaching_days
    WHERE day BETWEEN $lo AND $hi
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
SELECT student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, n
FROM grid
