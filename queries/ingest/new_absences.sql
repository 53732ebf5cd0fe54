-- description: staged absences the warehouse does not hold yet (key: student_id, starts_on, kind)
-- output: absences rows to append
SELECT s.student_id, s.starts_on, s.ends_on, s.kind, s.reference, s.ingested_at
FROM staged s
LEFT ANTI JOIN absences held
  ON held.student_id = s.student_id AND held.starts_on = s.starts_on AND held.kind = s.kind
ORDER BY s.student_id, s.starts_on
