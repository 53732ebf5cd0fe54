-- description: the staff table after an upsert on staff_id
-- output: the whole staff table
SELECT t.staff_id, t.email, t.name, t.roles, t.department, t.ingested_at
FROM staff t
LEFT ANTI JOIN staged s ON s.staff_id = t.staff_id
UNION ALL
SELECT staff_id, email, name, roles, department, ingested_at
FROM staged
ORDER BY staff_id
