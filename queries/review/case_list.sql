-- description: every case with its step and owner, its outcomes so far and its next dated item with the rule that set it, for `rollcall case list`: overdue first, then by date
-- output: one row per case
--
-- `case_steps` and `case_next_items` are registered by the case list for its day.
SELECT c.case_id, c.student_id, c.academic_year, c.action, c.raised_on, c.department, c.personal_tutor,
       (SELECT count(*) FROM case_events e WHERE e.case_id = c.case_id) AS outcomes,
       (SELECT max(e.recorded_on) FROM case_events e WHERE e.case_id = c.case_id) AS last_recorded_on,
       c.reason,
       s.step, s.owner, s.status, s.step_since, s.step_rule,
       i.next_due, i.next_item, i.next_rule,
       coalesce(i.overdue_items, 0) AS overdue_items
FROM cases c
LEFT JOIN case_steps s ON s.case_id = c.case_id
LEFT JOIN case_next_items i ON i.case_id = c.case_id
ORDER BY coalesce(i.overdue_items, 0) > 0 DESC, i.next_due NULLS LAST, c.case_id
