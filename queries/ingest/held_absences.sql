-- description: the keys of the absences the warehouse holds within the staged file's students (key: student_id, starts_on, kind)
-- params: $min_student Utf8, $max_student Utf8 (the staged rows' student range)
-- output: student_id, starts_on, kind of each held row (the key's columns, in the key's order)
--
-- Usually none: an export adds new days or new students. The ingest compares the staged rows
-- of the students these rows belong to with them (`ingest::held_lines`) and appends the
-- others, already in the table's order, as they are: a join here would hash and repartition
-- every staged row to find the few held.
SELECT student_id, starts_on, kind
FROM absences
WHERE student_id BETWEEN $min_student AND $max_student
