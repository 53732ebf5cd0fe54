-- description: sessions expected and attended per student and day
-- params: $lo Date32, $hi Date32 (days to recompute), $excusing Utf8 (comma-separated absence kinds that excuse)
-- output: daily_attendance rows for those days
--
-- A session is expected of a student on its class list whose status is active and who is
-- not a distance learner (distance learners have no attendance expectation). A session
-- covered by an excusing absence is not expected, unless the student attended it anyway.
WITH expected AS (
    SELECT cl.student_id, s.session_id, s.day
    FROM sessions s
    JOIN class_lists cl ON cl.session_id = s.session_id
    JOIN students st ON st.student_id = cl.student_id
    WHERE s.day BETWEEN $lo AND $hi
      AND st.status = 'active'
      AND st.mode <> 'distance'
),
attended AS (
    SELECT DISTINCT student_id, session_id FROM attendance
),
excused AS (
    SELECT DISTINCT e.student_id, e.session_id
    FROM expected e
    JOIN absences a
      ON a.student_id = e.student_id AND e.day BETWEEN a.starts_on AND a.ends_on
    WHERE array_has(string_to_array($excusing, ','), a.kind)
)
SELECT e.student_id, e.day,
       sum(CASE WHEN x.session_id IS NULL OR a.session_id IS NOT NULL THEN 1 ELSE 0 END) AS expected,
       sum(CASE WHEN a.session_id IS NOT NULL THEN 1 ELSE 0 END) AS attended,
       sum(CASE WHEN x.session_id IS NOT NULL AND a.session_id IS NULL THEN 1 ELSE 0 END) AS excused
FROM expected e
LEFT JOIN attended a ON a.student_id = e.student_id AND a.session_id = e.session_id
LEFT JOIN excused x ON x.student_id = e.student_id AND x.session_id = e.session_id
GROUP BY e.student_id, e.day
ORDER BY e.day, e.student_id
