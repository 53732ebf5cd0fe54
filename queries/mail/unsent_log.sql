-- description: the events of every e-mail not yet accepted by the mail server, oldest first
-- output: message_id, event, at
SELECT l.message_id, l.event, l.at
FROM mail_log l
WHERE NOT EXISTS (SELECT 1 FROM mail_log s WHERE s.message_id = l.message_id AND s.event = 'sent')
ORDER BY l.message_id, l.at
