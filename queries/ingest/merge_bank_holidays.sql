-- description: the bank_holidays table after an upsert on date
-- output: the whole bank_holidays table
SELECT t.date, t.name, t.ingested_at
FROM bank_holidays t
LEFT ANTI JOIN staged s ON s.date = t.date
UNION ALL
SELECT date, name, ingested_at
FROM staged
ORDER BY date
