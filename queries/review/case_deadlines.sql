-- description: the dated items open on each case, each with the rule that set its date: meetings to hold (and to record), the final date to ask to remain after an exceptional withdrawal is approved, the last day to appeal a decision
-- params: $today Date32
-- output: case_id, due, item, rule, overdue (staff have something to record that is past its date)
--
-- A meeting is open until its attendance (or cancellation) is recorded; once its day has
-- passed, recording it is overdue. The final date to remain is open until a request to
-- remain or a decision is recorded; once passed, the decision is overdue. The appeal
-- window is the student's, listed until it closes or an appeal is lodged; never overdue.
WITH meeting_state AS (
    SELECT meeting_id, case_id, step, held_on, time, place, rule,
           max(CASE WHEN event <> 'scheduled' THEN 1 ELSE 0 END) OVER (PARTITION BY meeting_id) AS settled,
           row_number() OVER (PARTITION BY meeting_id ORDER BY recorded_at) AS k
    FROM case_meetings
),
meetings AS (
    SELECT case_id, held_on AS due,
           concat(step, ' meeting on ', CAST(held_on AS VARCHAR), coalesce(concat(' at ', time), ''),
                  coalesce(concat(', ', place), ''),
                  CASE WHEN held_on < $today THEN ': record whether the student attended' ELSE '' END) AS item,
           rule,
           held_on < $today AS overdue
    FROM meeting_state
    WHERE k = 1 AND settled = 0
),
approved AS (
    SELECT case_id, due, rule, recorded_at,
           row_number() OVER (PARTITION BY case_id ORDER BY recorded_at DESC) AS k
    FROM case_decisions
    WHERE step = 'withdrawal-approved'
),
remain AS (
    SELECT a.case_id, a.due,
           CASE WHEN a.due < $today THEN 'final date to request to remain has passed: record the decision'
                ELSE 'final date for the student to request to remain' END AS item,
           a.rule,
           a.due < $today AS overdue
    FROM approved a
    WHERE a.k = 1
      AND NOT EXISTS (SELECT 1 FROM case_decisions d
                      WHERE d.case_id = a.case_id AND d.step IN ('request-to-remain', 'decision')
                        AND d.recorded_at > a.recorded_at)
),
decided AS (
    SELECT case_id, due, rule, recorded_at,
           row_number() OVER (PARTITION BY case_id ORDER BY recorded_at DESC) AS k
    FROM case_decisions
    WHERE step = 'decision'
),
appeal AS (
    SELECT d.case_id, d.due, 'last day for the student to appeal the decision' AS item, d.rule, false AS overdue
    FROM decided d
    WHERE d.k = 1 AND d.due >= $today
      AND NOT EXISTS (SELECT 1 FROM case_decisions a
                      WHERE a.case_id = d.case_id AND a.step = 'appeal' AND a.recorded_at > d.recorded_at)
)
SELECT case_id, due, item, rule, overdue FROM meetings
UNION ALL
SELECT case_id, due, item, rule, overdue FROM remain
UNION ALL
SELECT case_id, due, item, rule, overdue FROM appeal
