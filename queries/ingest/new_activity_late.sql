-- description: staged activity held neither by the warehouse nor by the files this ingest has written so far
-- params: $min_day Date32, $max_day Date32, $min_student Utf8, $max_student Utf8 (the staged
--   rows' day and student ranges)
-- output: activity rows to write, sorted for day and student pruning
--
-- For events that arrive out of time order in a long export: their key may already be in
-- a file written earlier in the same ingest (`written`), which is not committed yet.
--
-- The held rows are the join's build side (usually few or none: an export adds new days or
-- new students); the staged rows stream past them.
SELECT s.student_id, s.occurred_at, s.day, s.source, s.count, s.duration_s, s.ingested_at
FROM (
    SELECT student_id, occurred_at, source
    FROM activity
    WHERE day BETWEEN $min_day AND $max_day
      AND student_id BETWEEN $min_student AND $max_student
    UNION ALL
    SELECT student_id, occurred_at, source
    FROM written
    WHERE day BETWEEN $min_day AND $max_day
      AND student_id BETWEEN $min_student AND $max_student
) held
RIGHT ANTI JOIN staged s
  ON held.student_id = s.student_id AND held.occurred_at = s.occurred_at AND held.source = s.source
ORDER BY s.day, s.student_id, s.occurred_at
