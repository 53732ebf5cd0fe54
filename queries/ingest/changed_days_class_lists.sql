-- description: the first and last day of the sessions whose class lists a file replaces:
--   the days whose swipes its reconciliation recomputes
-- output: first_day, last_day (both NULL when none of the file's sessions is on the timetable)
--
-- A list for a session not on the timetable changes no swipe's outcome: no swipe can count
-- for it until the session arrives, and that timetable file reconciles its days.
SELECT min(t.day) AS first_day, max(t.day) AS last_day
FROM sessions t
LEFT SEMI JOIN (SELECT DISTINCT session_id FROM staged) s ON s.session_id = t.session_id
