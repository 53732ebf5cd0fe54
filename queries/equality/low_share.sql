-- description: each student's rated days in an academic year up to a day, and how many of them were rated Low or below
-- params: $year Utf8, $until Date32
-- output: student_id, rated_days, low_days
--
-- The engagement quasi-identifier of an equality extract: analysts can read the ratings,
-- so the extract carries only this share, in bands, never a census date's rating.
SELECT student_id,
       count(*) AS rated_days,
       sum(CASE WHEN rating IN ('Very Low', 'Low') THEN 1 ELSE 0 END) AS low_days
FROM ratings
WHERE academic_year = $year AND day <= $until
GROUP BY student_id
ORDER BY student_id
