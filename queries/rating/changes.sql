-- description: what was ingested after the watermark: the day range of new events, and whether reference data changed
-- params: $since Timestamp (the last run's watermark)
-- output: lo Date32, hi Date32, reference_changed Boolean, watermark Timestamp
--
-- Activity, swipes and absences only ever gain rows, so their new rows say which days
-- changed; a student's status dated by status_date changes the days from then on. A
-- change to sessions, class lists, terms or bank holidays can move a session or a
-- teaching day anywhere, and so can an undated status other than active: they ask for a
-- full recomputation.
WITH new_days AS (
    SELECT day FROM activity WHERE ingested_at > $since
    UNION ALL SELECT day FROM swipes WHERE ingested_at > $since
    UNION ALL SELECT starts_on FROM absences WHERE ingested_at > $since
    UNION ALL SELECT ends_on FROM absences WHERE ingested_at > $since
    UNION ALL SELECT status_date FROM students WHERE ingested_at > $since AND status_date IS NOT NULL
),
reference AS (
    SELECT ingested_at FROM students WHERE status <> 'active' AND status_date IS NULL
    UNION ALL SELECT ingested_at FROM sessions
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
)
SELECT (SELECT min(day) FROM new_days) AS lo,
       (SELECT max(day) FROM new_days) AS hi,
       (SELECT count(*) FROM reference WHERE ingested_at > $since) > 0 AS reference_changed,
       (SELECT max(ingested_at) FROM everything) AS watermark
