-- description: in-person attendance: one row per student per session, from the first counted swipe
-- output: view attendance(student_id, session_id, day, first_swipe_at)
SELECT student_id, session_id, day, swiped_at AS first_swipe_at
FROM swipe_outcomes
WHERE outcome = 'attended'
