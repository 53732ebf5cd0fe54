-- description: each student's daily signals: activity events by source, and sessions expected and attended
-- params: $from Date32, $hi Date32 (the days any rated day's window reaches)
-- output: view daily_signals(student_id, n, vle, lecture_capture, library, pc_login, online_meeting, submission, records_login, expected, attended)
--
-- `n` is the day as a day number. A student-day can have two rows, one of activity and
-- one of attendance; readers sum them.
SELECT student_id, CAST(CAST(day AS INT) AS BIGINT) AS n,
       sum(CASE WHEN source = 'vle' THEN events ELSE 0 END) AS vle,
       sum(CASE WHEN source = 'lecture-capture' THEN events ELSE 0 END) AS lecture_capture,
       sum(CASE WHEN source = 'library' THEN events ELSE 0 END) AS library,
       sum(CASE WHEN source = 'pc-login' THEN events ELSE 0 END) AS pc_login,
       sum(CASE WHEN source = 'online-meeting' THEN events ELSE 0 END) AS online_meeting,
       sum(CASE WHEN source = 'submission' THEN events ELSE 0 END) AS submission,
       sum(CASE WHEN source = 'records-login' THEN events ELSE 0 END) AS records_login,
       CAST(0 AS BIGINT) AS expected,
       CAST(0 AS BIGINT) AS attended
FROM daily_activity
WHERE day BETWEEN $from AND $hi
GROUP BY student_id, day
UNION ALL
SELECT student_id, CAST(CAST(day AS INT) AS BIGINT), 0, 0, 0, 0, 0, 0, 0, expected, attended
FROM daily_attendance
WHERE day BETWEEN $from AND $hi
