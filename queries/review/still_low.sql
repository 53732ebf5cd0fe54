-- description: open cases to move to their step's next step because the student is still rated in the rung's ratings `still_low_weeks` after the case reached its step
-- params: $as_of Date32
-- output: case_id, student_id, step, next, weeks, rating, since
--
-- One case per student and action moves at a time (a weekly rung raises a case a week; one
-- referral is enough): the oldest open one at its step, and none while another of the
-- student's open cases of that action is already at the next step. The rating is the
-- student's on the last rated day on or before $as_of, if within the last week.
WITH latest AS (
    SELECT student_id, rating, day
    FROM ratings
    WHERE day = (SELECT max(day) FROM ratings WHERE day <= $as_of)
      AND day > $as_of - INTERVAL '7 days'
),
open_cases AS (
    SELECT c.case_id, c.student_id, c.action, s.step, s.step_since,
           row_number() OVER (PARTITION BY c.student_id, c.action, s.step ORDER BY c.raised_on, c.case_id) AS k
    FROM cases c
    JOIN case_steps s ON s.case_id = c.case_id
    WHERE s.status = 'open'
)
SELECT o.case_id, o.student_id, o.step, p.next, p.still_low_weeks AS weeks, l.rating, o.step_since AS since
FROM open_cases o
JOIN steps p ON p.name = o.step
JOIN rungs g ON g.action = o.action
JOIN latest l ON l.student_id = o.student_id
WHERE o.k = 1
  AND NOT EXISTS (SELECT 1 FROM open_cases x
                  WHERE x.student_id = o.student_id AND x.action = o.action AND x.step = p.next)
  AND p.still_low_weeks IS NOT NULL
  AND p.next IS NOT NULL
  AND CAST(CAST($as_of AS INT) - CAST(o.step_since AS INT) AS BIGINT) >= p.still_low_weeks * 7
  AND array_has(string_to_array(g.ratings, ','), l.rating)
ORDER BY o.case_id
