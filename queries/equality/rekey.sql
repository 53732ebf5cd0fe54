-- description: the equality table re-pseudonymised under a new key, for `rollcall keys rotate`
-- output: pseudonym, ethnicity, ingested_on (the equality table's columns)
--
-- Runs only in the key-rotation session, which registers old_pseudonym(student_id) and
-- new_pseudonym(student_id). Rows whose pseudonym matches no held student cannot be
-- re-keyed and are left out (they are counted by equality/rekey_check).
SELECT new_pseudonym(s.student_id) AS pseudonym, e.ethnicity, e.ingested_on
FROM equality e
JOIN (SELECT DISTINCT student_id, old_pseudonym(student_id) AS pseudonym FROM students) s
  ON e.pseudonym = s.pseudonym
