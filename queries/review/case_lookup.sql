-- description: the student and academic year of one case
-- params: $case_id Utf8
-- output: student_id Utf8, academic_year Utf8
SELECT student_id, academic_year
FROM cases
WHERE case_id = $case_id
