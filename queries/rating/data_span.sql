-- description: the first teaching day, and the last day holding any activity or attendance
-- output: first_teaching_day Date32, last_data_day Date32, watermark Timestamp
--
-- The latest day and stamp are each the first row of a descending order (nulls last, so
-- the same as `max`): the sort's running threshold is handed to the scans, which skip
-- every file and row group whose statistics cannot beat it, so a full run does not decode
-- the year's events for them. The same skipping for `max` (DataFusion's aggregate dynamic
-- filter) is off in every session (`engine::session`).
WITH everything AS (
    SELECT ingested_at FROM sessions
    UNION ALL SELECT ingested_at FROM class_lists
    UNION ALL SELECT ingested_at FROM terms
    UNION ALL SELECT ingested_at FROM bank_holidays
    UNION ALL SELECT ingested_at FROM activity
    UNION ALL SELECT ingested_at FROM swipes
    UNION ALL SELECT ingested_at FROM absences
    UNION ALL SELECT ingested_at FROM students
    UNION ALL SELECT ingested_at FROM status_periods
)
SELECT (SELECT min(day) FROM teaching_days) AS first_teaching_day,
       greatest((SELECT day FROM activity ORDER BY day DESC NULLS LAST LIMIT 1),
                (SELECT day FROM sessions ORDER BY day DESC NULLS LAST LIMIT 1)) AS last_data_day,
       (SELECT ingested_at FROM everything ORDER BY ingested_at DESC NULLS LAST LIMIT 1) AS watermark
