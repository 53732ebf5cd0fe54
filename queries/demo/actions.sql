-- description: the actions the demo's year of reviews raised
-- output: one row per action, in ladder order
SELECT action, count(*) AS cases, count(DISTINCT student_id) AS students, min(raised_on) AS first, max(raised_on) AS last
FROM cases
GROUP BY action
ORDER BY min(rung), action
