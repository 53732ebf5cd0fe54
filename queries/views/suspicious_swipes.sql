-- description: swipes that suggest a card used for someone else: one card in two rooms closer in time than walking allows, or attendance at two overlapping sessions in different rooms
-- params: $walk_minutes Int64 (ingest.min_minutes_between_rooms)
-- output: view suspicious_swipes(student_id, day, reason, first_at, first_room, second_at, second_room, first_session, second_session)
--
-- For staff to look into; never read by the rating, which counts attendance as swiped.
WITH fast_moves AS (
    SELECT a.student_id, a.day, 'two rooms closer in time than walking allows' AS reason,
           a.swiped_at AS first_at, a.room AS first_room, b.swiped_at AS second_at, b.room AS second_room,
           CAST(NULL AS VARCHAR) AS first_session, CAST(NULL AS VARCHAR) AS second_session
    FROM swipes a
    JOIN swipes b
      ON a.student_id = b.student_id AND a.day = b.day AND a.room <> b.room
    WHERE (b.swiped_at > a.swiped_at OR (b.swiped_at = a.swiped_at AND b.room > a.room))
      AND CAST(b.swiped_at AS BIGINT) - CAST(a.swiped_at AS BIGINT) < $walk_minutes * 60000000
),
overlapping AS (
    SELECT x.student_id, x.day, 'attended two overlapping sessions in different rooms' AS reason,
           x.first_swipe_at AS first_at, sx.room AS first_room, y.first_swipe_at AS second_at, sy.room AS second_room,
           x.session_id AS first_session, y.session_id AS second_session
    FROM attendance x
    JOIN attendance y ON x.student_id = y.student_id AND x.day = y.day AND x.session_id < y.session_id
    JOIN sessions sx ON sx.session_id = x.session_id
    JOIN sessions sy ON sy.session_id = y.session_id
    WHERE sx.starts_at < sy.ends_at AND sy.starts_at < sx.ends_at AND sx.room <> sy.room
)
SELECT * FROM fast_moves
UNION ALL
SELECT * FROM overlapping
