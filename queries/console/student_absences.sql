-- description: the absences students reported in the console, with staff's decision on each (none yet: pending), each student's newest first, for the console's student pages (read once per state of the tables)
-- output: student_id, reference, starts_on, ends_on, reported_on, decision
SELECT r.student_id, r.reference, r.starts_on, r.ends_on, CAST(r.ingested_at AS DATE) AS reported_on, d.kind AS decision
FROM absences r
LEFT JOIN absences d ON d.student_id = r.student_id AND d.reference = r.reference AND d.kind <> 'reported'
WHERE r.kind = 'reported'
ORDER BY r.student_id, r.starts_on DESC, r.reference
