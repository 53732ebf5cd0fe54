-- description: the bank holidays held, for the add_working_days function
-- output: one row per holiday
SELECT date
FROM bank_holidays
WHERE date IS NOT NULL
ORDER BY date
