-- description: the ratings of one day, with their components, for `rollcall ratings`
-- params: $date Date32
-- output: one row per rated student
SELECT student_id, day AS date, rating, round(score, 3) AS score, basis, department, programme_code, stage,
       window_days, expected, attended, round(attendance_rate, 3) AS attendance_rate,
       vle, lecture_capture, library, pc_login, online_meeting, submission, records_login,
       round(activity_points, 1) AS activity_points
FROM ratings
WHERE day = $date
ORDER BY student_id
