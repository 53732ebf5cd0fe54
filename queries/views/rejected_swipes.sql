-- description: swipes that did not count, with the reason (not on class list, outside window, no session in room)
-- output: view rejected_swipes(student_id, room, swiped_at, day, reader_id, reason)
SELECT student_id, room, swiped_at, day, reader_id, outcome AS reason
FROM swipe_outcomes
WHERE outcome NOT IN ('attended', 'repeat')
