-- description: classify every card swipe against the timetable and class lists
-- params: $window_us Int64 (a session's window opens this many microseconds before it starts),
--   $from_day Date32, $to_day Date32 (the days whose outcomes are wanted), $read_from Date32,
--   $read_to Date32 (the days of swipes read: those days and the ones a session can span)
-- output: swipe_outcomes rows of swipes on $from_day to $to_day (every day: the whole table)
--
-- A swipe counts for a session when it falls between the window opening and the session's
-- end (both inclusive) in the session's room, and the student is on the class list. When
-- several sessions in the room qualify (back-to-back sessions), the one starting nearest
-- the swipe wins, the later one on a tie. The first counted swipe of a student for a
-- session is 'attended'; later ones are 'repeat'. Every other swipe is kept with why it
-- did not count: 'not on class list', 'outside window' (the room had sessions that day),
-- or 'no session in room'.
--
-- Both choices are made with `lag` over each student's rows in a suitable order rather
-- than `row_number` over tiny partitions (one per swipe), which costs a partition each.
--
-- A session without a room (online delivery) has the room 'online:<session_id>': online
-- attendance from meeting reports and xAPI statements is recorded as a swipe there.
WITH rooms AS (
    SELECT session_id, COALESCE(room, concat('online:', session_id)) AS room, starts_at, ends_at, day
    FROM sessions
),
windows AS (
    SELECT session_id, room, starts_at, day,
           CAST(starts_at AS BIGINT) - $window_us AS opens_us,
           CAST(ends_at AS BIGINT) AS ends_us
    FROM rooms
),
-- A window can start the day before a session (just after midnight) or run into the next
-- day, so each session is offered to swipes of the day before, the day, and the day after.
window_days AS (
    SELECT session_id, room, starts_at, opens_us, ends_us,
           unnest(make_array(day - INTERVAL '1 day', day, day + INTERVAL '1 day')) AS day
    FROM windows
),
-- The class lists of the sessions offered to the swipes read (sessions from the day before
-- the first day read to the day after the last): reconciling a few days holds their lists,
-- not every list ever held. The sessions are the side held in memory.
lists AS (
    SELECT cl.session_id, cl.student_id
    FROM (SELECT session_id FROM sessions
          WHERE day BETWEEN $read_from - INTERVAL '1 day' AND $read_to + INTERVAL '1 day') offered
    RIGHT SEMI JOIN class_lists cl ON offered.session_id = cl.session_id
),
-- Every swipe with each session it could count for (or alone, with no session). Joins
-- are written with the smaller side first: it is the side held in memory.
candidates AS (
    SELECT sw.student_id, sw.room, sw.swiped_at, sw.day, sw.reader_id, w.session_id, w.starts_at,
           cl.student_id IS NOT NULL AS on_list,
           abs(CAST(sw.swiped_at AS BIGINT) - CAST(w.starts_at AS BIGINT)) AS from_start_us
    FROM lists cl
    RIGHT JOIN (window_days w
                RIGHT JOIN (SELECT * FROM swipes WHERE day BETWEEN $read_from AND $read_to) sw
                  ON w.room = sw.room AND w.day = sw.day
                 AND CAST(sw.swiped_at AS BIGINT) BETWEEN w.opens_us AND w.ends_us)
      ON cl.session_id = w.session_id AND cl.student_id = sw.student_id
),
-- Each student's candidates, grouped by swipe and best first: the first row of a swipe
-- (the row before it belongs to another swipe) is its pick. Swipes are unique by
-- student, room and time.
ranked AS (
    SELECT student_id, room, swiped_at, day, reader_id, session_id, on_list,
           lag(room) OVER (PARTITION BY student_id
                           ORDER BY room, swiped_at, on_list DESC, from_start_us, starts_at DESC) AS prev_room,
           lag(swiped_at) OVER (PARTITION BY student_id
                                ORDER BY room, swiped_at, on_list DESC, from_start_us, starts_at DESC) AS prev_swiped_at
    FROM candidates
),
best AS (
    SELECT student_id, room, swiped_at, day, reader_id, session_id, on_list
    FROM ranked
    WHERE prev_swiped_at IS NULL OR prev_room <> room OR prev_swiped_at <> swiped_at
),
room_days AS (
    SELECT DISTINCT room, day FROM rooms
),
-- The session id is cast to plain text: sorting the views a join hands back (pointing
-- into the join's buffers) costs several times as much.
classified AS (
    SELECT b.student_id, b.room, b.swiped_at, b.day, b.reader_id,
           arrow_cast(CASE WHEN b.on_list THEN b.session_id END, 'Utf8') AS session_id,
           CASE WHEN b.on_list THEN 'attended'
                WHEN b.session_id IS NOT NULL THEN 'not on class list'
                WHEN rd.room IS NOT NULL THEN 'outside window'
                ELSE 'no session in room'
           END AS outcome
    FROM room_days rd
    RIGHT JOIN best b
      ON rd.room = b.room AND rd.day = b.day
),
-- A student's swipes by session, then time: an attended swipe after another of the same
-- session is a repeat.
numbered AS (
    SELECT *, lag(session_id) OVER (PARTITION BY student_id ORDER BY session_id, swiped_at) AS prev_session_id
    FROM classified
)
SELECT student_id, room, swiped_at, day, reader_id, session_id,
       CASE WHEN outcome = 'attended' AND prev_session_id = session_id THEN 'repeat' ELSE outcome END AS outcome
FROM numbered
WHERE day BETWEEN $from_day AND $to_day
-- Stored as the swipes are: by month, then student and time (see ingest::kinds::MONTH).
ORDER BY date_trunc('month', day), student_id, swiped_at
