-- description: one student's cases with their latest outcome, newest first
-- params: $student_id Utf8
-- output: case_id, academic_year, action, raised_on, reason, outcome, recorded_on
WITH latest AS (
    SELECT case_id, max(recorded_on) AS recorded_on FROM case_events GROUP BY case_id
)
SELECT c.case_id, c.academic_year, c.action, c.raised_on, c.reason,
       (SELECT max(e.outcome) FROM case_events e WHERE e.case_id = c.case_id AND e.recorded_on = l.recorded_on) AS outcome,
       l.recorded_on
FROM cases c
LEFT JOIN latest l ON l.case_id = c.case_id
WHERE c.student_id = $student_id
ORDER BY c.raised_on DESC, c.case_id
