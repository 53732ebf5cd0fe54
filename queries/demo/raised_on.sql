-- description: the cases a review raised on a day, for the demo's staff to act on
-- params: $day Date32
-- output: case_id, student_id, academic_year, action
SELECT case_id, student_id, academic_year, action FROM cases WHERE raised_on = $day ORDER BY case_id
