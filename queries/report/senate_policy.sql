-- description: how the policy operated: students identified and cases raised at each stage of the ladder
-- params: $year Utf8
-- output: action, students, cases (HESA-rounded; the total is rounded from unrounded data)
SELECT action, hesa_count(count(DISTINCT student_id)) AS students, hesa_count(count(*)) AS cases, min(rung) AS rung
FROM cases
WHERE academic_year = $year
GROUP BY action
UNION ALL
SELECT 'All actions', hesa_count(count(DISTINCT student_id)), hesa_count(count(*)), 999
FROM cases
WHERE academic_year = $year
ORDER BY rung, action
