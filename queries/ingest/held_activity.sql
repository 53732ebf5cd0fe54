-- description: lines of the staged file whose activity the warehouse already holds (key: student_id, occurred_at, source)
-- params: $min_day Date32, $max_day Date32, $min_student Utf8, $max_student Utf8 (the staged rows'
--   day and student ranges, so only the files that may hold them are read); $student_from_1 to
--   $student_from_8 and $student_to_1 to $student_to_8 Utf8 (the staged students as up to eight
--   ranges, one per group of ids, so a file holding two groups far apart reads neither's files
--   for the ids between)
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
      AND (student_id BETWEEN $student_from_1 AND $student_to_1
           OR student_id BETWEEN $student_from_2 AND $student_to_2
           OR student_id BETWEEN $student_from_3 AND $student_to_3
           OR student_id BETWEEN $student_from_4 AND $student_to_4
           OR student_id BETWEEN $student_from_5 AND $student_to_5
           OR student_id BETWEEN $student_from_6 AND $student_to_6
           OR student_id BETWEEN $student_from_7 AND $student_to_7
           OR student_id BETWEEN $student_from_8 AND $student_to_8)
) held
RIGHT SEMI JOIN staged s
  ON held.student_id = s.student_id AND held.occurred_at = s.occurred_at AND held.source = s.source
