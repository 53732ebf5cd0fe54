-- description: the timetable as the export adapters match meetings and attendance to it
-- output: session_id, module_code, starts_at, ends_at, delivery, room
--
-- A session without a room (online delivery) records attendance in the room
-- 'online:<session_id>', as the swipe reconciliation does.
SELECT session_id, module_code, starts_at, ends_at, delivery,
       COALESCE(room, concat('online:', session_id)) AS room
FROM sessions
ORDER BY starts_at, session_id
