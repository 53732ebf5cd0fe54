-- description: how the policy operated: students identified and cases raised at each stage of the ladder
-- params: $year Utf8
-- output: action (its label in the ladder), students, cases (HESA-rounded; the total is rounded from unrounded data)
SELECT coalesce(l.label, c.action) AS action, hesa_count(count(DISTINCT c.student_id)) AS students,
       hesa_count(count(*)) AS cases, min(c.rung) AS rung
FROM cases c
LEFT JOIN action_labels l ON l.action = c.action
WHERE c.academic_year = $year
GROUP BY coalesce(l.label, c.action)
UNION ALL
SELECT 'All actions', hesa_count(count(DISTINCT student_id)), hesa_count(count(*)), 999
FROM cases
WHERE academic_year = $year
ORDER BY rung, action
