-- description: rating distribution by department over the year (share of rated student-days); departments of fewer than 23 students are merged into Other
-- params: $year Utf8
-- output: department, students, very_low_pct, low_pct, partial_pct, good_pct, high_pct
--
-- Each share is of the department's rated student-days; it is shown only where the
-- department has at least 22.5 students (HESA), which merging small ones into Other ensures.
WITH sizes AS (
    SELECT department, count(DISTINCT student_id) AS students
    FROM ratings
    WHERE academic_year = $year
    GROUP BY department
),
merged AS (
    SELECT CASE WHEN s.students < 22.5 THEN 'Other' ELSE r.department END AS department, r.student_id, r.rating
    FROM ratings r
    JOIN sizes s ON s.department = r.department
    WHERE r.academic_year = $year
)
SELECT department,
       hesa_count(count(DISTINCT student_id)) AS students,
       hesa_percent(CAST(count(DISTINCT student_id) AS DOUBLE) * sum(CASE WHEN rating = 'Very Low' THEN 1 ELSE 0 END) / count(*), count(DISTINCT student_id)) AS very_low_pct,
       hesa_percent(CAST(count(DISTINCT student_id) AS DOUBLE) * sum(CASE WHEN rating = 'Low' THEN 1 ELSE 0 END) / count(*), count(DISTINCT student_id)) AS low_pct,
       hesa_percent(CAST(count(DISTINCT student_id) AS DOUBLE) * sum(CASE WHEN rating = 'Partial' THEN 1 ELSE 0 END) / count(*), count(DISTINCT student_id)) AS partial_pct,
       hesa_percent(CAST(count(DISTINCT student_id) AS DOUBLE) * sum(CASE WHEN rating = 'Good' THEN 1 ELSE 0 END) / count(*), count(DISTINCT student_id)) AS good_pct,
       hesa_percent(CAST(count(DISTINCT student_id) AS DOUBLE) * sum(CASE WHEN rating = 'High' THEN 1 ELSE 0 END) / count(*), count(DISTINCT student_id)) AS high_pct
FROM merged
GROUP BY department
ORDER BY department = 'Other', department
