-- description: how many equality rows match held students under the old key, under the new key, and under either
-- output: one row: rows, under_old, under_new, matched
WITH ids AS (
    SELECT DISTINCT student_id, old_pseudonym(student_id) AS old_p, new_pseudonym(student_id) AS new_p
    FROM students
)
SELECT count(*) AS rows,
       count(o.student_id) AS under_old,
       count(n.student_id) AS under_new,
       count(coalesce(o.student_id, n.student_id)) AS matched
FROM equality e
LEFT JOIN ids o ON e.pseudonym = o.old_p
LEFT JOIN ids n ON e.pseudonym = n.new_p
