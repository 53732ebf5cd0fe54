-- description: the students a member of staff may open in the web console, with their latest rating: a tutor's own tutees, a department lead's department, everyone for the progress team
-- params: $staff_id Utf8, $department Utf8, $everyone Boolean
-- output: student_id, name, programme_code, stage, department, status, rating, rated_on
WITH latest AS (
    SELECT student_id, max(day) AS day FROM ratings GROUP BY student_id
)
SELECT s.student_id,
       trim(concat(coalesce(s.given_name, ''), ' ', coalesce(s.family_name, ''))) AS name,
       s.programme_code, s.stage, s.department, s.status,
       r.rating, r.day AS rated_on
FROM students s
LEFT JOIN latest l ON l.student_id = s.student_id
LEFT JOIN ratings r ON r.student_id = l.student_id AND r.day = l.day
WHERE $everyone OR s.personal_tutor = $staff_id OR s.department = $department
ORDER BY CASE r.rating WHEN 'Very Low' THEN 0 WHEN 'Low' THEN 1 WHEN 'Partial' THEN 2 WHEN 'Good' THEN 3 WHEN 'High' THEN 4 ELSE 5 END,
         s.student_id
