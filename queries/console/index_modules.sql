-- description: every student's in-person attendance by module: sessions timetabled up to the student's latest rated day (up to $today when never rated), and attended
-- params: $today Date32
-- output: student_id, module_code, timetabled, attended
WITH last_rated AS (
    SELECT student_id, max(day) AS until
    FROM ratings
    GROUP BY student_id
),
timetabled AS (
    SELECT c.student_id, s.module_code, s.session_id
    FROM class_lists c
    JOIN sessions s ON s.session_id = c.session_id
    LEFT JOIN last_rated r ON r.student_id = c.student_id
    WHERE coalesce(s.delivery, 'in-person') <> 'online'
      AND CAST(s.starts_at AS DATE) <= coalesce(r.until, $today)
),
went AS (
    SELECT DISTINCT student_id, session_id FROM attendance
)
SELECT t.student_id, t.module_code, count(*) AS timetabled, count(w.session_id) AS attended
FROM timetabled t
LEFT JOIN went w ON w.student_id = t.student_id AND w.session_id = t.session_id
GROUP BY t.student_id, t.module_code
