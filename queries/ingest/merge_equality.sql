-- description: the equality table after an upsert by pseudonym; an empty value in the file removes the held one
-- output: the whole equality table
SELECT t.pseudonym, t.ethnicity, t.ingested_on
FROM equality t
LEFT ANTI JOIN staged s ON s.pseudonym = t.pseudonym
UNION ALL
SELECT pseudonym, ethnicity, ingested_on
FROM staged
WHERE ethnicity IS NOT NULL
ORDER BY pseudonym
