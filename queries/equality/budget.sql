-- description: the privacy-budget ledger of one academic year, release by release, with what was spent and what is left after each
-- params: $year Utf8, $cap Float64
-- output: release_id, charged_at, charged_by, mechanism, neighbours, census_dates, epsilon, spent, left
SELECT release_id, charged_at, charged_by, mechanism, neighbours, census_dates,
       round(epsilon, 6) AS epsilon,
       round(sum(epsilon) OVER (ORDER BY charged_at, release_id ROWS UNBOUNDED PRECEDING), 6) AS spent,
       round($cap - sum(epsilon) OVER (ORDER BY charged_at, release_id ROWS UNBOUNDED PRECEDING), 6) AS left
FROM privacy_budget
WHERE academic_year = $year
ORDER BY charged_at, release_id
