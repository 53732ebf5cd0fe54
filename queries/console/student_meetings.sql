-- description: one student's meetings still to have their attendance recorded, for the attendance form
-- params: $student_id Utf8
-- output: meeting_id, case_id, step, held_on, time
SELECT s.meeting_id, s.case_id, s.step, s.held_on, s.time
FROM case_meetings s
WHERE s.student_id = $student_id AND s.event = 'scheduled'
  AND s.meeting_id NOT IN (SELECT meeting_id FROM case_meetings WHERE student_id = $student_id AND event <> 'scheduled')
ORDER BY s.held_on, s.meeting_id
