-- description: the sessions table after an upsert on session_id
-- output: the whole sessions table
SELECT t.session_id, t.module_code, t.starts_at, t.ends_at, t.day, t.kind, t.delivery, t.room, t.ingested_at
FROM sessions t
LEFT ANTI JOIN staged s ON s.session_id = t.session_id
UNION ALL
SELECT session_id, module_code, starts_at, ends_at, day, kind, delivery, room, ingested_at
FROM staged
ORDER BY day, session_id
