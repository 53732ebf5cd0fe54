-- description: who each equality release and extract counted, re-pseudonymised under a new key, for `rollcall keys rotate`
-- output: kind, ref_id, academic_year, pseudonym (the equality_populations table's columns)
--
-- Runs only in the key-rotation session (old_pseudonym, new_pseudonym). Rows already under
-- the new key are kept as they are, so a rotation stopped part way can run again; rows
-- whose student is no longer held (erased) are left out.
WITH ids AS (
    SELECT DISTINCT student_id, old_pseudonym(student_id) AS old_p, new_pseudonym(student_id) AS new_p
    FROM students
)
SELECT p.kind, p.ref_id, p.academic_year, coalesce(o.new_p, n.new_p) AS pseudonym
FROM equality_populations p
LEFT JOIN ids o ON o.old_p = p.pseudonym
LEFT JOIN ids n ON n.new_p = p.pseudonym
WHERE o.new_p IS NOT NULL OR n.new_p IS NOT NULL
