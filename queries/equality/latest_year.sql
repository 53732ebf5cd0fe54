-- description: the latest academic year with ratings, the default year of an equality extract
-- output: one row: academic_year (NULL when nothing is rated)
SELECT max(academic_year) AS academic_year
FROM ratings
