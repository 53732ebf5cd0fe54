-- description: whether a retention purge run (identified by when it started) is already recorded, so a run that finishes an interrupted one records it once
-- params: $run_at Timestamp
-- output: one row: n (0 or 1)
SELECT count(*) AS n FROM retention_runs WHERE run_at = $run_at
