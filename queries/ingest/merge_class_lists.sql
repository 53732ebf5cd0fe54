-- description: class lists after a file replaces the lists of every session it names
-- output: the whole class_lists table, by student then session (one student's rows sit together,
-- so a subject-access request or a student's page reads a page of the file, not all of it)
SELECT t.session_id, t.student_id, t.ingested_at
FROM class_lists t
LEFT ANTI JOIN (SELECT DISTINCT session_id FROM staged) s ON s.session_id = t.session_id
UNION ALL
SELECT session_id, student_id, ingested_at
FROM staged
ORDER BY student_id, session_id
