-- description: every identity a student has in another system, for the export adapters
-- output: domain, identifier (both lower-case, trimmed), student_id
--
-- The identity map by domain (vle, teams, card, ...), then each student's email under the
-- domain 'email', and their own id under 'student'. Identifiers are compared without regard to case and surrounding spaces.
SELECT domain, lower(trim(identifier)) AS identifier, student_id
FROM student_id_map
UNION ALL
SELECT 'email' AS domain, lower(trim(email)) AS identifier, student_id
FROM students
WHERE email IS NOT NULL AND trim(email) <> ''
UNION ALL
SELECT 'student' AS domain, lower(trim(student_id)) AS identifier, student_id
FROM students
