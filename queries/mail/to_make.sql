-- description: cases raised by the rungs that send an e-mail ($actions, '|'-separated) that have no message yet, with what the message needs
-- params: $actions Utf8
-- output: case_id, student_id, action, raised_on, email, given_name, family_name, personal_tutor
SELECT c.case_id, c.student_id, c.action, c.raised_on,
       s.email, s.given_name, s.family_name, s.personal_tutor
FROM cases c
JOIN students s ON s.student_id = c.student_id
WHERE array_has(string_to_array($actions, '|'), c.action)
  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.case_id = c.case_id)
ORDER BY c.raised_on, c.case_id
