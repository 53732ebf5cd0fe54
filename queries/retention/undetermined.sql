-- description: students whose studies ended but whose retention date cannot be computed (no end date held)
-- params: none
-- output: student_id
--
-- Completed or withdrawn students (as retention/due judges them) with no completion,
-- status or expected end date: never due, so kept until an end date is ingested. Listed
-- so that staff can supply one rather than keep the record forever unnoticed.
WITH ended AS (
    SELECT student_id,
           max(CASE WHEN status IN ('completed', 'withdrawn') THEN 1 ELSE 0 END) AS finished,
           max(CASE WHEN status = 'completed' THEN coalesce(completion_date, status_date, expected_end_date)
                    WHEN status = 'withdrawn' THEN coalesce(status_date, completion_date) END) AS ended_on
    FROM students
    GROUP BY student_id
)
SELECT student_id
FROM ended
WHERE finished = 1 AND ended_on IS NULL
ORDER BY student_id
