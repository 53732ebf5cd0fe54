-- description: actions from rating rungs: students whose latest rating falls in a rung's ratings when the rung applies
-- params: $as_of Date32, $year Utf8 (academic year of $as_of)
-- output: student_id, rung, action, episode, rating, reason
--
-- The rating used is each student's on the last rated day on or before the review day,
-- if that is within the last week. A rung with every_weeks = N is raised at most once
-- per N teaching weeks of its term; with 0, once per academic year.
WITH review_day AS (
    SELECT term,
           CAST((CAST($as_of AS INT) - CAST(CAST(date_trunc('week', starts_on) AS DATE) AS INT)) / 7 + 1 AS BIGINT) AS term_week
    FROM terms
    WHERE $as_of BETWEEN starts_on AND ends_on
),
latest AS (
    SELECT *
    FROM ratings
    WHERE day = (SELECT max(day) FROM ratings WHERE day <= $as_of)
      AND day > $as_of - INTERVAL '7 days'
),
prior AS (
    SELECT DISTINCT student_id, action FROM cases WHERE academic_year = $year
)
SELECT l.student_id, g.rung,
       g.action,
       CASE WHEN g.every_weeks = 0 THEN $year
            ELSE concat($year, ' ', d.term, ' week ',
                        CAST(coalesce(g.week_from, 1) + ((d.term_week - coalesce(g.week_from, 1)) / g.every_weeks) * g.every_weeks AS VARCHAR))
       END AS episode,
       l.rating,
       concat('rated ', l.rating, ' on ', CAST(l.day AS VARCHAR), ' (', CAST(l.window_days AS VARCHAR), '-day window: ',
              CAST(l.attended AS VARCHAR), ' of ', CAST(l.expected AS VARCHAR), ' expected sessions attended, ',
              CAST(l.vle AS VARCHAR), ' VLE events, ', CAST(l.submission AS VARCHAR), ' submissions)') AS reason
FROM latest l
CROSS JOIN rungs g
LEFT JOIN review_day d ON true
LEFT JOIN prior p ON p.student_id = l.student_id AND p.action = g.requires
WHERE g.trigger = 'rating'
  AND array_has(string_to_array(g.ratings, ','), l.rating)
  AND (g.term IS NULL OR g.term = d.term)
  AND (g.week_from IS NULL OR d.term_week BETWEEN g.week_from AND g.week_to)
  AND (g.from_date IS NULL OR $as_of >= g.from_date)
  AND (g.to_date IS NULL OR $as_of <= g.to_date)
  AND (g.every_weeks = 0 OR d.term IS NOT NULL)
  AND (g.requires IS NULL OR p.student_id IS NOT NULL)
ORDER BY l.student_id, g.rung
