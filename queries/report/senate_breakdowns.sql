-- description: students flagged this year (a case raised) by level, stage and priority category, against the students rated in each
-- params: $year Utf8
-- output: breakdown, value, students_rated, students_flagged, flagged_pct (HESA-rounded and suppressed)
WITH cohort AS (
    SELECT DISTINCT student_id FROM ratings WHERE academic_year = $year
),
flagged AS (
    SELECT DISTINCT student_id FROM cases WHERE academic_year = $year
),
people AS (
    SELECT s.level, s.stage,
           CASE WHEN coalesce(trim(s.priority_flags), '') = '' THEN 'Not in a priority category'
                ELSE 'In a priority category' END AS priority,
           CASE WHEN f.student_id IS NULL THEN 0 ELSE 1 END AS flagged
    FROM cohort k
    JOIN students s ON s.student_id = k.student_id
    LEFT JOIN flagged f ON f.student_id = k.student_id
),
cells AS (
    SELECT 'Level' AS breakdown, 1 AS k, concat('Level ', coalesce(CAST(level AS VARCHAR), 'not recorded')) AS value, flagged FROM people
    UNION ALL
    SELECT 'Stage', 2, concat('Stage ', coalesce(CAST(stage AS VARCHAR), 'not recorded')), flagged FROM people
    UNION ALL
    SELECT 'Priority category', 3, priority, flagged FROM people
)
SELECT breakdown, value,
       hesa_count(count(*)) AS students_rated,
       hesa_count(sum(flagged)) AS students_flagged,
       hesa_percent(sum(flagged), count(*)) AS flagged_pct,
       min(k) AS k
FROM cells
GROUP BY breakdown, value
ORDER BY k, value
