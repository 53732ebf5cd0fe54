-- description: what was ingested after the watermark: the day range of new events, whether reference data changed, the new watermark and the first teaching day
-- params: $since Timestamp (the last run's watermark)
-- output: lo Date32, hi Date32, reference_changed Boolean, watermark Timestamp, first_teaching_day Date32
--
-- Activity, swipes and absences only ever gain rows, so their new rows say which days
-- changed; a changed student record changes the days from its status_date (else from
-- the student's start), and a status period from its start. A change to sessions, class
-- lists, terms or bank holidays can move a session or a teaching day anywhere, so it asks
-- for a full recomputation.
--
-- Each table is read only for rows stamped after $since, so the tables' file
-- statistics skip the files ingested before it: a day's run does not read the year's
-- events. The new watermark is the latest of those stamps (NULL when there are none: the
-- last one holds).
WITH new_events AS (
    SELECT day, ingested_at FROM activity WHERE ingested_at > $since
    UNION ALL SELECT day, ingested_at FROM swipes WHERE ingested_at > $since
    UNION ALL SELECT starts_on, ingested_at FROM absences WHERE ingested_at > $since
    UNION ALL SELECT ends_on, ingested_at FROM absences WHERE ingested_at > $since
    UNION ALL SELECT coalesce(status_date, start_date), ingested_at FROM students WHERE ingested_at > $since
    UNION ALL SELECT starts_on, ingested_at FROM status_periods WHERE ingested_at > $since
),
reference AS (
    SELECT ingested_at FROM sessions WHERE ingested_at > $since
    UNION ALL SELECT ingested_at FROM class_lists WHERE ingested_at > $since
    UNION ALL SELECT ingested_at FROM terms WHERE ingested_at > $since
    UNION ALL SELECT ingested_at FROM bank_holidays WHERE ingested_at > $since
)
SELECT e.lo, e.hi, r.changed > 0 AS reference_changed, greatest(e.newest, r.newest) AS watermark,
       t.first_teaching_day
FROM (SELECT min(day) AS lo, max(day) AS hi, max(ingested_at) AS newest FROM new_events) e
CROSS JOIN (SELECT count(*) AS changed, max(ingested_at) AS newest FROM reference) r
CROSS JOIN (SELECT min(day) AS first_teaching_day FROM teaching_days) t
