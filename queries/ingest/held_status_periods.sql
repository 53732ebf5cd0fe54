-- description: lines of the staged file whose status period the warehouse already holds (key: student_id, starts_on, status)
-- params: $min_student Utf8, $max_student Utf8 (the staged rows' student range)
-- output: `_line` of each staged row already held
SELECT s._line
FROM (
    SELECT student_id, starts_on, status
    FROM status_periods
    WHERE student_id BETWEEN $min_student AND $max_student
) held
RIGHT SEMI JOIN staged s
  ON held.student_id = s.student_id AND held.starts_on = s.starts_on AND held.status = s.status
