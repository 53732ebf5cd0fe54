-- description: the demo's subject of its subject-access export: the first current student by id
-- output: one row
SELECT min(student_id) AS student_id
FROM students
WHERE status = 'active'
