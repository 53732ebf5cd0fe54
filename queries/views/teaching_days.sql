-- description: teaching days: weekdays within a term that are not bank holidays, with the term and its teaching week
-- output: view teaching_days(day, academic_year, term, term_week, week_monday)
--
-- Teaching weeks are counted from the Monday of the week a term starts.
WITH term_days AS (
    SELECT academic_year, term, starts_on,
           CAST(unnest(range(starts_on, ends_on + INTERVAL '1 day', INTERVAL '1 day')) AS DATE) AS day
    FROM terms
)
SELECT t.day, t.academic_year, t.term,
       CAST((CAST(t.day AS INT) - CAST(CAST(date_trunc('week', t.starts_on) AS DATE) AS INT)) / 7 + 1 AS BIGINT) AS term_week,
       CAST(date_trunc('week', t.day) AS DATE) AS week_monday
FROM term_days t
LEFT ANTI JOIN bank_holidays b ON b.date = t.day
WHERE extract(dow FROM t.day) BETWEEN 1 AND 5
