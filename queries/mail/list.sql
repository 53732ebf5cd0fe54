-- description: the e-mails made for students, newest first: what, for which case, and the latest event (no address or text)
-- output: message_id, case_id, student_id, template, created_at, sent_at, attempts
SELECT o.message_id, o.case_id, o.student_id, o.template, o.created_at,
       max(CASE WHEN l.event = 'sent' THEN l.at END) AS sent_at,
       count(CASE WHEN l.event = 'attempt' THEN 1 END) AS attempts
FROM outbox o
LEFT JOIN mail_log l ON l.message_id = o.message_id
GROUP BY o.message_id, o.case_id, o.student_id, o.template, o.created_at
ORDER BY o.created_at DESC, o.message_id
