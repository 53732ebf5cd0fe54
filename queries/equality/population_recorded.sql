-- description: whether who one release or extract counted is recorded (a release finished after a stop records it once)
-- params: $ref_id Utf8
-- output: one row: n (0 if not recorded)
SELECT count(*) AS n FROM equality_populations WHERE ref_id = $ref_id
