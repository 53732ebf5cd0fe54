-- description: actions from case-outcome rungs: an outcome recorded on a case (e.g. a missed meeting) raises the rung's action
-- params: $as_of Date32, $year Utf8 (academic year of $as_of)
-- output: student_id, rung, action, episode, rating, reason
--
-- Each recorded outcome raises the action once (the episode is the case and the day the
-- outcome was recorded); `on_action` limits the rung to outcomes on cases of that action.
SELECT k.student_id, g.rung, g.action,
       concat(e.case_id, ' ', e.outcome, ' ', CAST(e.recorded_on AS VARCHAR)) AS episode,
       CAST(NULL AS VARCHAR) AS rating,
       concat(e.outcome, ' recorded on ', CAST(e.recorded_on AS VARCHAR), ' for ', k.action, ' (case ', e.case_id, ')') AS reason
FROM case_events e
JOIN cases k ON k.case_id = e.case_id
JOIN rungs g ON g.trigger = 'case-outcome' AND g.outcome = e.outcome
WHERE e.recorded_on <= $as_of
  AND k.academic_year = $year
  AND (g.on_action IS NULL OR g.on_action = k.action)
  AND (g.from_date IS NULL OR $as_of >= g.from_date)
  AND (g.to_date IS NULL OR $as_of <= g.to_date)
ORDER BY k.student_id, g.rung
