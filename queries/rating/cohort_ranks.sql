-- description: each scored student-day's share of their cohort scoring no higher, and the cohort's size
-- output: view ranked: the columns of `scored` (rating/scores), cohort_share, cohort_size
--
-- A cohort is a programme and stage on one day. The share is the cumulative distribution
-- of the score within it: the students scoring no higher (ties count together), over the
-- cohort's size. This is the path for a few days or under a memory limit; longer runs rank
-- the cohorts in Rust (rating::cohorts, which a test compares with this query).
SELECT *,
       cume_dist() OVER (PARTITION BY day, programme_code, stage ORDER BY score) AS cohort_share,
       count(*) OVER (PARTITION BY day, programme_code, stage) AS cohort_size
FROM scored
