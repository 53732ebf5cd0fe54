-- description: the absences that excuse the sessions they cover, for the daily attendance rollup counted in a dense array (derive::attendance_days)
-- params: $excusing Utf8 (comma-separated absence kinds that excuse)
-- output: student_id Utf8, first Int64, last Int64
--
-- `derive/daily_attendance`'s excusing absences, `first` and `last` being the days they
-- start and end on as day numbers.
SELECT student_id, CAST(CAST(starts_on AS INT) AS BIGINT) AS first, CAST(CAST(ends_on AS INT) AS BIGINT) AS last
FROM absences
WHERE array_has(string_to_array($excusing, ','), kind)
