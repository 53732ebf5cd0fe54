-- description: the published figures of one stored equality release
-- params: $release Utf8
-- output: census_date, table_name, ethnicity_group, category, count, low, high, percent_of_group
SELECT census_date, table_name, ethnicity_group, category, count, low, high, percent_of_group
FROM equality_releases
WHERE release_id = $release
