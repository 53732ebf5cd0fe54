-- description: the latest rating run: its watermark, settings and how far it rated
-- output: watermark Timestamp, settings Utf8, rated_through Date32
SELECT watermark, settings, rated_through
FROM rating_runs
ORDER BY run_at DESC
LIMIT 1
