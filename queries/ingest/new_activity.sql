-- description: staged activity the warehouse does not hold yet (key: student_id, occurred_at, source)
-- params: $min_day Date32, $max_day Date32 (the staged rows' day range, so only those files are read)
-- output: activity rows to append, sorted for day and student pruning
SELECT s.student_id, s.occurred_at, s.day, s.source, s.count, s.duration_s, s.ingested_at
FROM staged s
LEFT ANTI JOIN (
    SELECT student_id, occurred_at, source
    FROM activity
    WHERE day BETWEEN $min_day AND $max_day
) held
  ON held.student_id = s.student_id AND held.occurred_at = s.occurred_at AND held.source = s.source
ORDER BY s.day, s.student_id, s.occurred_at
