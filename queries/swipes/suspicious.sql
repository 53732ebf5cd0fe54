-- description: suspicious swipes between two days, for staff (`rollcall swipes suspicious`)
-- params: $from Date32, $to Date32
-- output: student_id, day, reason, first_at, first_room, second_at, second_room, first_session, second_session
SELECT student_id, day, reason, first_at, first_room, second_at, second_room, first_session, second_session
FROM suspicious_swipes
WHERE day BETWEEN $from AND $to
ORDER BY day, student_id, first_at, second_at
