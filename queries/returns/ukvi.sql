-- description: the Home Office (UKVI) return: sponsored students with a reportable event, its trigger date and report-by date
-- params: $as_of Date32, $no_show_days Int64, $rule Utf8, $threshold Int64, $within Int64, $excusing Utf8
-- output: student_id, cas_number, event, trigger_date, report_by, rule, overdue
--
-- Minimum data only: no ratings, no ethnicity, no activity detail. Events:
-- - did not enrol or never engaged: an active student whose course started within the
--   terms held (or up to 60 days before the first) with no engagement of any kind by
--   $no_show_days after the start (suspended and withdrawn students have their own events);
-- - withdrawn, intermitted (suspended): from the student record, dated by status_date;
-- - completed early: completed before the expected end;
-- - stopped engaging: $threshold consecutive expected sessions missed since the last one
--   attended (missed-contact-points), or $threshold days without engagement of any kind
--   since the last engagement (days-without-engagement); authorised absence does not count.
-- The trigger date is the day the rule was met; report_by adds $within working days
-- (weekends and bank holidays skipped). Events recorded as reported are not listed again.
WITH sponsored AS (
    SELECT student_id, start_date, expected_end_date, completion_date, status, status_date, ingested_at
    FROM students
    WHERE visa_route = 'student'
),
engaged_days AS (
    SELECT student_id, day FROM daily_activity WHERE events > 0
    UNION
    SELECT student_id, day FROM attendance
),
excused_days AS (
    SELECT student_id,
           CAST(unnest(range(starts_on, ends_on + INTERVAL '1 day', INTERVAL '1 day')) AS DATE) AS day
    FROM absences
    WHERE array_has(string_to_array($excusing, ','), kind)
),
no_show AS (
    SELECT s.student_id,
           'did not enrol or never engaged' AS event,
           CAST(CAST(CAST(s.start_date AS INT) + $no_show_days AS INT) AS DATE) AS trigger_date,
           concat('no engagement of any kind in the ', CAST($no_show_days AS VARCHAR), ' days after the course start on ',
                  CAST(s.start_date AS VARCHAR)) AS rule
    FROM sponsored s
    LEFT JOIN (SELECT student_id, min(day) AS first_day FROM engaged_days GROUP BY student_id) f
      ON f.student_id = s.student_id
    WHERE s.status = 'active'
      -- Only for courses that started within the terms held: an earlier start has no data to judge by.
      AND s.start_date >= (SELECT min(starts_on) FROM terms) - INTERVAL '60 days'
      AND (f.first_day IS NULL OR CAST(CAST(f.first_day AS INT) AS BIGINT) > CAST(CAST(s.start_date AS INT) AS BIGINT) + $no_show_days)
),
status_events AS (
    SELECT student_id,
           CASE status WHEN 'withdrawn' THEN 'withdrawn' ELSE 'intermitted (suspended)' END AS event,
           coalesce(status_date, CASE WHEN status = 'withdrawn' THEN completion_date END, CAST(ingested_at AS DATE)) AS trigger_date,
           concat('student record status ', status) AS rule
    FROM sponsored
    WHERE status IN ('withdrawn', 'intermitted')
),
completed_early AS (
    SELECT student_id, 'completed early' AS event, completion_date AS trigger_date,
           concat('completed before the expected end on ', CAST(expected_end_date AS VARCHAR)) AS rule
    FROM sponsored
    WHERE status = 'completed' AND completion_date < expected_end_date
),
expected_sessions AS (
    SELECT cl.student_id, s.starts_at, s.day, a.student_id IS NOT NULL AS attended
    FROM sessions s
    JOIN class_lists cl ON cl.session_id = s.session_id
    JOIN sponsored st ON st.student_id = cl.student_id AND st.status = 'active'
    LEFT JOIN attendance a ON a.student_id = cl.student_id AND a.session_id = s.session_id
    LEFT JOIN excused_days x ON x.student_id = cl.student_id AND x.day = s.day
    WHERE s.day <= $as_of
      AND (x.student_id IS NULL OR a.student_id IS NOT NULL)
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY student_id ORDER BY starts_at) AS n
    FROM expected_sessions
),
missed_sessions AS (
    SELECT nb.student_id, 'stopped engaging' AS event, nb.day AS trigger_date,
           concat(CAST($threshold AS VARCHAR), ' consecutive expected sessions missed since the last one attended') AS rule
    FROM numbered nb
    JOIN (SELECT student_id, max(CASE WHEN attended THEN n ELSE 0 END) AS last_n FROM numbered GROUP BY student_id) l
      ON l.student_id = nb.student_id
    WHERE $rule = 'missed-contact-points' AND nb.n = l.last_n + $threshold
),
quiet_days AS (
    SELECT s.student_id,
           CAST(unnest(range(coalesce(l.last_day, s.start_date) + INTERVAL '1 day', CAST($as_of AS DATE) + INTERVAL '1 day', INTERVAL '1 day')) AS DATE) AS day
    FROM sponsored s
    LEFT JOIN (SELECT student_id, max(day) AS last_day FROM engaged_days WHERE day <= $as_of GROUP BY student_id) l
      ON l.student_id = s.student_id
    WHERE $rule = 'days-without-engagement' AND s.status = 'active'
),
counted_quiet AS (
    SELECT q.student_id, q.day, row_number() OVER (PARTITION BY q.student_id ORDER BY q.day) AS n
    FROM quiet_days q
    LEFT ANTI JOIN excused_days x ON x.student_id = q.student_id AND x.day = q.day
),
quiet AS (
    SELECT student_id, 'stopped engaging' AS event, day AS trigger_date,
           concat(CAST($threshold AS VARCHAR), ' days without engagement of any kind since the last engagement') AS rule
    FROM counted_quiet
    WHERE n = $threshold
),
-- A student who never engaged is reported as such, not also as having stopped.
stopped AS (
    SELECT * FROM missed_sessions
    UNION ALL SELECT * FROM quiet
),
events AS (
    SELECT * FROM no_show
    UNION ALL SELECT * FROM status_events
    UNION ALL SELECT * FROM completed_early
    UNION ALL SELECT t.* FROM stopped t LEFT ANTI JOIN no_show n ON n.student_id = t.student_id
),
due AS (
    SELECT e.*, add_working_days(e.trigger_date, $within) AS report_by
    FROM events e
    LEFT ANTI JOIN ukvi_reports r
      ON r.student_id = e.student_id AND r.event = e.event AND r.trigger_date = e.trigger_date
    WHERE e.trigger_date <= $as_of
)
SELECT d.student_id, s.cas_number, d.event, d.trigger_date, d.report_by, d.rule,
       CASE WHEN d.report_by < $as_of THEN 'yes' ELSE 'no' END AS overdue
FROM due d
JOIN students s ON s.student_id = d.student_id
ORDER BY d.report_by, d.student_id, d.event
