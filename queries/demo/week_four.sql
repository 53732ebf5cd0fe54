-- description: students the demo generated to stop engaging in teaching week 4, and how soon after they were first listed
-- params: the demo registers its ground truth as table `truth`
-- output: one row
SELECT count(*) AS generated, count(c.first_listed) AS listed,
       min(c.first_listed - CAST(t.disengage_monday AS DATE)) AS earliest_after,
       max(c.first_listed - CAST(t.disengage_monday AS DATE)) AS latest_after
FROM truth t
LEFT JOIN (SELECT student_id, min(raised_on) AS first_listed FROM cases GROUP BY student_id) c
  ON c.student_id = t.student_id AND c.first_listed >= CAST(t.disengage_monday AS DATE)
WHERE t.disengage_week = 4
