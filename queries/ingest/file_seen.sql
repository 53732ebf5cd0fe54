-- description: how many times a file with this content was already ingested as this kind
-- params: $kind Utf8, $sha256 Utf8
-- output: times Int64
SELECT count(*) AS times
FROM ingest_log
WHERE kind = $kind AND sha256 = $sha256
