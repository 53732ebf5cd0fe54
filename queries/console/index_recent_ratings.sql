-- description: the daily ratings from $since on with what they were worked out from, for the console's index of students (the first page of each student's ratings)
-- params: $since Date32
-- output: student_id, day, rating, score, window_days, expected, attended, and the events of each online signal
--
-- The ratings files are in day order, so the scan reads only the files from $since on.
SELECT student_id, day, rating, score, window_days, expected, attended,
       vle, lecture_capture, library, pc_login, online_meeting, submission, records_login
FROM ratings
WHERE day >= $since
