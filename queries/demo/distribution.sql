-- description: the demo's rating distribution on its 1 December (or the last rated day before it)
-- params: $date Date32
-- output: one row per band, lowest first
SELECT rating, count(*) AS students
FROM ratings
WHERE day = (SELECT max(day) FROM ratings WHERE day <= $date)
GROUP BY rating
ORDER BY min(score)
