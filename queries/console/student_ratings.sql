-- description: one student's daily ratings from $from to $to with what they were worked out from, newest first
-- params: $student_id Utf8, $from Date32, $to Date32
-- output: day, rating, score, expected, attended, attendance_rate, window_days, and the events of each online signal
--
-- The ratings files are in day order, so the scan reads only the files of those days.
SELECT day, rating, score, expected, attended, attendance_rate, window_days,
       vle, lecture_capture, library, pc_login, online_meeting, submission, records_login
FROM ratings
WHERE student_id = $student_id AND day BETWEEN $from AND $to
ORDER BY day DESC
