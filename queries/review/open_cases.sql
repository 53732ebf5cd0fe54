-- description: the review list: cases raised on or before the day and not closed, newest state first, priority categories first
-- params: $as_of Date32
-- output: the list `rollcall review` prints
--
-- A case is closed by an outcome of agreement, intermitted, withdrawn or no-further-action.
WITH events AS (
    SELECT case_id, outcome, recorded_on,
           row_number() OVER (PARTITION BY case_id ORDER BY recorded_on DESC, recorded_at DESC) AS latest
    FROM case_events
    WHERE recorded_on <= $as_of
),
state AS (
    SELECT case_id,
           max(CASE WHEN latest = 1 THEN concat(outcome, ' on ', CAST(recorded_on AS VARCHAR)) END) AS last_outcome,
           max(CASE WHEN outcome IN ('agreement', 'intermitted', 'withdrawn', 'no-further-action') THEN 1 ELSE 0 END) AS closed
    FROM events
    GROUP BY case_id
)
SELECT c.case_id, c.student_id, c.action, c.reason, c.department, c.programme_code, c.stage,
       c.personal_tutor, c.priority_flags,
       CASE WHEN c.priority = 1 THEN 'yes' ELSE 'no' END AS priority_category,
       c.rating, c.raised_on,
       CASE WHEN c.raised_on = $as_of AND s.last_outcome IS NULL THEN 'new'
            WHEN s.last_outcome IS NULL THEN 'open: no outcome recorded yet'
            ELSE concat('in progress: ', s.last_outcome) END AS status,
       'recommendation for staff review; no status has been changed' AS advisory
FROM cases c
LEFT JOIN state s ON s.case_id = c.case_id
WHERE c.raised_on <= $as_of
  AND coalesce(s.closed, 0) = 0
ORDER BY c.priority DESC, c.raised_on DESC, c.rung, c.department, c.student_id, c.action
