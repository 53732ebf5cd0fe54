-- description: the latest day rated, the console's default day for its dashboards
-- output: one row: day (null before any rating)
SELECT max(day) AS day FROM ratings
