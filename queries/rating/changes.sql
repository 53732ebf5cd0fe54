-- description: what was ingested after the watermark: the day range of new events, and whether reference data changed
-- params: $since Timestamp (the last run's watermark)
-- output: lo Date32, hi Date32, reference_changed Boolean, watermark Timestamp
--
-- Activity, swipes and absences only ever gain rows, so their new rows say which days
-- changed; a changed student record changes the days from its status_date (else from
-- the student's start), and a status period from its start. A change to sessions, class
-- lists, terms or bank holidays can move a session or a teaching day anywhere, so it asks
-- for a full recomputation.
WITH new_days AS (
    SELECT day FROM activity WHERE ingested_at > $since
    UNION ALL SELECT day FROM swipes WHERE ingested_at > $since
    UNION ALL SELECT starts_on FROM absences WHERE ingested_at > $since
    UNION ALL SELECT ends_on FROM absences WHERE ingested_at > $since
    UNION ALL SELECT coalesce(status_date, start_date) FROM students WHERE ingested_at > $since
    UNION ALL SELECT starts_on FROM status_periods WHERE ingested_at > $since
),
reference AS (
    SELECT ingested_at FROM sessions
    UNION ALL SELECT ingested_at FROM class_lists
    UNION ALL SELECT ingested_at FROM terms
    UNION ALL SELECT ingested_at FROM bank_holidays
),
everything AS (
    SELECT ingested_at FROM reference
    UNION ALL SELECT ingested_at FROM activity
    UNION ALL SELECT ingested_at FROM swipes
    UNION ALL SELECT ingested_at FROM absences
    UNION ALL SELECT ingested_at FROM students
    UNION ALL SELECT ingested_at FROM status_periods
)
SELECT (SELECT min(day) FROM new_days) AS lo,
       (SELECT max(day) FROM new_days) AS hi,
       (SELECT count(*) FROM reference WHERE ingested_at > $since) > 0 AS reference_changed,
       (SELECT max(ingested_at) FROM everything) AS watermark
