-- description: the privacy-budget ledger entries of one academic year, oldest first
-- params: $year Utf8
-- output: release_id, question, epsilon, scale, mechanism, charged_at
SELECT release_id, question, epsilon, scale, mechanism, charged_at
FROM privacy_budget
WHERE academic_year = $year
ORDER BY charged_at, release_id
