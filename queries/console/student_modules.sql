-- description: one student's in-person attendance by module: sessions timetabled so far and attended
-- params: $student_id Utf8, $until Date32
-- output: module_code, timetabled, attended, percent
WITH timetabled AS (
    SELECT s.module_code, s.session_id
    FROM class_lists c
    JOIN sessions s ON s.session_id = c.session_id
    WHERE c.student_id = $student_id AND coalesce(s.delivery, 'in-person') <> 'online' AND CAST(s.starts_at AS DATE) <= $until
),
went AS (
    SELECT DISTINCT session_id FROM attendance WHERE student_id = $student_id
)
SELECT t.module_code,
       count(*) AS timetabled,
       count(w.session_id) AS attended,
       CAST(round(100.0 * count(w.session_id) / count(*)) AS BIGINT) AS percent
FROM timetabled t
LEFT JOIN went w ON w.session_id = t.session_id
GROUP BY t.module_code
ORDER BY t.module_code
