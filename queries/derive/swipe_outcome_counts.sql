-- description: how many swipes ended in each outcome
-- output: outcome Utf8, swipes Int64
SELECT outcome, count(*) AS swipes
FROM swipe_outcomes
GROUP BY outcome
ORDER BY outcome
