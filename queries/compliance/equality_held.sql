-- description: how many rows the equality table holds (erasing or exporting them needs the key)
-- params: none
-- output: n
SELECT count(*) AS n
FROM equality
