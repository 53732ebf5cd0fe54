-- description: whether a member of staff may open one student's page: their tutee, in their department (department lead), or anyone (progress team)
-- params: $student_id Utf8, $staff_id Utf8, $department Utf8, $everyone Boolean
-- output: one row: n (1 in scope, 0 not, whether or not the student exists)
SELECT count(*) AS n
FROM students
WHERE student_id = $student_id AND ($everyone OR personal_tutor = $staff_id OR department = $department)
