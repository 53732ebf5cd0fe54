-- description: cases raised this year at each step of the procedure, and where they stand: open, decided, closed
-- params: $year Utf8
-- output: step, owner, cases, open, decided, closed (HESA-rounded; the total is rounded from unrounded data)
WITH year_cases AS (
    SELECT s.step, coalesce(s.step_label, 'No step') AS label, coalesce(s.owner, '') AS owner, s.status
    FROM cases c
    JOIN case_steps s ON s.case_id = c.case_id
    WHERE c.academic_year = $year
),
ordered AS (
    SELECT name, row_number() OVER () AS k FROM steps
)
SELECT y.label AS step, y.owner,
       hesa_count(count(*)) AS cases,
       hesa_count(sum(CASE WHEN y.status = 'open' THEN 1 ELSE 0 END)) AS "open",
       hesa_count(sum(CASE WHEN y.status = 'decided' THEN 1 ELSE 0 END)) AS decided,
       hesa_count(sum(CASE WHEN y.status = 'closed' THEN 1 ELSE 0 END)) AS closed,
       min(coalesce(o.k, 999)) AS k
FROM year_cases y
LEFT JOIN ordered o ON o.name = y.step
GROUP BY y.label, y.owner
UNION ALL
SELECT 'All steps', '', hesa_count(count(*)),
       hesa_count(sum(CASE WHEN status = 'open' THEN 1 ELSE 0 END)),
       hesa_count(sum(CASE WHEN status = 'decided' THEN 1 ELSE 0 END)),
       hesa_count(sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END)),
       1000
FROM year_cases
ORDER BY k, step
