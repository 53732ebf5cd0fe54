-- description: the privacy-budget ledger, release by release: what each charged and to which students' budgets
-- output: seq, release_id, academic_year, cohorts, students, mechanism, neighbours, census_dates, epsilon, rho, delta, charged_at, charged_by
--
-- Budgets are per cohort (the academic year a student's studies started): a release is
-- charged to every cohort it counts, whatever year it is labelled with.
SELECT seq, release_id, academic_year, cohorts, students, mechanism, neighbours, census_dates,
       round(epsilon, 6) AS epsilon, round(rho, 6) AS rho, delta, charged_at, charged_by
FROM privacy_budget
ORDER BY seq
