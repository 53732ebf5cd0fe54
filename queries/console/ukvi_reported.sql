-- description: UKVI events recorded as reported, newest first, for the compliance officer's dashboard
-- output: student_id, event, trigger_date, reported_on
SELECT student_id, event, trigger_date, reported_on
FROM ukvi_reports
ORDER BY reported_on DESC, student_id, event
