-- description: the terms table after an upsert on (academic_year, term)
-- output: the whole terms table
SELECT t.academic_year, t.term, t.starts_on, t.ends_on, t.ingested_at
FROM terms t
LEFT ANTI JOIN staged s ON s.academic_year = t.academic_year AND s.term = t.term
UNION ALL
SELECT academic_year, term, starts_on, ends_on, ingested_at
FROM staged
ORDER BY starts_on, academic_year, term
