-- description: the Home Office (UKVI) return: sponsored students with a reportable event, its trigger date and report-by date
-- params: $as_of Date32, $no_show_days Int64, $rule Utf8, $threshold Int64, $within Int64, $excusing Utf8
-- output: student_id, cas_number, event, trigger_date, report_by, rule, overdue
--
-- Minimum data only: no ratings, no ethnicity, no activity detail. Events:
-- - did not enrol: where the student record gives enrolment (`enrolment_status`,
--   `enrolled_on`), a student not enrolled $no_show_days after the course start
--   (`not-enrolled`, still `pending`, or enrolled later than that);
-- - never engaged: an enrolled student with no engagement of any kind by $no_show_days
--   after the start; where the record says nothing of enrolment the two cannot be told
--   apart and the event is "did not enrol or never engaged". Only for courses that
--   started within the terms held (or up to 60 days before the first), and only for a
--   student active on the trigger day;
-- - withdrawn, intermitted (suspended): from the student record, dated by status_date,
--   and from each dated status period (`status_periods`), dated by its start;
-- - completed early: completed before the expected end;
-- - stopped engaging: $threshold consecutive expected sessions missed since the last one
--   attended (missed-contact-points), or $threshold days without engagement of any kind
--   since the last engagement (days-without-engagement); authorised absence does not count,
--   and only the days the student's status in force is active are judged (the status in
--   force as in the rating: the latest-starting status period covering the day, else the
--   record's status, which holds from its status_date or, undated, all along).
--   Every such run is an event (stop, return, stop again: two events); a never-engaged
--   event stands for the run before the first engagement only.
-- The trigger date is the day the rule was met; report_by adds $within working days
-- (weekends and bank holidays skipped). Events recorded as reported are not listed again.
WITH sponsored AS (
    SELECT student_id, start_date, expected_end_date, completion_date, status, status_date, ingested_at,
           enrolment_status, enrolled_on,
           CAST(CAST(CAST(start_date AS INT) + $no_show_days AS INT) AS DATE) AS due_on
    FROM students
    WHERE visa_route = 'student'
),
-- Each sponsored student's first day of engagement of any kind.
first_engaged AS (
    SELECT e.student_id, min(e.day) AS first_day
    FROM (SELECT student_id, min(day) AS day FROM daily_activity WHERE events > 0 GROUP BY student_id
          UNION ALL
          SELECT student_id, min(day) AS day FROM attendance GROUP BY student_id) e
    JOIN sponsored s ON s.student_id = e.student_id
    GROUP BY e.student_id
),
-- The days of engagement, read only where the rule counts days.
engaged_days AS (
    SELECT student_id, day FROM daily_activity WHERE events > 0 AND $rule = 'days-without-engagement'
    UNION
    SELECT student_id, day FROM attendance WHERE $rule = 'days-without-engagement'
),
excused_days AS (
    SELECT student_id,
           CAST(unnest(range(starts_on, ends_on + INTERVAL '1 day', INTERVAL '1 day')) AS DATE) AS day
    FROM absences
    WHERE array_has(string_to_array($excusing, ','), kind)
),
-- The days judged: from the course start (or the first term held, if later: no data
-- before it) to $as_of, on which the status in force is active.
period_ranked AS (
    SELECT p.student_id, p.status, p.starts_on, least(coalesce(p.ends_on, $as_of), $as_of) AS ends_on,
           row_number() OVER (PARTITION BY p.student_id ORDER BY p.starts_on) AS k
    FROM status_periods p
    JOIN sponsored s ON s.student_id = p.student_id
    WHERE p.starts_on <= $as_of
),
period_status AS (
    SELECT student_id, day, status
    FROM (
        SELECT student_id, status, day, row_number() OVER (PARTITION BY student_id, day ORDER BY k DESC) AS pick
        FROM (SELECT student_id, status, k,
                     CAST(unnest(range(starts_on, ends_on + INTERVAL '1 day', INTERVAL '1 day')) AS DATE) AS day
              FROM period_ranked)
    )
    WHERE pick = 1
),
monitored_days AS (
    SELECT d.student_id, d.day
    FROM (SELECT s.student_id, s.status, s.status_date, s.completion_date,
                 CAST(unnest(range(greatest(s.start_date, (SELECT min(starts_on) FROM terms)),
                                   CAST($as_of AS DATE) + INTERVAL '1 day', INTERVAL '1 day')) AS DATE) AS day
          FROM sponsored s) d
    LEFT JOIN period_status p ON p.student_id = d.student_id AND p.day = d.day
    WHERE CASE WHEN p.status IS NOT NULL THEN p.status = 'active'
               ELSE d.status = 'active' OR d.day < d.status_date
                    OR (d.status = 'completed' AND d.status_date IS NULL AND d.day <= d.completion_date)
          END
),
no_show AS (
    SELECT s.student_id,
           CASE s.enrolment WHEN 'unknown' THEN 'did not enrol or never engaged'
                            WHEN 'not in time' THEN 'did not enrol'
                            ELSE 'never engaged' END AS event,
           s.due_on AS trigger_date,
           CASE s.enrolment
               WHEN 'not in time' THEN
                    concat('not enrolled ', CAST($no_show_days AS VARCHAR), ' days after the course start on ',
                           CAST(s.start_date AS VARCHAR), ' (enrolment status ', coalesce(s.enrolment_status, 'not given'),
                           coalesce(concat(', enrolled on ', CAST(s.enrolled_on AS VARCHAR)), ''), ')')
               ELSE concat('no engagement of any kind in the ', CAST($no_show_days AS VARCHAR),
                           ' days after the course start on ', CAST(s.start_date AS VARCHAR),
                           CASE s.enrolment WHEN 'in time' THEN ' (enrolled)' ELSE '' END)
           END AS rule
    FROM (SELECT *,
                 CASE WHEN enrolment_status IS NULL AND enrolled_on IS NULL THEN 'unknown'
                      WHEN enrolment_status IN ('not-enrolled', 'pending') OR enrolled_on > due_on THEN 'not in time'
                      ELSE 'in time' END AS enrolment
          FROM sponsored) s
    -- Active on the day the event would be reported for.
    JOIN monitored_days m ON m.student_id = s.student_id AND m.day = s.due_on
    LEFT JOIN first_engaged f ON f.student_id = s.student_id
    -- Only for courses that started within the terms held: an earlier start has no data to judge by.
    WHERE s.start_date >= (SELECT min(starts_on) FROM terms) - INTERVAL '60 days'
      -- Not enrolled in time is reported whatever the engagement.
      AND (s.enrolment = 'not in time' OR f.first_day IS NULL OR f.first_day > s.due_on)
),
status_events AS (
    SELECT student_id,
           CASE status WHEN 'withdrawn' THEN 'withdrawn' ELSE 'intermitted (suspended)' END AS event,
           coalesce(status_date, CASE WHEN status = 'withdrawn' THEN completion_date END, CAST(ingested_at AS DATE)) AS trigger_date,
           concat('student record status ', status) AS rule
    FROM sponsored
    WHERE status IN ('withdrawn', 'intermitted')
    UNION
    SELECT p.student_id,
           CASE p.status WHEN 'withdrawn' THEN 'withdrawn' ELSE 'intermitted (suspended)' END AS event,
           p.starts_on AS trigger_date,
           concat('status period ', p.status, ' from ', CAST(p.starts_on AS VARCHAR)) AS rule
    FROM status_periods p
    JOIN sponsored s ON s.student_id = p.student_id
    WHERE p.status IN ('withdrawn', 'intermitted')
      -- The record's own dated status, given again as a period, is one event.
      AND NOT (p.status = s.status AND p.starts_on = s.status_date)
),
completed_early AS (
    SELECT student_id, 'completed early' AS event, completion_date AS trigger_date,
           concat('completed before the expected end on ', CAST(expected_end_date AS VARCHAR)) AS rule
    FROM sponsored
    WHERE status = 'completed' AND completion_date < expected_end_date
),
expected_sessions AS (
    SELECT cl.student_id, s.starts_at, s.day, a.student_id IS NOT NULL AS attended
    FROM class_lists cl
    JOIN sponsored p ON p.student_id = cl.student_id
    JOIN sessions s ON s.session_id = cl.session_id
    JOIN monitored_days md ON md.student_id = cl.student_id AND md.day = s.day
    LEFT JOIN attendance a ON a.student_id = cl.student_id AND a.session_id = s.session_id
    LEFT JOIN excused_days x ON x.student_id = cl.student_id AND x.day = s.day
    WHERE s.day <= $as_of
      AND (x.student_id IS NULL OR a.student_id IS NOT NULL)
),
-- Every run of missed sessions, not only the latest: `streak` numbers the runs (the
-- attendances before each session), `missed` counts the sessions since the run's
-- attendance (since the first expected session, before any): a session's place in the
-- student's sessions less the place of the last one attended.
numbered_sessions AS (
    SELECT *,
           sum(CASE WHEN attended THEN 1 ELSE 0 END)
               OVER (PARTITION BY student_id ORDER BY starts_at ROWS UNBOUNDED PRECEDING) AS streak,
           row_number() OVER (PARTITION BY student_id ORDER BY starts_at ROWS UNBOUNDED PRECEDING) AS n
    FROM expected_sessions
),
counted_missed AS (
    SELECT *,
           n - max(CASE WHEN attended THEN n ELSE 0 END)
                   OVER (PARTITION BY student_id ORDER BY starts_at ROWS UNBOUNDED PRECEDING) AS missed
    FROM numbered_sessions
),
missed_sessions AS (
    SELECT student_id, 'stopped engaging' AS event, day AS trigger_date, streak,
           concat(CAST($threshold AS VARCHAR), ' consecutive expected sessions missed since the last one attended') AS rule
    FROM counted_missed
    WHERE $rule = 'missed-contact-points' AND NOT attended AND missed = $threshold
),
judged_days AS (
    SELECT student_id, day FROM monitored_days WHERE $rule = 'days-without-engagement'
),
-- An engaged day ends a run of quiet days; excused days neither count nor end one.
day_marks AS (
    SELECT j.student_id, j.day, CASE WHEN e.student_id IS NULL THEN 0 ELSE 1 END AS engaged
    FROM judged_days j
    LEFT JOIN engaged_days e ON e.student_id = j.student_id AND e.day = j.day
    LEFT ANTI JOIN excused_days x ON x.student_id = j.student_id AND x.day = j.day
),
-- As for sessions: a quiet day's place among the student's judged days less the place of
-- the last engaged day.
quiet_streaks AS (
    SELECT *,
           sum(engaged) OVER (PARTITION BY student_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS streak,
           row_number() OVER (PARTITION BY student_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS k
    FROM day_marks
),
counted_quiet AS (
    SELECT student_id, day, streak, engaged,
           k - max(CASE WHEN engaged = 1 THEN k ELSE 0 END)
                   OVER (PARTITION BY student_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS n
    FROM quiet_streaks
),
quiet AS (
    SELECT student_id, 'stopped engaging' AS event, day AS trigger_date, streak,
           concat(CAST($threshold AS VARCHAR), ' days without engagement of any kind since the last engagement') AS rule
    FROM counted_quiet
    WHERE engaged = 0 AND n = $threshold
),
-- Each run is its own event: a student who stops, returns and stops again is reported
-- twice. The run before any engagement (streak 0) of a student reported as never having
-- engaged is that event, not also a stop; a later stop is reported as well.
stopped AS (
    SELECT t.student_id, t.event, t.trigger_date, t.rule
    FROM (SELECT * FROM missed_sessions UNION ALL SELECT * FROM quiet) t
    LEFT JOIN (SELECT DISTINCT student_id FROM no_show) n ON n.student_id = t.student_id
    WHERE NOT (t.streak = 0 AND n.student_id IS NOT NULL)
),
events AS (
    SELECT * FROM no_show
    UNION ALL SELECT * FROM status_events
    UNION ALL SELECT * FROM completed_early
    UNION ALL SELECT * FROM stopped
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
