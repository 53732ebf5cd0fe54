-- description: decisions recorded on this year's cases (continue, intermit, withdraw, transfer), the appeals against them, late appeals and appeals upheld
-- params: $year Utf8
-- output: decision, cases, appealed, appealed_late, upheld (HESA-rounded; the total is rounded from unrounded data)
WITH latest AS (
    SELECT d.case_id, d.value AS decision,
           row_number() OVER (PARTITION BY d.case_id ORDER BY d.recorded_at DESC) AS k
    FROM case_decisions d
    JOIN cases c ON c.case_id = d.case_id
    WHERE d.step = 'decision' AND c.academic_year = $year
),
per_case AS (
    SELECT l.case_id, l.decision,
           max(CASE WHEN a.step = 'appeal' THEN 1 ELSE 0 END) AS appealed,
           max(CASE WHEN a.step = 'appeal' AND a.value = 'lodged late' THEN 1 ELSE 0 END) AS late,
           max(CASE WHEN a.step = 'appeal-outcome' AND a.value = 'upheld' THEN 1 ELSE 0 END) AS upheld
    FROM latest l
    LEFT JOIN case_decisions a ON a.case_id = l.case_id
    WHERE l.k = 1
    GROUP BY l.case_id, l.decision
)
SELECT decision, hesa_count(count(*)) AS cases, hesa_count(sum(appealed)) AS appealed,
       hesa_count(sum(late)) AS appealed_late, hesa_count(sum(upheld)) AS upheld
FROM per_case
GROUP BY decision
UNION ALL
SELECT 'All decisions', hesa_count(count(*)), hesa_count(sum(appealed)), hesa_count(sum(late)), hesa_count(sum(upheld))
FROM per_case
ORDER BY decision = 'All decisions', decision
