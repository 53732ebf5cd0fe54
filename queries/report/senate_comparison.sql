-- description: engagement before and after contact, beside a comparison group: students rated the same on the day a case was raised who had no case raised in the following 14 days
-- params: $year Utf8
-- output: students_group, students, score_before, score_after, change (mean score 0 to 1; averages not shown for 7 or fewer)
--
-- Contacted: each case raised this year, on its day and rating. Comparison: for each such
-- day and rating, the students with that rating that day and no case raised this year on
-- or before 14 days later ("not yet contacted"). Before: the mean score over the 14 days
-- before the day; after: over the 14 days after it. A comparison of groups, not a causal
-- estimate.
WITH contacts AS (
    SELECT student_id, raised_on AS day, rating FROM cases WHERE academic_year = $year AND rating IS NOT NULL
),
case_days AS (
    SELECT DISTINCT day, rating FROM contacts
),
first_case AS (
    SELECT student_id, min(raised_on) AS first_on FROM cases WHERE academic_year = $year GROUP BY student_id
),
comparison AS (
    SELECT r.student_id, r.day, r.rating
    FROM ratings r
    JOIN case_days d ON d.day = r.day AND d.rating = r.rating
    LEFT JOIN first_case f ON f.student_id = r.student_id
    WHERE r.academic_year = $year
      AND (f.first_on IS NULL OR f.first_on > r.day + INTERVAL '14 days')
),
episodes AS (
    SELECT 'Contacted (a case raised)' AS students_group, 1 AS k, student_id, day FROM contacts
    UNION ALL
    SELECT 'Comparison: same rating that day, no case within 14 days', 2, student_id, day FROM comparison
),
scored AS (
    SELECT e.students_group, e.k, e.student_id, e.day,
           avg(CASE WHEN r.day < e.day THEN r.score END) AS before,
           avg(CASE WHEN r.day > e.day THEN r.score END) AS after
    FROM episodes e
    JOIN ratings r
      ON r.student_id = e.student_id
     AND r.day BETWEEN e.day - INTERVAL '14 days' AND e.day + INTERVAL '14 days'
    GROUP BY e.students_group, e.k, e.student_id, e.day
)
SELECT students_group,
       hesa_count(count(DISTINCT student_id)) AS students,
       hesa_average(avg(before), count(before)) AS score_before,
       hesa_average(avg(after), count(after)) AS score_after,
       hesa_average(avg(after - before), count(after - before)) AS change,
       min(k) AS k
FROM scored
GROUP BY students_group
ORDER BY k
