-- description: monitored students the demo never generated to disengage, how many of them were listed, and how many students were listed during an authorised absence
-- params: the demo registers its ground truth as table `truth`
-- output: one row
--
-- `listed_on_absence` counts every student with a case raised on a day an authorised
-- absence covered, or in the two weeks after it: the days exemptions keep free of cases.
WITH on_absence AS (
    SELECT DISTINCT c.student_id
    FROM cases c
    JOIN absences a
      ON a.student_id = c.student_id AND a.kind = 'authorised'
     AND c.raised_on BETWEEN a.starts_on AND CAST(CAST(CAST(a.ends_on AS INT) + 14 AS INT) AS DATE)
)
SELECT count(DISTINCT t.student_id) AS monitored, count(DISTINCT c.student_id) AS listed,
       (SELECT count(*) FROM on_absence) AS listed_on_absence
FROM truth t
LEFT JOIN cases c ON c.student_id = t.student_id
WHERE t.disengage_week IS NULL AND NOT t.not_monitored AND NOT t.distance
