-- description: outcomes staff recorded on cases during the year
-- params: $year Utf8
-- output: outcome, cases (HESA-rounded; the total is rounded from unrounded data)
SELECT CASE outcome WHEN 'contacted' THEN 'Contacted' WHEN 'met' THEN 'Met' WHEN 'no-show' THEN 'Did not attend a meeting'
                    WHEN 'agreement' THEN 'Attendance agreement' WHEN 'intermitted' THEN 'Intermitted'
                    WHEN 'withdrawn' THEN 'Withdrawn' WHEN 'no-further-action' THEN 'No further action'
                    ELSE outcome END AS outcome,
       hesa_count(count(DISTINCT case_id)) AS cases
FROM case_events
WHERE academic_year = $year
GROUP BY outcome
UNION ALL
SELECT 'All outcomes', hesa_count(count(DISTINCT case_id))
FROM case_events
WHERE academic_year = $year
ORDER BY outcome = 'All outcomes', outcome
