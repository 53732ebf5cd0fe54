-- description: sessions expected and attended per student and day
-- params: $lo Date32, $hi Date32 (days to recompute), $excusing Utf8 (comma-separated absence kinds that excuse)
-- output: daily_attendance rows for those days
--
-- A session is expected of a student on its class list whose status is active and who is
-- not a distance learner (distance learners have no attendance expectation). A session
-- covered by an excusing absence is not expected, unless the student attended it anyway.
--
-- Expected, attended and excused student-sessions are brought together by grouping (which
-- spills to disk within the engine's memory limit) rather than by joining the expected
-- sessions to the rest, whose build side would hold every expected session in memory.
-- A counted swipe falls on the session's day or the day before or after (the window can
-- cross midnight), so attendance is read for the days around the range only.
WITH expected AS (
    SELECT cl.student_id, s.session_id, s.day
    FROM sessions s
    JOIN class_lists cl ON cl.session_id = s.session_id
    JOIN students st ON st.student_id = cl.student_id
    WHERE s.day BETWEEN $lo AND $hi
      AND st.status = 'active'
      AND st.mode <> 'distance'
),
marks AS (
    SELECT student_id, session_id, day, 1 AS is_expected, 0 AS is_attended, 0 AS is_excused
    FROM expected
    UNION ALL
    SELECT student_id, session_id, CAST(NULL AS DATE) AS day, 0, 1, 0
    FROM attendance
    WHERE day BETWEEN $lo - INTERVAL '1 day' AND $hi + INTERVAL '1 day'
    UNION ALL
    SELECT e.student_id, e.session_id, CAST(NULL AS DATE) AS day, 0, 0, 1
    FROM absences a
    JOIN expected e
      ON a.student_id = e.student_id AND e.day BETWEEN a.starts_on AND a.ends_on
    WHERE array_has(string_to_array($excusing, ','), a.kind)
),
per_session AS (
    SELECT student_id, max(day) AS day,
           max(is_expected) AS is_expected, max(is_attended) AS is_attended, max(is_excused) AS is_excused
    FROM marks
    GROUP BY student_id, session_id
)
SELECT student_id, day,
       sum(CASE WHEN is_excused = 0 OR is_attended = 1 THEN 1 ELSE 0 END) AS expected,
       sum(is_attended) AS attended,
       sum(CASE WHEN is_excused = 1 AND is_attended = 0 THEN 1 ELSE 0 END) AS excused
FROM per_session
WHERE is_expected = 1
GROUP BY student_id, day
ORDER BY day, student_id
