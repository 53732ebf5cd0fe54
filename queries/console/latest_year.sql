-- description: the latest academic year rated, for the console's aggregate pages
-- output: one row: academic_year (null before any rating)
SELECT max(academic_year) AS academic_year FROM ratings
