-- description: every student's cases with their latest outcome, each student's newest first, for the console's student pages (read once per state of the tables)
-- output: student_id, case_id, academic_year, action, raised_on, reason, outcome, recorded_on
WITH latest AS (
    SELECT case_id, max(recorded_on) AS recorded_on FROM case_events GROUP BY case_id
),
outcomes AS (
    SELECT e.case_id, max(e.outcome) AS outcome
    FROM case_events e
    JOIN latest l ON l.case_id = e.case_id AND l.recorded_on = e.recorded_on
    GROUP BY e.case_id
)
SELECT c.student_id, c.case_id, c.academic_year, c.action, c.raised_on, c.reason, o.outcome, l.recorded_on
FROM cases c
LEFT JOIN latest l ON l.case_id = c.case_id
LEFT JOIN outcomes o ON o.case_id = c.case_id
ORDER BY c.student_id, c.raised_on DESC, c.case_id
