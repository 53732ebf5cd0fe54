-- description: one row per student and census date for the equality analysis: ethnicity group, rating band and highest escalation action that day
-- params: $year Utf8
-- output: student_id, start_date, census_date, ethnicity_group, department, level, stage, mode, rating, action
--
-- Runs only in the equality job's session, which registers the equality table,
-- census_dates(census_date), ethnicity_groups(value, ethnicity_group) from the mapping
-- file, and equality_pseudonym(student_id) under the configured key.
--
-- The population on a census date: students who had started, had not completed before it,
-- and had not withdrawn or intermitted on or before it. A student's rating is the one of
-- the last teaching day of the year on or before the census date ('No rating' if none
-- then); their action the highest rung raised in the year up to the census date ('none').
-- Ethnicity values the mapping does not name, and students with none, are 'Unknown'.
WITH population AS (
    SELECT c.census_date, s.student_id, s.start_date, s.department, s.level, s.stage, s.mode
    FROM students s
    CROSS JOIN census_dates c
    WHERE s.start_date <= c.census_date
      AND (s.completion_date IS NULL OR s.completion_date >= c.census_date)
      AND NOT (s.status IN ('withdrawn', 'intermitted')
               AND coalesce(s.status_date, s.completion_date, s.start_date) <= c.census_date)
),
rated_day AS (
    SELECT c.census_date, max(t.day) AS day
    FROM census_dates c
    JOIN teaching_days t ON t.day <= c.census_date AND t.academic_year = $year
    GROUP BY c.census_date
),
rated AS (
    SELECT d.census_date, r.student_id, r.rating
    FROM rated_day d
    JOIN ratings r ON r.day = d.day
),
escalated AS (
    SELECT census_date, student_id, action
    FROM (
        SELECT c.census_date, k.student_id, k.action,
               row_number() OVER (PARTITION BY c.census_date, k.student_id ORDER BY k.rung DESC, k.raised_on DESC) AS n
        FROM census_dates c
        JOIN cases k ON k.raised_on <= c.census_date AND k.academic_year = $year
    )
    WHERE n = 1
),
latest AS (
    SELECT pseudonym, ethnicity
    FROM (
        SELECT pseudonym, ethnicity, row_number() OVER (PARTITION BY pseudonym ORDER BY ingested_on DESC) AS n
        FROM equality
    )
    WHERE n = 1
),
grouped AS (
    SELECT l.pseudonym, coalesce(g.ethnicity_group, 'Unknown') AS ethnicity_group
    FROM latest l
    LEFT JOIN ethnicity_groups g ON g.value = lower(trim(l.ethnicity))
),
pseudonymised AS (
    SELECT p.*, equality_pseudonym(p.student_id) AS pseudonym
    FROM population p
)
SELECT p.student_id, p.start_date, p.census_date, coalesce(g.ethnicity_group, 'Unknown') AS ethnicity_group,
       p.department, p.level, p.stage, p.mode,
       coalesce(r.rating, 'No rating') AS rating,
       coalesce(x.action, 'none') AS action
FROM pseudonymised p
LEFT JOIN grouped g ON g.pseudonym = p.pseudonym
LEFT JOIN rated r ON r.census_date = p.census_date AND r.student_id = p.student_id
LEFT JOIN escalated x ON x.census_date = p.census_date AND x.student_id = p.student_id
ORDER BY p.student_id, p.census_date
