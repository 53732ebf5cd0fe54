-- description: every case with its step and owner, its outcomes so far and its next dated item with the rule that set it, for `rollcall case list`: overdue first, then by date
-- params: $today Date32 (the day items are judged overdue on)
-- output: one row per case
WITH open_items AS (
    SELECT case_id, due, rule, staff_action IS NOT NULL AND due < $today AS overdue,
           CASE WHEN staff_action IS NOT NULL AND due < $today THEN concat(item, ': ', staff_action) ELSE item END AS item
    FROM case_deadlines
    WHERE NOT ("window" AND due < $today)
),
items AS (
    SELECT case_id, due, item, rule, overdue,
           row_number() OVER (PARTITION BY case_id ORDER BY overdue DESC, due) AS k,
           sum(CASE WHEN overdue THEN 1 ELSE 0 END) OVER (PARTITION BY case_id) AS overdue_items
    FROM open_items
)
SELECT c.case_id, c.student_id, c.academic_year, c.action, c.raised_on, c.department, c.personal_tutor,
       (SELECT count(*) FROM case_events e WHERE e.case_id = c.case_id) AS outcomes,
       (SELECT max(e.recorded_on) FROM case_events e WHERE e.case_id = c.case_id) AS last_recorded_on,
       c.reason,
       s.step, s.owner, s.status, s.step_since, s.step_rule,
       i.due AS next_due, i.item AS next_item, i.rule AS next_rule,
       coalesce(i.overdue_items, 0) AS overdue_items
FROM cases c
LEFT JOIN case_steps s ON s.case_id = c.case_id
LEFT JOIN items i ON i.case_id = c.case_id AND i.k = 1
ORDER BY coalesce(i.overdue_items, 0) > 0 DESC, i.due NULLS LAST, c.case_id
