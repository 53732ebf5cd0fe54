-- description: what was ingested after the watermark: the day range of new events and of each daily rollup's own new rows, whether reference data changed, the new watermark and the first teaching day
-- params: $since Timestamp (the last run's watermark)
-- output: lo Date32, hi Date32, activity_lo Date32, activity_hi Date32, attendance_lo Date32, attendance_hi Date32, reference_changed Boolean, watermark Timestamp, first_teaching_day Date32
--
-- Activity, swipes and absences only ever gain rows, so their new rows say which days
-- changed; a changed student record changes the days from its status_date (else from
-- the student's start), and a status period from its start. A change to sessions, class
-- lists, terms or bank holidays can move a session or a teaching day anywhere, so it asks
-- for a full recomputation.
--
-- `lo`..`hi` are the days to rate again from. Each daily rollup is recomputed only for
-- the days its own inputs touched: `derive/daily_activity` reads the activity alone
-- (`activity_lo`..`activity_hi`); `derive/daily_attendance` reads the swipes' outcomes,
-- the absences and the students' status and mode (`attendance_lo`..`attendance_hi`). A
-- status period feeds neither: its days are rated again from the rollups kept. Each pair
-- is NULL when nothing new feeds that rollup.
--
-- Each table is read only for rows stamped after $since, so the tables' file
-- statistics skip the files ingested before it: a day's run does not read the year's
-- events. The new watermark is the latest of those stamps (NULL when there are none: the
-- last one holds).
WITH new_events AS (
    SELECT day, ingested_at, 'activity' AS feeds FROM activity WHERE ingested_at > $since
    UNION ALL SELECT day, ingested_at, 'attendance' FROM swipes WHERE ingested_at > $since
    UNION ALL SELECT starts_on, ingested_at, 'attendance' FROM absences WHERE ingested_at > $since
    UNION ALL SELECT ends_on, ingested_at, 'attendance' FROM absences WHERE ingested_at > $since
    UNION ALL SELECT coalesce(status_date, start_date), ingested_at, 'attendance' FROM students WHERE ingested_at > $since
    UNION ALL SELECT starts_on, ingested_at, 'rating' FROM status_periods WHERE ingested_at > $since
),
reference AS (
    SELECT ingested_at FROM sessions WHERE ingested_at > $since
    UNION ALL SELECT ingested_at FROM class_lists WHERE ingested_at > $since
    UNION ALL SELECT ingested_at FROM terms WHERE ingested_at > $since
    UNION ALL SELECT ingested_at FROM bank_holidays WHERE ingested_at > $since
)
SELECT e.lo, e.hi, e.activity_lo, e.activity_hi, e.attendance_lo, e.attendance_hi,
       r.changed > 0 AS reference_changed, greatest(e.newest, r.newest) AS watermark,
       t.first_teaching_day
FROM (
    SELECT min(day) AS lo, max(day) AS hi,
           min(CASE WHEN feeds = 'activity' THEN day END) AS activity_lo,
           max(CASE WHEN feeds = 'activity' THEN day END) AS activity_hi,
           min(CASE WHEN feeds = 'attendance' THEN day END) AS attendance_lo,
           max(CASE WHEN feeds = 'attendance' THEN day END) AS attendance_hi,
           max(ingested_at) AS newest
    FROM new_events
) e
CROSS JOIN (SELECT count(*) AS changed, max(ingested_at) AS newest FROM reference) r
CROSS JOIN (SELECT min(day) AS first_teaching_day FROM teaching_days) t
