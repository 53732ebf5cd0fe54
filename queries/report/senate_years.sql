-- description: this year compared with earlier years held: students rated, students ever rated Very Low or Low, actions raised
-- output: academic_year, students_rated, ever_low, ever_low_pct, students_listed
WITH rated AS (
    SELECT academic_year, student_id,
           max(CASE WHEN rating IN ('Very Low', 'Low') THEN 1 ELSE 0 END) AS ever_low
    FROM ratings
    GROUP BY academic_year, student_id
),
listed AS (
    SELECT academic_year, count(DISTINCT student_id) AS students FROM cases GROUP BY academic_year
)
SELECT r.academic_year,
       hesa_count(count(*)) AS students_rated,
       hesa_count(sum(r.ever_low)) AS ever_low,
       hesa_percent(sum(r.ever_low), count(*)) AS ever_low_pct,
       hesa_count(max(coalesce(l.students, 0))) AS students_listed
FROM rated r
LEFT JOIN listed l ON l.academic_year = r.academic_year
GROUP BY r.academic_year
ORDER BY r.academic_year
