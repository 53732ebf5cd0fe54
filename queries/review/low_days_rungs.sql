-- description: actions from low-engagement-days rungs: every rating in the last `days` days is in the rung's ratings
-- params: $as_of Date32, $year Utf8, $year_start Date32 (1 August of the academic year)
-- output: student_id, rung, action, episode, rating, reason
--
-- The episode is the first day of the current low spell, so one spell raises one action.
WITH recent AS (
    SELECT r.student_id, r.day, r.rating, g.rung, g.action, g.days, g.ratings,
           array_has(string_to_array(g.ratings, ','), r.rating) AS low
    FROM ratings r
    JOIN rungs g ON g.trigger = 'low-engagement-days'
    WHERE r.day BETWEEN $year_start AND $as_of
),
spells AS (
    SELECT student_id, rung, action, days, ratings,
           max(CASE WHEN NOT low THEN day END) AS last_ok,
           max(day) AS last_day
    FROM recent
    GROUP BY student_id, rung, action, days, ratings
),
current_spell AS (
    SELECT s.student_id, s.rung, s.action, s.days, s.ratings, s.last_day,
           min(r.day) AS spell_from, count(*) AS low_days,
           max(CASE WHEN r.day = s.last_day THEN r.rating END) AS rating
    FROM spells s
    JOIN recent r
      ON r.student_id = s.student_id AND r.rung = s.rung AND (s.last_ok IS NULL OR r.day > s.last_ok)
    GROUP BY s.student_id, s.rung, s.action, s.days, s.ratings, s.last_day
)
SELECT student_id, rung, action,
       concat($year, ' low from ', CAST(spell_from AS VARCHAR)) AS episode,
       rating,
       concat('rated ', replace(ratings, ',', ' or '), ' on all ', CAST(low_days AS VARCHAR),
              ' teaching days from ', CAST(spell_from AS VARCHAR), ' to ', CAST(last_day AS VARCHAR)) AS reason
FROM current_spell
WHERE last_day > $as_of - INTERVAL '7 days'
  AND CAST(CAST($as_of AS INT) - CAST(spell_from AS INT) AS BIGINT) >= days - 1
ORDER BY student_id, rung
