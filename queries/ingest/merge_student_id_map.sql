-- description: the student_id_map table after an upsert on (domain, identifier)
-- output: the whole student_id_map table
--
-- Domains are compared without regard to case and surrounding spaces, and stored lower-case.
SELECT m.student_id, m.domain, m.identifier, m.ingested_at
FROM student_id_map m
LEFT ANTI JOIN staged s ON lower(trim(s.domain)) = m.domain AND s.identifier = m.identifier
UNION ALL
SELECT student_id, lower(trim(domain)) AS domain, identifier, ingested_at
FROM staged
ORDER BY domain, identifier
