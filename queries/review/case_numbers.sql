-- description: the next free case number
-- output: next Int64
SELECT coalesce(max(CAST(substr(case_id, 2) AS BIGINT)), 0) + 1 AS next
FROM cases
