-- description: whether a day is a bank holiday (no e-mail leaves on one)
-- params: $day Date32
-- output: one row: n (1 a bank holiday, 0 not)
SELECT count(*) AS n FROM bank_holidays WHERE "date" = $day
