-- description: every case with its outcomes so far, for `rollcall case list`
-- output: one row per case
SELECT c.case_id, c.student_id, c.academic_year, c.action, c.raised_on, c.department, c.personal_tutor,
       (SELECT count(*) FROM case_events e WHERE e.case_id = c.case_id) AS outcomes,
       (SELECT max(e.recorded_on) FROM case_events e WHERE e.case_id = c.case_id) AS last_recorded_on,
       c.reason
FROM cases c
ORDER BY c.case_id
