-- description: the content hashes of every file already ingested as this kind or format
-- params: $kind Utf8
-- output: sha256 Utf8
SELECT DISTINCT sha256
FROM ingest_log
WHERE kind = $kind
