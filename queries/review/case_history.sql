-- description: every case with what moves it through the procedure's steps, oldest first: outcomes recorded, meetings missed, staff escalations and decisions
-- output: case_id, action, raised_on, on, kind (NULL for a case with no history: outcome, escalated, decision), value, rule (why staff escalated), recorded_at
--
-- A missed meeting counts as a `no-show` outcome on its case. Rows of one case come
-- together, in the order they happened (day, then when they were recorded).
WITH history AS (
    SELECT case_id, recorded_on AS "on", 'outcome' AS kind, outcome AS value, CAST(NULL AS VARCHAR) AS rule, recorded_at
    FROM case_events
    UNION ALL
    SELECT case_id, held_on AS "on", 'outcome' AS kind, 'no-show' AS value, CAST(NULL AS VARCHAR) AS rule, recorded_at
    FROM case_meetings
    WHERE event = 'no-show'
    UNION ALL
    SELECT case_id, "on", step AS kind, value, rule, recorded_at
    FROM case_decisions
    WHERE step IN ('escalated', 'decision')
)
SELECT c.case_id, c.action, c.raised_on, h."on", h.kind, h.value, h.rule, h.recorded_at
FROM cases c
LEFT JOIN history h ON h.case_id = c.case_id
ORDER BY c.case_id, h."on" NULLS FIRST, h.recorded_at
