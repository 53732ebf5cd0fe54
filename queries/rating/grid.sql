-- description: the students and teaching days to rate
-- params: $lo Date32, $hi Date32 (days to rate), $window Int64 (days in a rating window),
--   $exempting Utf8 (comma-separated absence kinds that exempt), $grace Int64 (days an exemption runs on)
-- output: rating_grid(student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, n, teaching_days)
--
-- Monitored (active) students on every teaching day in [$lo, $hi] between their start
-- and completion, except the days an exempting absence covers and the $grace days after
-- it (no rating, so no list or case, on an exempt day); `n` is the day as a number, for window arithmetic, and `teaching_days`
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
-- The status in force on a day: a student whose status is not `active` was active before
-- its status_date (and a completed student up to the completion date); without a
-- status_date the status holds all along. So a status change keeps the ratings before it.
monitored AS (
    SELECT student_id, programme_code, stage, department, mode, start_date, completion_date, status, status_date
    FROM students
    WHERE status = 'active' OR status_date IS NOT NULL OR (status = 'completed' AND completion_date IS NOT NULL)
),
exempt AS (
    SELECT student_id, starts_on, CAST(CAST(CAST(ends_on AS INT) + $grace AS INT) AS DATE) AS until
    FROM absences
    WHERE array_has(string_to_array($exempting, ','), kind)
),
grid AS (
    SELECT m.student_id, m.programme_code, m.stage, m.department, m.mode,
           d.day, d.academic_year, d.term, d.term_week,
           CAST(CAST(d.day AS INT) AS BIGINT) AS n, d.teaching_days
    FROM monitored m
    CROSS JOIN rated_days d
    WHERE d.day >= m.start_date
      AND (m.completion_date IS NULL OR d.day <= m.completion_date)
      AND (m.status = 'active' OR d.day < m.status_date
           OR (m.status = 'completed' AND m.status_date IS NULL))
)
SELECT g.student_id, g.programme_code, g.stage, g.department, g.mode, g.day, g.academic_year, g.term, g.term_week,
       g.n, g.teaching_days
FROM grid g
LEFT ANTI JOIN exempt x ON x.student_id = g.student_id AND g.day BETWEEN x.starts_on AND x.until
