-- description: every e-mail not yet accepted by the mail server, oldest first
-- output: message_id, case_id, student_id, template, to_address, subject, body, created_at
SELECT o.message_id, o.case_id, o.student_id, o.template, o.to_address, o.subject, o.body, o.created_at
FROM outbox o
WHERE NOT EXISTS (SELECT 1 FROM mail_log l WHERE l.message_id = o.message_id AND l.event = 'sent')
ORDER BY o.created_at, o.message_id
