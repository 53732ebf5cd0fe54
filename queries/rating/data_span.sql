-- description: the first teaching day, and the last day holding any activity or attendance
-- output: first_teaching_day Date32, last_data_day Date32, watermark Timestamp
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
       greatest((SELECT max(day) FROM activity), (SELECT max(day) FROM sessions)) AS last_data_day,
       (SELECT max(ingested_at) FROM everything) AS watermark
