-- description: continuation, intermission and withdrawal of students flagged this year (a case raised) against the students not flagged and the whole rated cohort, from the students' recorded status
-- params: $year Utf8
-- output: students_group, students, continuing_pct, intermitted_pct, withdrawn_pct (HESA-rounded and suppressed)
WITH cohort AS (
    SELECT DISTINCT student_id FROM ratings WHERE academic_year = $year
),
flagged AS (
    SELECT DISTINCT student_id FROM cases WHERE academic_year = $year
),
people AS (
    SELECT k.student_id,
           f.student_id IS NOT NULL AS flagged,
           CASE WHEN s.status IN ('withdrawn') THEN 'withdrawn'
                WHEN s.status IN ('intermitted') THEN 'intermitted'
                ELSE 'continuing' END AS outcome
    FROM cohort k
    JOIN students s ON s.student_id = k.student_id
    LEFT JOIN flagged f ON f.student_id = k.student_id
),
groups AS (
    SELECT CASE WHEN flagged THEN 'Flagged (a case raised this year)' ELSE 'Not flagged' END AS students_group,
           CASE WHEN flagged THEN 1 ELSE 2 END AS k, outcome
    FROM people
    UNION ALL
    SELECT 'All rated students', 3, outcome FROM people
)
SELECT students_group,
       hesa_count(count(*)) AS students,
       hesa_percent(sum(CASE WHEN outcome = 'continuing' THEN 1 ELSE 0 END), count(*)) AS continuing_pct,
       hesa_percent(sum(CASE WHEN outcome = 'intermitted' THEN 1 ELSE 0 END), count(*)) AS intermitted_pct,
       hesa_percent(sum(CASE WHEN outcome = 'withdrawn' THEN 1 ELSE 0 END), count(*)) AS withdrawn_pct,
       min(k) AS k
FROM groups
GROUP BY students_group
ORDER BY k
