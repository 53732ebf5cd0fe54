-- description: a meeting on a case, as scheduled, with whether its attendance (or cancellation) is already recorded
-- params: $meeting_id Utf8
-- output: one row when the meeting exists: case_id, student_id, step, held_on, settled
SELECT s.case_id, s.student_id, s.step, s.held_on,
       (SELECT count(*) FROM case_meetings e WHERE e.meeting_id = $meeting_id AND e.event <> 'scheduled') > 0 AS settled
FROM case_meetings s
WHERE s.meeting_id = $meeting_id AND s.event = 'scheduled'
