-- description: the latest disclosures logged, newest first, for the data-protection officer
-- output: disclosure_id, student_id, recipient, legal_basis, purpose, disclosed_on, source
SELECT disclosure_id, student_id, recipient, legal_basis, purpose, disclosed_on, source
FROM disclosures
ORDER BY disclosed_on DESC, recorded_at DESC
LIMIT 100
