-- description: legal holds in force (not released), for the data-protection officer
-- output: hold_id, student_id, reason, placed_on
SELECT hold_id, student_id, reason, placed_on
FROM legal_holds
WHERE released_on IS NULL
ORDER BY placed_on, hold_id
