-- description: the funding-body return: attendance confirmation per liability period, and changes of circumstances with the last date of engagement
-- params: $as_of Date32, $body Utf8, $not_attending_days Int64
-- output: student_id, funding_body, status, last_engagement_date, section, period, status_date
--
-- Engagement is any attendance or activity. Attendance confirmation, for each liability
-- period (table `periods`: name, starts, ends, and until = the sooner of ends and $as_of) that has started: a student funded by $body and enrolled by
-- then is 'attending' if they engaged within $not_attending_days days of the period's end
-- (or of $as_of, if sooner); otherwise 'not attending since' their last engagement;
-- 'never attended' is given only in the first period. Withdrawn and intermitted students
-- appear only in periods that started before their status date, judged up to that date.
-- Change of circumstances: withdrawn or intermitted students, with the last day they
-- engaged on or before their status date (never after it, never after $as_of).
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
confirmation AS (
    SELECT j.student_id, j.period, j.n, j.until, max(e.day) AS last_engagement_date
    FROM judged j
    LEFT JOIN engaged_days e ON e.student_id = j.student_id AND e.day <= j.until
    GROUP BY j.student_id, j.period, j.n, j.until
),
changes AS (
    SELECT f.student_id, f.status, f.status_on, max(e.day) AS last_engagement_date
    FROM funded f
    LEFT JOIN engaged_days e
      ON e.student_id = f.student_id AND e.day <= f.status_on AND e.day <= $as_of
    WHERE f.status IN ('withdrawn', 'intermitted') AND f.status_on <= $as_of
    GROUP BY f.student_id, f.status, f.status_on
)
SELECT student_id, $body AS funding_body,
       CASE WHEN last_engagement_date IS NULL AND n = 1 THEN 'never attended'
            WHEN last_engagement_date IS NULL THEN 'not attending'
            WHEN CAST(CAST(last_engagement_date AS INT) AS BIGINT) < CAST(CAST(until AS INT) AS BIGINT) - $not_attending_days
                 THEN concat('not attending since ', CAST(last_engagement_date AS VARCHAR))
            ELSE 'attending'
       END AS status,
       last_engagement_date,
       'attendance confirmation' AS section,
       period,
       CAST(NULL AS DATE) AS status_date
FROM confirmation
UNION ALL
SELECT student_id, $body AS funding_body, status, last_engagement_date,
       'change of circumstances' AS section, CAST(NULL AS VARCHAR) AS period, status_on AS status_date
FROM changes
ORDER BY section, period, student_id
