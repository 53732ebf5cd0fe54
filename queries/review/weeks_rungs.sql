-- description: actions from weeks-without-attendance rungs: consecutive completed teaching weeks with sessions expected and none attended
-- params: $as_of Date32, $year Utf8 (academic year of $as_of)
-- output: student_id, rung, action, episode, rating, reason
--
-- Weeks with nothing expected of the student (no sessions, a bank-holiday week without
-- teaching, or every session excused by an authorised absence) neither break nor extend
-- a run: the count pauses. A week counts once it is over (its Monday is at least seven
-- days before the review day). Only the highest rung reached is raised, once per run
-- (the episode is the run's first week). A rung with a limit raises its
-- beyond_limit_action instead once the student has had limit_per_year such outcomes.
WITH weeks AS (
    SELECT a.student_id, t.week_monday,
           sum(a.expected) AS expected, sum(a.attended) AS attended
    FROM daily_attendance a
    JOIN teaching_days t ON t.day = a.day
    JOIN students s ON s.student_id = a.student_id AND s.status = 'active'
    WHERE t.academic_year = $year
      AND t.week_monday + INTERVAL '7 days' <= $as_of
    GROUP BY a.student_id, t.week_monday
    HAVING sum(a.expected) > 0
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY student_id ORDER BY week_monday) AS n
    FROM weeks
),
summary AS (
    SELECT student_id, max(n) AS last_n, max(CASE WHEN attended > 0 THEN n ELSE 0 END) AS last_attended_n
    FROM numbered
    GROUP BY student_id
),
runs AS (
    SELECT s.student_id, s.last_n - s.last_attended_n AS missed,
           f.week_monday AS run_from, l.week_monday AS run_to
    FROM summary s
    JOIN numbered f ON f.student_id = s.student_id AND f.n = s.last_attended_n + 1
    JOIN numbered l ON l.student_id = s.student_id AND l.n = s.last_n
    WHERE s.last_n > s.last_attended_n
),
reached AS (
    SELECT r.*, g.rung, g.action, g.limit_outcome, g.limit_per_year, g.beyond_limit_action,
           row_number() OVER (PARTITION BY r.student_id ORDER BY g.weeks DESC, g.rung DESC) AS top
    FROM runs r
    JOIN rungs g ON g.trigger = 'weeks-without-attendance' AND r.missed >= g.weeks
),
outcomes AS (
    SELECT student_id, outcome, count(*) AS times
    FROM case_events
    WHERE academic_year = $year
    GROUP BY student_id, outcome
),
decided AS (
    SELECT r.*, coalesce(o.times, 0) AS limit_used,
           r.limit_outcome IS NOT NULL AND coalesce(o.times, 0) >= r.limit_per_year AS beyond_limit
    FROM reached r
    LEFT JOIN outcomes o ON o.student_id = r.student_id AND o.outcome = r.limit_outcome
    WHERE r.top = 1
)
SELECT d.student_id, d.rung,
       CASE WHEN d.beyond_limit THEN d.beyond_limit_action ELSE d.action END AS action,
       concat($year, ' run from week of ', CAST(d.run_from AS VARCHAR)) AS episode,
       CAST(NULL AS VARCHAR) AS rating,
       concat('no attendance in ', CAST(d.missed AS VARCHAR), ' consecutive teaching week(s), the weeks of ',
              CAST(d.run_from AS VARCHAR), ' to ', CAST(d.run_to AS VARCHAR),
              CASE WHEN d.beyond_limit
                   THEN concat('; already ', CAST(d.limit_used AS VARCHAR), ' ', d.limit_outcome, ' outcome(s) this year')
                   ELSE '' END) AS reason
FROM decided d
ORDER BY d.student_id
