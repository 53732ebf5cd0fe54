-- description: students' consents in force on a day, for the data-protection officer
-- params: $on Date32
-- output: consent_id, student_id, recipient, fields, valid_from, valid_to
SELECT consent_id, student_id, recipient, fields, valid_from, valid_to
FROM consents
WHERE valid_from <= $on AND valid_to >= $on AND (withdrawn_on IS NULL OR withdrawn_on > $on)
ORDER BY valid_to, consent_id
