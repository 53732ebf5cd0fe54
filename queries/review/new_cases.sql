-- description: candidate actions not raised before (same student, action and episode), with the student's details, as case rows
-- params: $as_of Date32, $year Utf8, $first_number Int64 (the next case number), $created_at Timestamp
-- output: cases rows to append
--
-- A rung scoped to a cohort (levels, stages, modes, departments, programmes; '|'-separated,
-- none meaning any) raises actions only for students in it.
WITH scoped AS (
    SELECT c.*
    FROM candidates c
    JOIN rungs g ON g.rung = c.rung
    JOIN students s ON s.student_id = c.student_id
    WHERE (g.levels IS NULL OR array_has(string_to_array(g.levels, '|'), CAST(s.level AS VARCHAR)))
      AND (g.stages IS NULL OR array_has(string_to_array(g.stages, '|'), CAST(s.stage AS VARCHAR)))
      AND (g.modes IS NULL OR array_has(string_to_array(g.modes, '|'), s.mode))
      AND (g.departments IS NULL OR array_has(string_to_array(g.departments, '|'), s.department))
      AND (g.programmes IS NULL OR array_has(string_to_array(g.programmes, '|'), s.programme_code))
),
fresh AS (
    SELECT c.*
    FROM scoped c
    LEFT ANTI JOIN cases k
      ON k.student_id = c.student_id AND k.action = c.action AND k.episode = c.episode
),
detailed AS (
    SELECT f.*, s.department, s.programme_code, s.stage, s.personal_tutor, s.priority_flags,
           CASE WHEN s.priority_flags IS NOT NULL OR s.stage <= 1 THEN 1 ELSE 0 END AS priority
    FROM fresh f
    JOIN students s ON s.student_id = f.student_id
)
SELECT concat('C', lpad(CAST($first_number + row_number() OVER (ORDER BY priority DESC, rung, student_id, action) - 1 AS VARCHAR), 6, '0')) AS case_id,
       student_id, $year AS academic_year, action, rung, episode, $as_of AS raised_on, reason, rating,
       department, programme_code, stage, personal_tutor, priority_flags, CAST(priority AS BIGINT) AS priority,
       $created_at AS created_at
FROM detailed
ORDER BY case_id
