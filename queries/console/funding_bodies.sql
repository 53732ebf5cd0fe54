-- description: the funding bodies students are funded by, for the compliance officer's return downloads
-- output: funding_body
SELECT DISTINCT funding_body FROM students WHERE funding_body IS NOT NULL AND funding_body <> '' ORDER BY funding_body
