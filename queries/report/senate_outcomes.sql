-- description: outcomes staff recorded on cases during the year
-- params: $year Utf8
-- output: outcome, cases (HESA-rounded; the total is rounded from unrounded data)
SELECT outcome, hesa_count(count(DISTINCT case_id)) AS cases
FROM case_events
WHERE academic_year = $year
GROUP BY outcome
UNION ALL
SELECT 'All outcomes', hesa_count(count(DISTINCT case_id))
FROM case_events
WHERE academic_year = $year
ORDER BY outcome = 'All outcomes', outcome
