-- description: cases for the progress team's list, with each one's step and owner, latest outcome and next dated item (overdue first): open ones (not closed) or all, filtered by the student's stage and department
-- params: $stage Int64 (-1: every stage), $department Utf8 (empty: every department), $open_only Boolean
-- output: case_id, student_id, name, action, raised_on, department, stage, rating, reason, step_label, owner, status, step_rule, outcome, recorded_on, next_due, next_item, next_rule, overdue, open
WITH latest AS (
    SELECT case_id, outcome, recorded_on
    FROM (SELECT case_id, outcome, recorded_on,
                 row_number() OVER (PARTITION BY case_id ORDER BY recorded_on DESC, recorded_at DESC) AS k
          FROM case_events)
    WHERE k = 1
)
SELECT c.case_id, c.student_id,
       trim(concat(coalesce(s.given_name, ''), ' ', coalesce(s.family_name, ''))) AS name,
       c.action, c.raised_on, c.department, c.stage, c.rating, c.reason,
       p.step_label, p.owner, p.status, p.step_rule,
       l.outcome, l.recorded_on,
       i.next_due, i.next_item, i.next_rule, coalesce(i.overdue, false) AS overdue,
       p.status <> 'closed' AS open
FROM cases c
JOIN case_steps p ON p.case_id = c.case_id
LEFT JOIN students s ON s.student_id = c.student_id
LEFT JOIN latest l ON l.case_id = c.case_id
LEFT JOIN case_next_items i ON i.case_id = c.case_id
WHERE ($stage < 0 OR c.stage = $stage)
  AND ($department = '' OR c.department = $department)
  AND (NOT $open_only OR p.status <> 'closed')
ORDER BY coalesce(i.overdue, false) DESC, c.priority DESC NULLS LAST, i.next_due NULLS LAST, c.raised_on, c.case_id
