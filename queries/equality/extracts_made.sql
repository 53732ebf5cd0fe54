-- description: the equality extracts made about an academic year
-- params: $year Utf8
-- output: extract_id, made_at
SELECT extract_id, made_at
FROM equality_extracts
WHERE academic_year = $year
ORDER BY made_at
