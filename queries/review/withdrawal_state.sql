-- description: a case's exceptional withdrawal so far: whether it was recommended, the latest approval with its final date to request to remain, and whether a request came after it
-- params: $case_id Utf8
-- output: one row: recommended, remain_by (NULL until approved), requested
WITH approved AS (
    SELECT due, recorded_at FROM case_decisions
    WHERE case_id = $case_id AND step = 'withdrawal-approved'
    ORDER BY recorded_at DESC
    LIMIT 1
)
SELECT (SELECT count(*) FROM case_decisions WHERE case_id = $case_id AND step = 'withdrawal-recommended') > 0 AS recommended,
       (SELECT due FROM approved) AS remain_by,
       (SELECT count(*) FROM case_decisions d CROSS JOIN approved a
        WHERE d.case_id = $case_id AND d.step = 'request-to-remain' AND d.recorded_at > a.recorded_at) > 0 AS requested
