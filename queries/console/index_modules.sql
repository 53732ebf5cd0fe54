-- description: every student's in-person attendance by module: sessions timetabled up to $until (the latest day rated) and attended
-- params: $until Date32
-- output: student_id, module_code, timetabled, attended
--
-- Timetabled and attended sessions are counted apart and then matched by student and
-- module: an attended session is always on the student's class list (a swipe counts as
-- attendance only then, see derive/swipe_outcomes), and `attendance` has one row per
-- student and session.
WITH teaching AS (
    SELECT session_id, module_code
    FROM sessions
    WHERE coalesce(delivery, 'in-person') <> 'online' AND CAST(starts_at AS DATE) <= $until
),
timetabled AS (
    SELECT c.student_id, t.module_code, count(*) AS timetabled
    FROM class_lists c
    JOIN teaching t ON t.session_id = c.session_id
    GROUP BY c.student_id, t.module_code
),
went AS (
    SELECT a.student_id, t.module_code, count(*) AS attended
    FROM attendance a
    JOIN teaching t ON t.session_id = a.session_id
    GROUP BY a.student_id, t.module_code
)
SELECT t.student_id, t.module_code, t.timetabled, coalesce(w.attended, 0) AS attended
FROM timetabled t
LEFT JOIN went w ON w.student_id = t.student_id AND w.module_code = t.module_code
