-- description: impact of interventions: mean engagement score in the 14 days before a case was raised and the 14 days after, by action
-- params: $year Utf8
-- output: action, cases, score_before, score_after (averages not shown for 7 cases or fewer)
WITH per_case AS (
    SELECT c.case_id, c.action, c.rung,
           avg(CASE WHEN r.day < c.raised_on THEN r.score END) AS before,
           avg(CASE WHEN r.day > c.raised_on THEN r.score END) AS after
    FROM cases c
    JOIN ratings r
      ON r.student_id = c.student_id
     AND r.day BETWEEN c.raised_on - INTERVAL '14 days' AND c.raised_on + INTERVAL '14 days'
    WHERE c.academic_year = $year
    GROUP BY c.case_id, c.action, c.rung
)
SELECT coalesce(l.label, p.action) AS action,
       hesa_count(count(*)) AS cases,
       hesa_average(avg(p.before), count(p.before)) AS score_before,
       hesa_average(avg(p.after), count(p.after)) AS score_after,
       min(p.rung) AS rung
FROM per_case p
LEFT JOIN action_labels l ON l.action = p.action
GROUP BY coalesce(l.label, p.action)
ORDER BY rung, action
