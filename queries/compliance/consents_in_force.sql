-- description: a student's consents to disclose to a recipient that are in force on a day
-- params: $student_id Utf8, $recipient Utf8, $on Date32
-- output: consent_id, fields (comma-separated)
--
-- In force: the day is within its validity and it was not withdrawn on or before the day.
SELECT consent_id, fields
FROM consents
WHERE student_id = $student_id
  AND recipient = $recipient
  AND valid_from <= $on
  AND valid_to >= $on
  AND (withdrawn_on IS NULL OR withdrawn_on > $on)
ORDER BY consent_id
