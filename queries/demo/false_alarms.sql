-- description: monitored students the demo never generated to disengage, and how many of them were listed
-- params: the demo registers its ground truth as table `truth`
-- output: one row
SELECT count(DISTINCT t.student_id) AS monitored, count(DISTINCT c.student_id) AS listed
FROM truth t
LEFT JOIN cases c ON c.student_id = t.student_id
WHERE t.disengage_week IS NULL AND NOT t.not_monitored AND NOT t.distance
