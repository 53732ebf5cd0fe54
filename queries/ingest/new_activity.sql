-- description: staged activity the warehouse does not hold yet (key: student_id, occurred_at, source)
-- params: $min_day Date32, $max_day Date32, $min_student Utf8, $max_student Utf8 (the staged rows'
--   day and student ranges, so only the files that may hold them are read); $student_from_1 to
--   $student_from_8 and $student_to_1 to $student_to_8 Utf8 (the staged students as up to eight
--   ranges, one per group of ids, so a file holding two groups far apart reads neither's files
--   for the ids between)
-- output: activity rows to append, sorted for day and student pruning
--
-- The held rows are the join's build side (usually few or none: an export adds new days or
-- new students); the staged rows stream past them.
SELECT s.student_id, s.occurred_at, s.day, s.source, s.count, s.duration_s, s.ingested_at
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
RIGHT ANTI JOIN staged s
  ON held.student_id = s.student_id AND held.occurred_at = s.occurred_at AND held.source = s.source
ORDER BY s.day, s.student_id, s.occurred_at
