-- description: one student's daily ratings with what they were worked out from, newest first
-- params: $student_id Utf8
-- output: day, rating, score, expected, attended, attendance_rate, window_days, and the events of each online signal
SELECT day, rating, score, expected, attended, attendance_rate, window_days,
       vle, lecture_capture, library, pc_login, online_meeting, submission, records_login
FROM ratings
WHERE student_id = $student_id
ORDER BY day DESC
