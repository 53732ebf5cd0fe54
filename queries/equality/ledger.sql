-- description: the whole privacy-budget ledger, in the order it was charged
-- output: seq, release_id, academic_year, question, cohorts, students, epsilon, rho, delta, mechanism, scale, audit_head, prev_hash, entry_hash
SELECT seq, release_id, academic_year, question, cohorts, students, epsilon, rho, delta, mechanism, scale,
       audit_head, prev_hash, entry_hash
FROM privacy_budget
ORDER BY seq, release_id
