-- description: the sessions a student was timetabled for (sessions hold no one else's data)
-- params: $student_id Utf8
-- output: every column of sessions
SELECT s.*
FROM sessions s
WHERE s.session_id IN (SELECT session_id FROM class_lists WHERE student_id = $student_id)
ORDER BY s.starts_at, s.session_id
