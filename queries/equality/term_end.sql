-- description: the last day of a named term in an academic year, for census dates written end:TERM
-- params: $year Utf8, $term Utf8
-- output: one row: ends_on (NULL when the term is not held)
SELECT max(ends_on) AS ends_on
FROM terms
WHERE academic_year = $year AND term = $term
