-- description: absences a student reported in the console, with staff's decision on each (none yet: pending)
-- params: $student_id Utf8
-- output: reference, starts_on, ends_on, reported_on, decision
SELECT r.reference, r.starts_on, r.ends_on, CAST(r.ingested_at AS DATE) AS reported_on, d.kind AS decision
FROM absences r
LEFT JOIN absences d ON d.student_id = r.student_id AND d.reference = r.reference AND d.kind <> 'reported'
WHERE r.student_id = $student_id AND r.kind = 'reported'
ORDER BY r.starts_on DESC, r.reference
