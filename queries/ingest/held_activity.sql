-- description: the keys of the activity the warehouse holds within the staged file's days and students (key: student_id, occurred_at, source)
-- params: $min_day Date32, $max_day Date32, $min_student Utf8, $max_student Utf8 (the staged rows'
--   day and student ranges, so only the files that may hold them are read); $student_from_1 to
--   $student_from_8 and $student_to_1 to $student_to_8 Utf8 (the staged students as up to eight
--   ranges, one per group of ids, so a file holding two groups far apart reads neither's files
--   for the ids between)
-- output: student_id, occurred_at, source of each held row (the key's columns, in the key's order)
--
-- Usually none: an export adds new days or new students. The ingest compares the staged rows
-- of the students these rows belong to with them (`ingest::held_lines`) and appends the
-- others, already in the table's order, as they are: a join here would hash and repartition
-- every staged row to find the few held.
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
