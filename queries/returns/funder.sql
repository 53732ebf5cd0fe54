-- description: the funding-body return: attendance confirmation per liability period, and changes of circumstances with the last date of engagement
-- params: $as_of Date32, $body Utf8, $rule Utf8, $window Int64, $min_days Int64, $not_attending_days Int64
-- output: student_id, funding_body, status, last_engagement_date, section, period, status_date, reason
--
-- Engagement is any attendance or activity. Attendance confirmation, for each liability
-- period (table `periods`: name, starts, ends, and until = the sooner of ends and $as_of)
-- that has started: a student funded by $body and enrolled by then is judged over the
-- period's last $window teaching days up to `until` (within the period) by $rule:
-- - rated-above-very-low: rated above Very Low on at least $min_days of them; a student
--   with no rated day there (exempt, or not monitored) is judged by engagement instead;
-- - engaged-days: engaged on at least $min_days of them;
-- - engaged-within-days: engaged at all within $not_attending_days days of `until`.
-- Otherwise 'not attending since' their last engagement ('never attended' in the first
-- period, 'not attending' without any). Every line says why. Withdrawn and intermitted
-- students appear only in periods that started before their status date, judged up to
-- that date; a period a dated status period other than `active` covers entirely (an
-- intermission, a placement) is not judged. Change of circumstances: each withdrawal or
-- intermission, from the student record (dated by status_date) or from a dated status
-- period (dated by its start), with the last day they engaged on or before that date
-- (never after it, never after $as_of).
WITH funded AS (
    SELECT student_id, start_date, status,
           coalesce(status_date, CASE WHEN status = 'withdrawn' THEN completion_date END, CAST(ingested_at AS DATE)) AS status_on
    FROM students
    WHERE funding_body = $body
),
engaged_days AS (
    SELECT student_id, day FROM daily_activity WHERE events > 0
    UNION
    SELECT student_id, day FROM attendance
),
started AS (
    SELECT name, starts, until,
           row_number() OVER (ORDER BY starts) AS n
    FROM periods
    WHERE starts <= $as_of
),
-- A withdrawn or suspended student's period is judged up to their status date.
judged AS (
    SELECT f.student_id, f.start_date, f.status, f.status_on, p.name AS period, p.n, p.starts,
           CASE WHEN f.status IN ('withdrawn', 'intermitted') AND f.status_on < p.until THEN f.status_on ELSE p.until END AS until
    FROM funded f
    CROSS JOIN started p
    WHERE f.start_date <= p.until
      AND f.status <> 'completed'
      AND (f.status NOT IN ('withdrawn', 'intermitted') OR f.status_on >= p.starts)
),
-- Liability periods a non-active status period covers from start to `until`.
covered AS (
    SELECT DISTINCT j.student_id, j.period
    FROM judged j
    JOIN status_periods sp
      ON sp.student_id = j.student_id AND sp.status <> 'active'
     AND sp.starts_on <= j.starts AND coalesce(sp.ends_on, DATE '9999-12-31') >= j.until
),
judged_active AS (
    SELECT j.* FROM judged j LEFT ANTI JOIN covered c ON c.student_id = j.student_id AND c.period = j.period
),
-- The last $window teaching days of each judged span (period start to `until`): worked
-- out once per distinct span, not per student.
span_days AS (
    SELECT starts, until, day
    FROM (
        SELECT u.starts, u.until, t.day,
               row_number() OVER (PARTITION BY u.starts, u.until ORDER BY t.day DESC) AS k
        FROM (SELECT DISTINCT starts, until FROM judged_active) u
        JOIN teaching_days t ON t.day BETWEEN u.starts AND u.until
    ) w
    WHERE k <= $window
),
spans AS (
    SELECT starts, until, count(*) AS teaching, min(day) AS first_day, max(day) AS last_day
    FROM span_days
    GROUP BY starts, until
),
window_days AS (
    SELECT j.student_id, j.period, d.day
    FROM judged_active j
    JOIN span_days d ON d.starts = j.starts AND d.until = j.until
),
counted AS (
    SELECT w.student_id, w.period,
           count(DISTINCT e.day) AS engaged,
           count(DISTINCT r.day) AS rated,
           count(DISTINCT CASE WHEN r.rating <> 'Very Low' THEN r.day END) AS above
    FROM window_days w
    LEFT JOIN engaged_days e ON e.student_id = w.student_id AND e.day = w.day
    LEFT JOIN ratings r ON r.student_id = w.student_id AND r.day = w.day
    GROUP BY w.student_id, w.period
),
confirmation AS (
    SELECT j.student_id, j.period, j.n, j.starts, j.until,
           max(e.day) AS last_engagement_date
    FROM judged_active j
    LEFT JOIN engaged_days e ON e.student_id = j.student_id AND e.day <= j.until
    GROUP BY j.student_id, j.period, j.n, j.starts, j.until
),
verdicts AS (
    SELECT c.student_id, c.period, c.n, c.last_engagement_date,
           coalesce(w.teaching, 0) AS teaching, coalesce(k.engaged, 0) AS engaged,
           coalesce(k.rated, 0) AS rated, coalesce(k.above, 0) AS above,
           CASE
               WHEN $rule = 'engaged-within-days' THEN
                    c.last_engagement_date IS NOT NULL
                    AND CAST(CAST(c.last_engagement_date AS INT) AS BIGINT) >= CAST(CAST(c.until AS INT) AS BIGINT) - $not_attending_days
               WHEN $rule = 'rated-above-very-low' AND coalesce(k.rated, 0) > 0 THEN coalesce(k.above, 0) >= $min_days
               ELSE coalesce(k.engaged, 0) >= $min_days
           END AS attending,
           concat(' of the ', CAST(coalesce(w.teaching, 0) AS VARCHAR), ' teaching days ',
                  CAST(w.first_day AS VARCHAR), ' to ', CAST(w.last_day AS VARCHAR)) AS span,
           c.until
    FROM confirmation c
    LEFT JOIN spans w ON w.starts = c.starts AND w.until = c.until
    LEFT JOIN counted k ON k.student_id = c.student_id AND k.period = c.period
),
status_changes AS (
    SELECT student_id, status, status_on, concat('student record status ', status) AS reason
    FROM funded
    WHERE status IN ('withdrawn', 'intermitted')
    UNION ALL
    SELECT p.student_id, p.status, p.starts_on AS status_on,
           concat('status period ', p.status, ' from ', CAST(p.starts_on AS VARCHAR)) AS reason
    FROM status_periods p
    JOIN funded f ON f.student_id = p.student_id
    WHERE p.status IN ('withdrawn', 'intermitted')
      -- The record's own dated status, given again as a period, is one change.
      AND NOT (p.status = f.status AND p.starts_on = f.status_on)
),
changes AS (
    SELECT c.student_id, c.status, c.status_on, c.reason, max(e.day) AS last_engagement_date
    FROM status_changes c
    LEFT JOIN engaged_days e
      ON e.student_id = c.student_id AND e.day <= c.status_on AND e.day <= $as_of
    WHERE c.status_on <= $as_of
    GROUP BY c.student_id, c.status, c.status_on, c.reason
)
SELECT student_id, $body AS funding_body,
       CASE WHEN attending THEN 'attending'
            WHEN last_engagement_date IS NULL AND n = 1 THEN 'never attended'
            WHEN last_engagement_date IS NULL THEN 'not attending'
            ELSE concat('not attending since ', CAST(last_engagement_date AS VARCHAR))
       END AS status,
       last_engagement_date,
       'attendance confirmation' AS section,
       period,
       CAST(NULL AS DATE) AS status_date,
       CASE
           WHEN $rule = 'engaged-within-days' THEN
                concat(CASE WHEN attending THEN 'engaged' ELSE 'no engagement' END, ' within ',
                       CAST($not_attending_days AS VARCHAR), ' days of ', CAST(until AS VARCHAR))
           WHEN teaching = 0 THEN 'no teaching day in the period yet'
           WHEN $rule = 'rated-above-very-low' AND rated > 0 THEN
                concat('rated above Very Low on ', CAST(above AS VARCHAR), span, ' (', CAST($min_days AS VARCHAR), ' needed)')
           WHEN $rule = 'rated-above-very-low' THEN
                concat('no rated day (exempt or not monitored); engaged on ', CAST(engaged AS VARCHAR), span,
                       ' (', CAST($min_days AS VARCHAR), ' needed)')
           ELSE concat('engaged on ', CAST(engaged AS VARCHAR), span, ' (', CAST($min_days AS VARCHAR), ' needed)')
       END AS reason
FROM verdicts
UNION ALL
SELECT student_id, $body AS funding_body, status, last_engagement_date,
       'change of circumstances' AS section, CAST(NULL AS VARCHAR) AS period, status_on AS status_date, reason
FROM changes
ORDER BY section, period, student_id
