//! Card swipes becoming attendance: the window edges, class lists, repeats, the clock
//! change, and files arriving in any order.

use crate::common::Env;

const SESSIONS: &str =
    "session_id,module_code,starts_at,ends_at,room\nX1,CS101,2025-11-05T10:00:00,2025-11-05T11:00:00,R1\n";
const CLASS_LIST: &str = "session_id,student_id\nX1,S1\nX1,S2\nX1,S3\nX1,S4\nX1,S5\n";
const SWIPES: &str = "student_id,room,swiped_at,reader_id\n\
S1,R1,2025-11-05T09:30:00,A\n\
S2,R1,2025-11-05T11:00:00,A\n\
S3,R1,2025-11-05T11:00:01,A\n\
S4,R1,2025-11-05T09:29:59,A\n\
S5,R1,2025-11-05T10:05:00,A\n\
S5,R1,2025-11-05T10:20:00,A\n\
S9,R1,2025-11-05T10:00:00,A\n\
S1,R9,2025-11-05T10:00:00,B\n";

fn outcomes(env: &Env) -> Vec<String> {
    env.sql("SELECT student_id, room, session_id, outcome FROM swipe_outcomes ORDER BY student_id, swiped_at")[1..]
        .to_vec()
}

#[test]
fn window_edges_class_lists_and_repeats() {
    let env = Env::new();
    env.ingest("sessions", &[&env.file("t.csv", SESSIONS)]);
    env.ingest("class-lists", &[&env.file("c.csv", CLASS_LIST)]);
    let run = env.ingest("swipes", &[&env.file("s.csv", SWIPES)]);
    assert!(run.stdout.contains("swipes reconciled: 3 attended"), "{}", run.stdout);
    assert_eq!(
        outcomes(&env),
        [
            "S1,R1,X1,attended", // exactly 30 minutes before the start
            "S1,R9,,no session in room",
            "S2,R1,X1,attended",     // exactly at the end
            "S3,R1,,outside window", // one second after the end
            "S4,R1,,outside window", // one second before the window opens
            "S5,R1,X1,attended",
            "S5,R1,X1,repeat", // a second swipe counts once
            "S9,R1,,not on class list",
        ]
    );
    assert_eq!(env.sql("SELECT student_id FROM attendance ORDER BY student_id")[1..], ["S1", "S2", "S5"]);
    assert_eq!(env.scalar("SELECT count(*) FROM rejected_swipes"), "4");
}

#[test]
fn files_in_any_order_and_a_corrected_class_list() {
    let env = Env::new();
    env.ingest("swipes", &[&env.file("s.csv", SWIPES)]);
    assert_eq!(env.scalar("SELECT count(*) FROM swipe_outcomes WHERE outcome = 'no session in room'"), "8");
    env.ingest("sessions", &[&env.file("t.csv", SESSIONS)]);
    assert_eq!(env.scalar("SELECT count(*) FROM attendance"), "0");
    assert_eq!(env.scalar("SELECT count(*) FROM swipe_outcomes WHERE outcome = 'not on class list'"), "5");
    env.ingest("class-lists", &[&env.file("c.csv", CLASS_LIST)]);
    assert_eq!(env.scalar("SELECT count(*) FROM attendance"), "3");
    // The corrected list drops S2 and adds S9: it replaces the session's whole list.
    env.ingest("class-lists", &[&env.file("c2.csv", "session_id,student_id\nX1,S1\nX1,S3\nX1,S4\nX1,S5\nX1,S9\n")]);
    assert_eq!(env.sql("SELECT student_id FROM attendance ORDER BY student_id")[1..], ["S1", "S5", "S9"]);
    assert_eq!(env.scalar("SELECT outcome FROM swipe_outcomes WHERE student_id = 'S2'"), "not on class list");
    assert_eq!(env.scalar("SELECT count(*) FROM class_lists"), "5");
    // A moved session changes the result too.
    env.ingest(
        "sessions",
        &[&env.file(
            "t2.csv",
            "session_id,module_code,starts_at,ends_at,room\nX1,CS101,2025-11-05T10:00:00,2025-11-05T11:00:00,R9\n",
        )],
    );
    assert_eq!(
        env.sql("SELECT student_id, room FROM attendance JOIN swipes USING (student_id, day) WHERE swipes.room = 'R9'")
            [1..],
        ["S1,R9"]
    );
}

#[test]
fn back_to_back_sessions_take_the_nearest_start() {
    let env = Env::new();
    env.ingest("sessions", &[&env.file("t.csv", "session_id,module_code,starts_at,ends_at,room\nA,M,2025-11-05T09:00:00,2025-11-05T10:00:00,R1\nB,M,2025-11-05T10:00:00,2025-11-05T11:00:00,R1\n")]);
    env.ingest("class-lists", &[&env.file("c.csv", "session_id,student_id\nA,S1\nB,S1\nA,S2\n")]);
    env.ingest("swipes", &[&env.file("s.csv", "student_id,room,swiped_at\nS1,R1,2025-11-05T08:55:00\nS1,R1,2025-11-05T09:55:00\nS2,R1,2025-11-05T09:55:00\n")]);
    assert_eq!(
        env.sql("SELECT student_id, session_id, outcome FROM swipe_outcomes ORDER BY student_id, swiped_at")[1..],
        ["S1,A,attended", "S1,B,attended", "S2,A,attended"]
    );
}

#[test]
fn swipe_at_0130_on_the_night_the_clocks_go_back() {
    let env = Env::new();
    // A session in the first 01:00-02:00 (BST) of 26 October 2025, given with its offset.
    env.ingest("sessions", &[&env.file("t.csv", "session_id,module_code,starts_at,ends_at,room\nN1,NIGHT,2025-10-26T01:00:00+01:00,2025-10-26T02:00:00+01:00,R1\n")]);
    env.ingest("class-lists", &[&env.file("c.csv", "session_id,student_id\nN1,S1\nN1,S2\n")]);
    // S1 swipes at local 01:30 (read as the first occurrence, BST); S2 at 01:30 GMT, the second one.
    env.ingest(
        "swipes",
        &[&env
            .file("s.csv", "student_id,room,swiped_at\nS1,R1,2025-10-26T01:30:00\nS2,R1,2025-10-26T01:30:00+00:00\n")],
    );
    let bst_0130 = chrono::DateTime::parse_from_rfc3339("2025-10-26T00:30:00Z").unwrap().timestamp_micros();
    assert_eq!(
        env.scalar("SELECT CAST(swiped_at AS BIGINT) FROM swipes WHERE student_id = 'S1'"),
        bst_0130.to_string()
    );
    assert_eq!(env.scalar("SELECT CAST(swiped_at AS BIGINT) - CAST(lag(swiped_at) OVER (ORDER BY swiped_at) AS BIGINT) FROM swipes QUALIFY row_number() OVER (ORDER BY swiped_at) = 2"), "3600000000");
    assert_eq!(
        env.sql("SELECT student_id, outcome FROM swipe_outcomes ORDER BY student_id")[1..],
        ["S1,attended", "S2,outside window"]
    );
    assert_eq!(env.scalar("SELECT CAST(day AS VARCHAR) FROM swipes WHERE student_id = 'S2'"), "2025-10-26");
}

#[test]
fn swipe_in_the_hour_skipped_in_march_is_refused() {
    let env = Env::new();
    let file = env.file("s.csv", "student_id,room,swiped_at\nS1,R1,2026-03-29T01:30:00\n");
    let run = env.run(&["ingest", "swipes", &file]).code(1);
    assert!(run.stderr.contains(":2: column 'swiped_at': local time does not exist"), "{}", run.stderr);
}

/// The last commit's operation in the swipe outcomes' log.
fn last_reconciliation(env: &Env) -> String {
    let log = crate::common::files_below(&env.warehouse.join("tables/swipe_outcomes/_delta_log"));
    let last = log.iter().filter(|p| p.extension().is_some_and(|e| e == "json")).max().unwrap();
    std::fs::read_to_string(last).unwrap()
}

/// A later swipe file reconciles only the days its swipes can affect, with the outcomes a
/// reconciliation of everything gives: an earlier swipe for a held session turns the held
/// one into a repeat, also across midnight (a session just after midnight counts a swipe
/// of the evening before), and the other days' outcomes stay.
#[test]
fn new_swipes_reconcile_their_days_as_reconciling_everything_would() {
    let sessions = "session_id,module_code,starts_at,ends_at,room\n\
        X1,CS101,2025-11-05T10:00:00,2025-11-05T11:00:00,R1\n\
        M1,CS102,2025-11-10T00:10:00,2025-11-10T01:00:00,R2\n\
        Y1,CS101,2025-11-20T10:00:00,2025-11-20T11:00:00,R1\n";
    let lists = "session_id,student_id\nX1,S1\nX1,S2\nM1,S1\nY1,S1\n";
    let first = "student_id,room,swiped_at\nS1,R1,2025-11-05T10:20:00\nS2,R1,2025-11-05T10:05:00\n\
        S1,R2,2025-11-10T00:30:00\nS1,R1,2025-11-20T10:00:00\n";
    let second = "student_id,room,swiped_at\nS1,R1,2025-11-05T10:10:00\nS1,R2,2025-11-09T23:50:00\n";
    let expected = [
        "S1,R1,X1,attended",
        "S1,R1,X1,repeat",
        "S1,R2,M1,attended",
        "S1,R2,M1,repeat",
        "S1,R1,Y1,attended",
        "S2,R1,X1,attended",
    ];

    let daily = Env::new();
    daily.ingest("sessions", &[&daily.file("t.csv", sessions)]);
    daily.ingest("class-lists", &[&daily.file("c.csv", lists)]);
    daily.ingest("swipes", &[&daily.file("s1.csv", first)]);
    let run = daily.ingest("swipes", &[&daily.file("s2.csv", second)]);
    assert!(run.stdout.contains("swipes reconciled: 4 attended"), "{}", run.stdout);
    assert_eq!(outcomes(&daily), expected);
    assert!(last_reconciliation(&daily).contains("reconcile new swipes' days"));

    // Class lists last: their ingest reconciles the days of every session they list.
    let whole = Env::new();
    whole.ingest("swipes", &[&whole.file("s1.csv", first), &whole.file("s2.csv", second)]);
    whole.ingest("sessions", &[&whole.file("t.csv", sessions)]);
    whole.ingest("class-lists", &[&whole.file("c.csv", lists)]);
    assert_eq!(outcomes(&whole), expected);
}

/// A class-list or timetable file reconciles only the days of the sessions it changes
/// (a moved session's old day and its new one), with the outcomes a reconciliation of
/// everything gives; the sessions of other days keep theirs.
#[test]
fn changed_sessions_and_class_lists_reconcile_their_days_as_reconciling_everything_would() {
    let sessions = "session_id,module_code,starts_at,ends_at,room\n\
        X1,CS101,2025-11-05T10:00:00,2025-11-05T11:00:00,R1\n\
        Y1,CS101,2025-11-20T10:00:00,2025-11-20T11:00:00,R1\n\
        Z1,CS102,2025-12-10T09:00:00,2025-12-10T10:00:00,R2\n";
    let lists = "session_id,student_id\nX1,S1\nX1,S2\nY1,S1\nZ1,S1\nZ1,S2\n";
    let swipes = "student_id,room,swiped_at\nS1,R1,2025-11-05T10:05:00\nS2,R1,2025-11-05T10:06:00\n\
        S1,R1,2025-11-20T10:02:00\nS2,R1,2025-11-20T10:03:00\nS1,R1,2025-11-28T14:05:00\n\
        S1,R2,2025-12-10T09:01:00\n";
    // Y1's list gains S2; then Y1 moves eight days on, to an afternoon.
    let new_list = "session_id,student_id\nY1,S1\nY1,S2\n";
    let moved = "session_id,module_code,starts_at,ends_at,room\n\
        Y1,CS101,2025-11-28T14:00:00,2025-11-28T15:00:00,R1\n";

    let env = Env::new();
    env.ingest("sessions", &[&env.file("t.csv", sessions)]);
    env.ingest("class-lists", &[&env.file("c.csv", lists)]);
    env.ingest("swipes", &[&env.file("s.csv", swipes)]);
    assert_eq!(
        outcomes(&env),
        [
            "S1,R1,X1,attended",
            "S1,R1,Y1,attended",
            "S1,R1,,no session in room",
            "S1,R2,Z1,attended",
            "S2,R1,X1,attended",
            "S2,R1,,not on class list",
        ]
    );

    env.ingest("class-lists", &[&env.file("c2.csv", new_list)]);
    assert!(last_reconciliation(&env).contains("reconcile the changed sessions' days"));
    assert_eq!(outcomes(&env)[5], "S2,R1,Y1,attended");

    env.ingest("sessions", &[&env.file("t2.csv", moved)]);
    assert!(last_reconciliation(&env).contains("reconcile the changed sessions' days"));
    let expected = [
        "S1,R1,X1,attended",
        "S1,R1,,no session in room",
        "S1,R1,Y1,attended",
        "S1,R2,Z1,attended",
        "S2,R1,X1,attended",
        "S2,R1,,no session in room",
    ];
    assert_eq!(outcomes(&env), expected);

    // The same final timetable and lists, swipes last: every swipe's day reconciled at once.
    let whole = Env::new();
    whole.ingest("sessions", &[&whole.file("t.csv", sessions), &whole.file("t2.csv", moved)]);
    whole.ingest("class-lists", &[&whole.file("c.csv", lists), &whole.file("c2.csv", new_list)]);
    whole.ingest("swipes", &[&whole.file("s.csv", swipes)]);
    assert_eq!(outcomes(&whole), expected);
}
