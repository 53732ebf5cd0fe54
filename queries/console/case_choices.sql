-- description: the values the progress team's case filters offer: every department and stage with a case
-- output: department, stage
SELECT DISTINCT department, stage FROM cases ORDER BY department, stage
