-- description: one student's cases with their step, owner and status, latest outcome, and the meetings and dated items open on them, newest first
-- params: $student_id Utf8, $today Date32
-- output: case_id, academic_year, action, raised_on, reason, outcome, recorded_on, step_label, owner, status, step_rule, next_due, next_item, next_rule, overdue
WITH latest AS (
    SELECT case_id, max(recorded_on) AS recorded_on FROM case_events GROUP BY case_id
),
open_items AS (
    SELECT case_id, due, rule, staff_action IS NOT NULL AND due < $today AS overdue,
           CASE WHEN staff_action IS NOT NULL AND due < $today THEN concat(item, ': ', staff_action) ELSE item END AS item
    FROM case_deadlines
    WHERE NOT ("window" AND due < $today)
),
items AS (
    SELECT case_id, due, item, rule, overdue,
           row_number() OVER (PARTITION BY case_id ORDER BY overdue DESC, due) AS k
    FROM open_items
)
SELECT c.case_id, c.academic_year, c.action, c.raised_on, c.reason,
       (SELECT max(e.outcome) FROM case_events e WHERE e.case_id = c.case_id AND e.recorded_on = l.recorded_on) AS outcome,
       l.recorded_on,
       p.step_label, p.owner, p.status, p.step_rule,
       i.due AS next_due, i.item AS next_item, i.rule AS next_rule, coalesce(i.overdue, false) AS overdue
FROM cases c
LEFT JOIN latest l ON l.case_id = c.case_id
LEFT JOIN case_steps p ON p.case_id = c.case_id
LEFT JOIN items i ON i.case_id = c.case_id AND i.k = 1
WHERE c.student_id = $student_id
ORDER BY c.raised_on DESC, c.case_id
