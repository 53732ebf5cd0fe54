-- description: the daily activity rollup: events per student, day and source
-- params: $lo Date32, $hi Date32 (days to recompute)
-- output: daily_activity rows for those days
SELECT student_id, day, source, sum(count) AS events
FROM activity
WHERE day BETWEEN $lo AND $hi
GROUP BY student_id, day, source
ORDER BY day, student_id, source
