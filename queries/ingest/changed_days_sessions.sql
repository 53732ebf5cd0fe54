-- description: the first and last day of the sessions a timetable file adds or changes, on
--   their held days and their new ones: the days whose swipes its reconciliation recomputes
-- output: first_day, last_day (both NULL when the file names no session)
--
-- Run before the file's rows are merged, so a moved session's old day is still held.
SELECT min(day) AS first_day, max(day) AS last_day
FROM (
    SELECT day FROM staged
    UNION ALL
    SELECT t.day FROM sessions t LEFT SEMI JOIN staged s ON s.session_id = t.session_id
)
