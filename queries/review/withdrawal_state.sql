-- description: a case's exceptional withdrawal so far: whether it was recommended, and the latest approval with its final date to request to remain
-- params: $case_id Utf8
-- output: one row: recommended, remain_by (NULL until approved)
WITH approved AS (
    SELECT due FROM case_decisions
    WHERE case_id = $case_id AND step = 'withdrawal-approved'
    ORDER BY recorded_at DESC
    LIMIT 1
)
SELECT (SELECT count(*) FROM case_decisions WHERE case_id = $case_id AND step = 'withdrawal-recommended') > 0 AS recommended,
       (SELECT due FROM approved) AS remain_by
