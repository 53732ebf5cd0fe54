-- description: one member of staff of the web console, by staff id or e-mail address (case-insensitive)
-- params: $who Utf8
-- output: staff_id, email, name, roles, department (no row: not on the staff list)
SELECT staff_id, email, name, roles, department
FROM staff
WHERE staff_id = $who OR lower(email) = lower($who)
ORDER BY staff_id
LIMIT 1
