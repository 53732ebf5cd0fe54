-- description: the dated items open on each case, each with the rule that set its date: meetings to hold (and their attendance to record), the final date to ask to remain after an exceptional withdrawal is approved, the last day to appeal a decision
-- output: case_id, meeting_id (meetings only), due, item, rule, staff_action (what staff must record once `due` has passed: the item is then overdue), window (true: the student's window, listed only until it closes)
--
-- A meeting is open until its attendance (or cancellation) is recorded. The final date to
-- remain is open until a request to remain or a decision is recorded. The appeal window
-- is open until an appeal is lodged.
WITH meeting_state AS (
    SELECT meeting_id, case_id, step, held_on, time, place, rule,
           max(CASE WHEN event <> 'scheduled' THEN 1 ELSE 0 END) OVER (PARTITION BY meeting_id) AS settled,
           row_number() OVER (PARTITION BY meeting_id ORDER BY recorded_at) AS k
    FROM case_meetings
),
approved AS (
    SELECT case_id, due, rule, recorded_at,
           row_number() OVER (PARTITION BY case_id ORDER BY recorded_at DESC) AS k
    FROM case_decisions
    WHERE step = 'withdrawal-approved'
),
decided AS (
    SELECT case_id, due, rule, recorded_at,
           row_number() OVER (PARTITION BY case_id ORDER BY recorded_at DESC) AS k
    FROM case_decisions
    WHERE step = 'decision'
),
later AS (
    SELECT case_id, step, recorded_at FROM case_decisions
    WHERE step IN ('request-to-remain', 'decision', 'appeal')
)
SELECT case_id, meeting_id, held_on AS due,
       concat('meeting ', meeting_id, coalesce(concat(' (', step, ')'), ''), ' on ', CAST(held_on AS VARCHAR),
              coalesce(concat(' at ', time), ''), coalesce(concat(', ', place), '')) AS item,
       rule,
       'record whether the student attended' AS staff_action,
       false AS "window"
FROM meeting_state
WHERE k = 1 AND settled = 0
UNION ALL
SELECT a.case_id, CAST(NULL AS VARCHAR) AS meeting_id, a.due, 'final date for the student to request to remain' AS item, a.rule,
       'it has passed: record the decision' AS staff_action,
       false AS "window"
FROM approved a
WHERE a.k = 1
  AND NOT EXISTS (SELECT 1 FROM later d
                  WHERE d.case_id = a.case_id AND d.step IN ('request-to-remain', 'decision') AND d.recorded_at > a.recorded_at)
UNION ALL
SELECT d.case_id, CAST(NULL AS VARCHAR) AS meeting_id, d.due, 'last day for the student to appeal the decision' AS item, d.rule,
       CAST(NULL AS VARCHAR) AS staff_action,
       true AS "window"
FROM decided d
WHERE d.k = 1
  AND NOT EXISTS (SELECT 1 FROM later a WHERE a.case_id = d.case_id AND a.step = 'appeal' AND a.recorded_at > d.recorded_at)
