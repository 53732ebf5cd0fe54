-- description: staged swipes the warehouse does not hold yet (key: student_id, room, swiped_at)
-- params: $min_day Date32, $max_day Date32 (the staged rows' day range, so only those files are read)
-- output: swipes rows to append, sorted for day and student pruning
SELECT s.student_id, s.room, s.swiped_at, s.day, s.reader_id, s.ingested_at
FROM staged s
LEFT ANTI JOIN (
    SELECT student_id, room, swiped_at
    FROM swipes
    WHERE day BETWEEN $min_day AND $max_day
) held
  ON held.student_id = s.student_id AND held.room = s.room AND held.swiped_at = s.swiped_at
ORDER BY s.day, s.student_id, s.swiped_at
