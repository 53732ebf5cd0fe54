-- description: a case's latest decision with its appeal deadline, and whether an appeal was lodged after it
-- params: $case_id Utf8
-- output: one row when the case has a decision: decision, notified_on, appeal_by, appealed
WITH latest AS (
    SELECT value AS decision, "on" AS notified_on, due AS appeal_by, recorded_at
    FROM case_decisions
    WHERE case_id = $case_id AND step = 'decision'
    ORDER BY recorded_at DESC
    LIMIT 1
),
appeals AS (
    SELECT count(*) AS n
    FROM case_decisions a
    CROSS JOIN latest l
    WHERE a.case_id = $case_id AND a.step = 'appeal' AND a.recorded_at > l.recorded_at
)
SELECT l.decision, l.notified_on, l.appeal_by, p.n > 0 AS appealed
FROM latest l
CROSS JOIN appeals p
