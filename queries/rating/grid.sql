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
    SELECT student_id, programme_code, stage, department, mode, start_date, completion_date, status, status_date,
           student_id IN (SELECT student_id FROM status_periods) AS has_periods
    FROM students
    WHERE status = 'active' OR status_date IS NOT NULL OR (status = 'completed' AND completion_date IS NOT NULL)
       OR student_id IN (SELECT student_id FROM status_periods WHERE status = 'active')
),
-- A dated status period (`status_periods`) decides the days it covers, the latest
-- starting first: active days are rated whatever the current status, others are not.
period_days AS (
    SELECT student_id, status, starts_on, coalesce(ends_on, DATE '9999-12-31') AS ends_on,
           row_number() OVER (PARTITION BY student_id ORDER BY starts_on) AS k
    FROM status_periods
),
exempt AS (
    SELECT student_id, starts_on, CAST(CAST(CAST(ends_on AS INT) + $grace AS INT) AS DATE) AS until
    FROM absences
    WHERE array_has(string_to_array($exempting, ','), kind)
),
-- Each student's days carry what decides whether they are rated (status, status_date,
-- whether the student has status periods), so the millions of student-days are filtered
-- as they stream and never joined to the students again. The days are the join's held
-- side: each batch of students read streams past one day after another, so the grid comes
-- a day's students at a time, which rating::cohorts serves in day order without copying.
grid AS (
    SELECT m.student_id, m.programme_code, m.stage, m.department, m.mode,
           d.day, d.academic_year, d.term, d.term_week,
           CAST(CAST(d.day AS INT) AS BIGINT) AS n, d.teaching_days,
           m.status, m.status_date, m.completion_date, m.has_periods
    FROM rated_days d
    CROSS JOIN monitored m
    WHERE d.day >= m.start_date
      AND (m.completion_date IS NULL OR d.day <= m.completion_date)
),
-- The status in force each day: the latest-starting period covering it, else the
-- student record's. Only students with periods take the slower path.
by_record AS (
    SELECT g.*, CAST(NULL AS VARCHAR) AS period_status
    FROM grid g
    WHERE NOT g.has_periods
),
by_period AS (
    SELECT g.*, p.status AS period_status,
           row_number() OVER (PARTITION BY g.student_id, g.day ORDER BY p.k DESC NULLS LAST) AS pick
    FROM grid g
    LEFT JOIN period_days p ON p.student_id = g.student_id AND g.day BETWEEN p.starts_on AND p.ends_on
    WHERE g.has_periods
),
in_force AS (
    SELECT * FROM by_record
    UNION ALL
    SELECT student_id, programme_code, stage, department, mode, day, academic_year, term, term_week, n,
           teaching_days, status, status_date, completion_date, has_periods, period_status
    FROM by_period
    WHERE pick = 1
),
rated AS (
    SELECT *
    FROM in_force i
    WHERE CASE WHEN i.period_status IS NOT NULL THEN i.period_status = 'active'
               ELSE i.status = 'active' OR i.day < i.status_date
                    OR (i.status = 'completed' AND i.status_date IS NULL)
          END
)
SELECT g.student_id, g.programme_code, g.stage, g.department, g.mode, g.day, g.academic_year, g.term, g.term_week,
       g.n, g.teaching_days
FROM rated g
LEFT ANTI JOIN exempt x ON x.student_id = g.student_id AND g.day BETWEEN x.starts_on AND x.until
