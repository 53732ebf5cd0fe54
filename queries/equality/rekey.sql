-- description: the equality table re-pseudonymised under a new key, for `rollcall keys rotate`
-- output: pseudonym, ethnicity, ingested_on (the equality table's columns)
--
-- Runs only in the key-rotation session, which registers old_pseudonym(student_id) and
-- new_pseudonym(student_id). Rows under the old key are re-keyed; rows already under the
-- new key are kept as they are, so a rotation stopped part way runs again to the same
-- table. Rows whose pseudonym matches no held student under either key cannot be re-keyed
-- and are left out (they are counted by equality/rekey_check).
WITH ids AS (
    SELECT DISTINCT student_id, old_pseudonym(student_id) AS old_p, new_pseudonym(student_id) AS new_p
    FROM students
)
SELECT coalesce(o.new_p, n.new_p) AS pseudonym, e.ethnicity, e.ingested_on
FROM equality e
LEFT JOIN ids o ON o.old_p = e.pseudonym
LEFT JOIN ids n ON n.new_p = e.pseudonym
WHERE o.new_p IS NOT NULL OR n.new_p IS NOT NULL
