-- description: the students (by equality pseudonym) each earlier release or extract counted
-- params: $kind Utf8
-- output: ref_id, pseudonym
SELECT ref_id, pseudonym
FROM equality_populations
WHERE kind = $kind
ORDER BY ref_id, pseudonym
