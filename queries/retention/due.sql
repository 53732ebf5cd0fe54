-- description: students whose studies ended on or before a cutoff, with the end date and whether a legal hold keeps them
-- params: $cutoff Date32
-- output: student_id, ended_on, held (1 or 0)
--
-- Studies end on the completion date of completed students (else their status date, else
-- their expected end date) and on the date a withdrawal took effect (status_date, else
-- completion_date). Students in any other status are never due; finished students with no
-- end date at all are listed by retention/undetermined.
WITH ended AS (
    SELECT student_id,
           max(CASE WHEN status = 'completed' THEN coalesce(completion_date, status_date, expected_end_date)
                    WHEN status = 'withdrawn' THEN coalesce(status_date, completion_date) END) AS ended_on
    FROM students
    GROUP BY student_id
),
holds AS (
    SELECT DISTINCT student_id FROM legal_holds WHERE released_on IS NULL
)
SELECT e.student_id, e.ended_on, CAST(CASE WHEN h.student_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS held
FROM ended e
LEFT JOIN holds h ON h.student_id = e.student_id
WHERE e.ended_on IS NOT NULL AND e.ended_on <= $cutoff
ORDER BY e.ended_on, e.student_id
