-- description: the noisy counts of one stored equality release, as drawn
-- params: $release Utf8
-- output: census_date, table_name, ethnicity_group, category, noisy_count
SELECT census_date, table_name, ethnicity_group, category, noisy_count
FROM equality_releases
WHERE release_id = $release
