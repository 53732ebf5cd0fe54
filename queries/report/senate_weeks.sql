-- description: rating distribution by teaching week: each student's rating on the week's last rated day
-- params: $year Utf8
-- output: week_of, term, term_week, students, very_low_pct, low_pct, partial_pct, good_pct, high_pct
WITH last_day AS (
    SELECT t.week_monday, max(r.day) AS day
    FROM ratings r
    JOIN teaching_days t ON t.day = r.day
    WHERE r.academic_year = $year
    GROUP BY t.week_monday
),
week AS (
    SELECT l.week_monday, r.term, r.term_week, r.rating
    FROM last_day l
    JOIN ratings r ON r.day = l.day
)
SELECT week_monday AS week_of, term, term_week,
       hesa_count(count(*)) AS students,
       hesa_percent(sum(CASE WHEN rating = 'Very Low' THEN 1 ELSE 0 END), count(*)) AS very_low_pct,
       hesa_percent(sum(CASE WHEN rating = 'Low' THEN 1 ELSE 0 END), count(*)) AS low_pct,
       hesa_percent(sum(CASE WHEN rating = 'Partial' THEN 1 ELSE 0 END), count(*)) AS partial_pct,
       hesa_percent(sum(CASE WHEN rating = 'Good' THEN 1 ELSE 0 END), count(*)) AS good_pct,
       hesa_percent(sum(CASE WHEN rating = 'High' THEN 1 ELSE 0 END), count(*)) AS high_pct
FROM week
GROUP BY week_monday, term, term_week
ORDER BY week_monday
