-- description: the data-protection officer's register of subject-access requests: each request's steps (received, extended, exported, answered), newest first
-- output: request_ref, student_id, received_on, extended_on, extension_note, exported_on, answered_on
SELECT request_ref,
       max(student_id) AS student_id,
       min(CASE WHEN step = 'received' THEN "on" END) AS received_on,
       max(CASE WHEN step = 'extended' THEN "on" END) AS extended_on,
       max(CASE WHEN step = 'extended' THEN note END) AS extension_note,
       max(CASE WHEN step = 'exported' THEN "on" END) AS exported_on,
       max(CASE WHEN step = 'answered' THEN "on" END) AS answered_on
FROM sar_log
GROUP BY request_ref
ORDER BY received_on DESC, request_ref
