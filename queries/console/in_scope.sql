-- description: the students a member of staff may open in the web console, with their latest rating of the last weeks: a tutor's own tutees, a department lead's department, everyone for the progress team
-- params: $staff_id Utf8, $department Utf8, $everyone Boolean, $since Date32
-- output: student_id, name, programme_code, stage, department, status, rating, rated_on
--
-- Only ratings from $since on are read (the ratings files are in day order, so the scan
-- skips the rest of the year); a student not rated since then shows no rating.
WITH mine AS (
    SELECT s.student_id,
           trim(concat(coalesce(s.given_name, ''), ' ', coalesce(s.family_name, ''))) AS name,
           s.programme_code, s.stage, s.department, s.status
    FROM students s
    WHERE $everyone OR s.personal_tutor = $staff_id OR s.department = $department
),
recent AS (
    SELECT r.student_id, r.day, r.rating,
           row_number() OVER (PARTITION BY r.student_id ORDER BY r.day DESC) AS k
    FROM ratings r
    JOIN mine m ON m.student_id = r.student_id
    WHERE r.day >= $since
)
SELECT m.student_id, m.name, m.programme_code, m.stage, m.department, m.status,
       r.rating, r.day AS rated_on
FROM mine m
LEFT JOIN recent r ON r.student_id = m.student_id AND r.k = 1
ORDER BY CASE r.rating WHEN 'Very Low' THEN 0 WHEN 'Low' THEN 1 WHEN 'Partial' THEN 2 WHEN 'Good' THEN 3 WHEN 'High' THEN 4 ELSE 5 END,
         m.student_id
