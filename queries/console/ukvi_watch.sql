-- description: each sponsored (Student-route) student's engagement so far, for the compliance officer's UKVI dashboard: the last day of engagement and what has passed since it (days, and expected sessions missed)
-- params: $as_of Date32, $excusing Utf8
-- output: student_id, name, cas_number, department, status, last_engaged, quiet_days, missed_sessions
--
-- The measures behind "at risk": the days since the last engagement of any kind (or since
-- the course start, before any), and the timetabled sessions missed since the last one
-- attended (sessions on authorised-absence days left out). The return itself
-- (`returns/ukvi`) decides when a threshold is crossed; this only shows how near it is.
WITH sponsored AS (
    SELECT student_id, trim(concat(coalesce(given_name, ''), ' ', coalesce(family_name, ''))) AS name,
           cas_number, department, status, start_date
    FROM students
    WHERE visa_route = 'student'
),
engaged AS (
    SELECT student_id, max(day) AS last_engaged
    FROM (SELECT student_id, day FROM daily_activity WHERE events > 0 AND day <= $as_of
          UNION ALL
          SELECT student_id, day FROM attendance WHERE day <= $as_of)
    GROUP BY student_id
),
excused_days AS (
    SELECT student_id,
           CAST(unnest(range(starts_on, ends_on + INTERVAL '1 day', INTERVAL '1 day')) AS DATE) AS day
    FROM absences
    WHERE array_has(string_to_array($excusing, ','), kind)
),
expected AS (
    SELECT cl.student_id, s.session_id, s.starts_at, s.day
    FROM class_lists cl
    JOIN sponsored p ON p.student_id = cl.student_id
    JOIN sessions s ON s.session_id = cl.session_id
    LEFT ANTI JOIN excused_days x ON x.student_id = cl.student_id AND x.day = s.day
    WHERE s.day <= $as_of
),
last_attended AS (
    SELECT e.student_id, max(e.starts_at) AS starts_at
    FROM expected e
    JOIN attendance a ON a.student_id = e.student_id AND a.session_id = e.session_id
    GROUP BY e.student_id
),
missed AS (
    SELECT e.student_id, count(*) AS missed_sessions
    FROM expected e
    LEFT JOIN last_attended l ON l.student_id = e.student_id
    WHERE l.starts_at IS NULL OR e.starts_at > l.starts_at
    GROUP BY e.student_id
)
SELECT p.student_id, p.name, p.cas_number, p.department, p.status, g.last_engaged,
       CAST($as_of AS INT) - CAST(coalesce(g.last_engaged, greatest(p.start_date, (SELECT min(starts_on) FROM terms))) AS INT) AS quiet_days,
       coalesce(m.missed_sessions, 0) AS missed_sessions
FROM sponsored p
LEFT JOIN engaged g ON g.student_id = p.student_id
LEFT JOIN missed m ON m.student_id = p.student_id
ORDER BY p.student_id
