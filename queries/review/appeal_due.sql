-- description: the last day to appeal a decision: $days working days after the student was notified (weekends and the warehouse's bank holidays not counted)
-- params: $notified Date32, $days Int64
-- output: one row: appeal_by
SELECT add_working_days($notified, $days) AS appeal_by
