-- description: lines of the staged file whose activity the warehouse already holds (key: student_id, occurred_at, source)
-- params: $min_day Date32, $max_day Date32, $min_student Utf8, $max_student Utf8 (the staged rows'
--   day and student ranges, so only the files that may hold them are read)
-- output: `_line` of each staged row already held
--
-- Usually none: an export adds new days or new students. The other staged rows, already in
-- the table's order, are appended as they are. The held rows are the join's build side; the
-- staged rows stream past them.
SELECT s._line
FROM (
    SELECT student_id, occurred_at, source
    FROM activity
    WHERE day BETWEEN $min_day AND $max_day
      AND student_id BETWEEN $min_student AND $max_student
) held
RIGHT SEMI JOIN staged s
  ON held.student_id = s.student_id AND held.occurred_at = s.occurred_at AND held.source = s.source
