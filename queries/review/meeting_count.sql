-- description: how many meetings a case has had scheduled, to number the next
-- params: $case_id Utf8
-- output: one row: n
SELECT count(*) AS n FROM case_meetings WHERE case_id = $case_id AND event = 'scheduled'
