-- description: cases for the progress team's list, with each one's latest outcome: open ones (no closing outcome yet) or all, filtered by the student's stage and department
-- params: $stage Int64 (-1: every stage), $department Utf8 (empty: every department), $open_only Boolean
-- output: case_id, student_id, name, action, raised_on, department, stage, rating, reason, outcome, recorded_on, open
WITH latest AS (
    SELECT case_id, outcome, recorded_on
    FROM (SELECT case_id, outcome, recorded_on,
                 row_number() OVER (PARTITION BY case_id ORDER BY recorded_on DESC, recorded_at DESC) AS k
          FROM case_events)
    WHERE k = 1
),
closed AS (
    SELECT DISTINCT case_id FROM case_events WHERE outcome IN ('withdrawn', 'intermitted', 'no-further-action')
)
SELECT c.case_id, c.student_id,
       trim(concat(coalesce(s.given_name, ''), ' ', coalesce(s.family_name, ''))) AS name,
       c.action, c.raised_on, c.department, c.stage, c.rating, c.reason,
       l.outcome, l.recorded_on, x.case_id IS NULL AS open
FROM cases c
LEFT JOIN students s ON s.student_id = c.student_id
LEFT JOIN latest l ON l.case_id = c.case_id
LEFT JOIN closed x ON x.case_id = c.case_id
WHERE ($stage < 0 OR c.stage = $stage)
  AND ($department = '' OR c.department = $department)
  AND (NOT $open_only OR x.case_id IS NULL)
ORDER BY c.priority DESC NULLS LAST, c.raised_on, c.case_id
