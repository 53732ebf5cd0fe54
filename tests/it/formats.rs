//! Export adapters (`rollcall ingest moodle-log|moodle-report|teams-attendance|xapi|lecture-capture`)
//! on fixture files written the way the real systems write them, one quirk per test, and
//! each from file to rating.

use crate::common::{Env, files_below};
use crate::fixtures::{TERMS, configure, ratings};

const STUDENTS: &str = "student_id,programme_code,department,level,stage,mode,start_date,status,email\n\
A,P1,D1,4,1,full-time,2025-09-22,active,Ann.Student@uni.ac.uk\n\
B,P1,D1,4,1,full-time,2025-09-22,active,b@uni.ac.uk\n\
C,P1,D1,4,1,full-time,2025-09-22,active,\n";

/// Identities: Moodle user ids 101 and 102, a Teams UPN for A, a Panopto login for B.
const ID_MAP: &str = "student_id,domain,identifier\n\
A,vle,101\nB,VLE,102\nA,teams,ann.s@uni.onmicrosoft.com\nB,lecture-capture,bstudent\nC,xapi,lrs-c\n";

/// A warehouse with terms, three students, their identities, and on Tuesday 7 October
/// 2025 an online CS2001 seminar 14:00-15:00 (no room) that A and B are listed for.
pub(crate) fn university() -> Env {
    let env = Env::new();
    // One event a teaching day is full engagement, so a single event shows in the rating.
    configure(&env, "activity_points_per_day = 10.0", "activity_points_per_day = 0.125");
    env.ingest("terms", &[&env.file("terms.csv", TERMS)]);
    env.ingest("students", &[&env.file("students.csv", STUDENTS)]);
    env.ingest("student-id-map", &[&env.file("map.csv", ID_MAP)]);
    env.ingest(
        "sessions",
        &[&env.file(
            "sessions.csv",
            "session_id,module_code,starts_at,ends_at,kind,delivery,room\n\
             CS2001-S1,CS2001,2025-10-07T14:00:00,2025-10-07T15:00:00,seminar,online,\n\
             CS2001-L1,CS2001,2025-10-06T10:00:00,2025-10-06T11:00:00,lecture,in-person,R1\n",
        )],
    );
    env.ingest(
        "class-lists",
        &[&env.file("lists.csv", "session_id,student_id\nCS2001-S1,A\nCS2001-S1,B\nCS2001-L1,A\nCS2001-L1,B\n")],
    );
    env
}

pub(crate) fn write_bytes(env: &Env, name: &str, bytes: &[u8]) -> String {
    let path = env.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

pub(crate) fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    out
}

pub(crate) fn activity(env: &Env) -> Vec<String> {
    env.sql(
        "SELECT student_id, CAST(occurred_at AS VARCHAR) AS at, source, count, duration_s FROM activity \
         ORDER BY student_id, occurred_at, source",
    )[1..]
        .to_vec()
}

pub(crate) const LOG_HEADER: &str = "id,eventname,component,action,target,objecttable,objectid,crud,edulevel,contextid,\
contextlevel,contextinstanceid,userid,courseid,relateduserid,anonymous,other,timecreated,origin,ip,realuserid";

/// 1759741200 = 2025-10-06 09:00:00 UTC (10:00 BST).
pub(crate) fn log_row(
    id: u32,
    event: &str,
    edulevel: u32,
    user: &str,
    anonymous: &str,
    time: i64,
    real: &str,
) -> String {
    format!(
        "{id},{event},core,viewed,course,\\N,\\N,r,{edulevel},5,50,3,{user},3,\\N,{anonymous},\"{{\"\"note\"\":\"\"a, b\"\"}}\",{time},web,10.1.2.3,{real}"
    )
}

#[test]
fn moodle_log_keeps_only_students_own_participation_and_never_stores_ip_or_other() {
    let env = university();
    let rows = [
        log_row(1, "\\core\\event\\course_viewed", 2, "101", "0", 1759741200, "\\N"),
        // Same student, same second: one activity row with count 2.
        log_row(2, "\\mod_page\\event\\course_module_viewed", 2, "101", "0", 1759741200, "NULL"),
        log_row(3, "\\mod_assign\\event\\assessable_submitted", 2, "102", "0", 1759744800, ""),
        // A teacher's event (edulevel 1), an admin logged in as A, an anonymous event,
        // a system event and a user nobody maps.
        log_row(4, "\\core\\event\\course_viewed", 1, "101", "0", 1759741300, ""),
        log_row(5, "\\core\\event\\course_viewed", 2, "101", "0", 1759741300, "2"),
        log_row(6, "\\mod_feedback\\event\\response_submitted", 2, "101", "1", 1759741300, ""),
        log_row(7, "\\core\\event\\course_viewed", 2, "0", "0", 1759741300, ""),
        log_row(8, "\\core\\event\\course_viewed", 2, "999", "0", 1759741300, ""),
    ];
    // CRLF line endings, as a Windows export writes them.
    let file = env.file("log.csv", &format!("{LOG_HEADER}\r\n{}\r\n", rows.join("\r\n")));
    let run = env.ingest("moodle-log", &[&file]);
    assert!(run.stdout.contains("8 rows read = 3 kept +"), "{}", run.stdout);
    crate::exports::balanced(&run.stdout);
    assert!(run.stdout.contains("1 dropped: done by another user logged in as the student"), "{}", run.stdout);
    assert!(run.stdout.contains("1 dropped: anonymous event"), "{}", run.stdout);
    assert!(run.stdout.contains("1 dropped: not the student's participation (edulevel is not 2)"), "{}", run.stdout);
    assert!(run.stdout.contains("1 dropped: no user (system event)"), "{}", run.stdout);
    assert!(run.stdout.contains("1 not mapped to a student (domain vle)"), "{}", run.stdout);
    assert!(run.stdout.contains("2 activity rows added"), "{}", run.stdout);
    assert_eq!(activity(&env), ["A,2025-10-06T09:00:00Z,vle,2,", "B,2025-10-06T10:00:00Z,submission,1,"]);
    // Neither the IP address nor the `other` column reaches any file of the warehouse.
    for path in files_below(&env.warehouse) {
        let text = crate::privacy::text_of(&path);
        assert!(!text.contains("10.1.2.3") && !text.contains("a, b"), "{} holds ip or other", path.display());
    }
    // The same file again adds nothing.
    let again = env.ingest("moodle-log", &[&file]);
    assert!(again.stderr.contains("already ingested"), "{}", again.stderr);
    // From file to rating: A engaged on Monday 6 October, C did not.
    env.run(&["rate", "--as-of", "2025-10-06"]).ok();
    assert_ne!(ratings(&env, "A", "2025-10-06", "2025-10-06"), ["2025-10-06 Very Low"]);
    assert_eq!(ratings(&env, "C", "2025-10-06", "2025-10-06"), ["2025-10-06 Very Low"]);
}

#[test]
fn moodle_log_of_an_old_site_without_anonymous_and_with_a_trailing_empty_column() {
    let env = university();
    let header = LOG_HEADER.replace("anonymous,", "");
    let row = "1,\\core\\event\\course_viewed,core,viewed,course,,,r,2,5,50,3,101,3,,,1759741200,web,10.0.0.1,,";
    let file = env.file("old.csv", &format!("{header}\n{row}\n"));
    let run = env.ingest("moodle-log", &[&file]);
    assert!(run.stdout.contains("1 rows read = 1 kept +"), "{}", run.stdout);
    crate::exports::balanced(&run.stdout);
    assert_eq!(activity(&env), ["A,2025-10-06T09:00:00Z,vle,1,"]);
}

#[test]
fn a_malformed_moodle_row_refuses_the_file_naming_line_and_field_and_leaves_nothing() {
    let env = university();
    let files_before = files_below(&env.warehouse.join("tables/activity")).len();
    let good = log_row(1, "\\core\\event\\course_viewed", 2, "101", "0", 1759741200, "");
    let bad = log_row(2, "\\core\\event\\course_viewed", 2, "101", "0", 0, "").replace(",0,web,", ",yesterday,web,");
    let file = env.file("bad.csv", &format!("{LOG_HEADER}\n{good}\n{bad}\n"));
    let run = env.run(&["ingest", "moodle-log", &file]).code(1);
    assert!(run.stderr.contains("bad.csv:3: field 'timecreated': not Unix seconds"), "{}", run.stderr);
    assert!(!run.stderr.contains("yesterday"), "a value was quoted: {}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM activity"), "0");
    // No file was left behind by the refused ingest.
    assert_eq!(files_below(&env.warehouse.join("tables/activity")).len(), files_before);
    // With --quarantine the good row is committed and the bad one written aside.
    let run = env.run(&["ingest", "moodle-log", "--quarantine", &file]).ok();
    assert!(run.stderr.contains("quarantined to"), "{}", run.stderr);
    assert_eq!(activity(&env), ["A,2025-10-06T09:00:00Z,vle,1,"]);
    let rejects = std::fs::read_to_string(env.dir.path().join("bad.csv.rejects.csv")).unwrap();
    assert!(rejects.starts_with("line,problems,id,eventname"), "{rejects}");
    assert!(rejects.contains("3,timecreated: not Unix seconds,2,"), "{rejects}");
}

/// 300 events over 40 seconds for two users, with repeats at the same second; `shuffled`
/// puts them out of time order. Returns the file text and the true count per key.
fn long_log(shuffled: bool) -> (String, std::collections::BTreeMap<(&'static str, u64), u32>) {
    let mut events = Vec::new();
    let mut state = 7u64;
    for _ in 0..300u32 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let second = (state >> 33) % 40;
        let user = if (state >> 20).is_multiple_of(2) { "101" } else { "102" };
        events.push((second, user, state));
    }
    if shuffled {
        events.sort_by_key(|e| e.2);
    } else {
        events.sort_by_key(|e| e.0);
    }
    let mut expected = std::collections::BTreeMap::new();
    let mut rows = Vec::new();
    for (id, (second, user, _)) in events.into_iter().enumerate() {
        rows.push(log_row(id as u32, "\\core\\event\\course_viewed", 2, user, "0", 1759741200 + second as i64, ""));
        *expected.entry((if user == "101" { "A" } else { "B" }, second)).or_insert(0) += 1;
    }
    (format!("{LOG_HEADER}\n{}\n", rows.join("\n")), expected)
}

/// Ingests with the sink writing every four distinct keys, and returns `student,second,count` rows.
fn ingest_in_chunks_of_four(env: &Env, text: &str) -> Vec<String> {
    let file = env.file("long.csv", text);
    let mut cmd = crate::common::rollcall_command();
    cmd.args(["--warehouse", &env.warehouse.to_string_lossy(), "ingest", "moodle-log", &file]);
    cmd.env("ROLLCALL_CHUNK_KEYS", "4");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // One commit for the whole file, however many files were written.
    let commits = files_below(&env.warehouse.join("tables/activity/_delta_log"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .count();
    assert_eq!(commits, 2, "table creation and one ingest commit");
    env.sql("SELECT student_id, CAST(occurred_at AS BIGINT) / 1000000 - 1759741200, count FROM activity ORDER BY 1, 2")
        [1..]
        .to_vec()
}

#[test]
fn a_long_time_ordered_moodle_log_streamed_in_small_chunks_gives_the_whole_file_counts() {
    let (text, expected) = long_log(false);
    let env = university();
    let got = ingest_in_chunks_of_four(&env, &text);
    let want: Vec<String> = expected.iter().map(|((s, sec), n)| format!("{s},{sec},{n}")).collect();
    assert_eq!(got, want);
    assert!(files_below(&env.warehouse.join("tables/activity")).len() > 10, "written in many chunks");
}

#[test]
fn a_shuffled_moodle_log_streamed_in_small_chunks_never_writes_a_key_twice() {
    // Out of time order, a key met again after its chunk was written adds nothing (as
    // with a key held from an earlier file): every key once, no count above the truth.
    let (text, expected) = long_log(true);
    let env = university();
    let got = ingest_in_chunks_of_four(&env, &text);
    let keys: Vec<String> = got.iter().map(|r| r.rsplit_once(',').unwrap().0.to_string()).collect();
    let want: Vec<String> = expected.keys().map(|(s, sec)| format!("{s},{sec}")).collect();
    assert_eq!(keys, want);
    for row in &got {
        let (key, n) = row.rsplit_once(',').unwrap();
        let (s, sec) = key.split_once(',').unwrap();
        let truth = expected[&(if s == "A" { "A" } else { "B" }, sec.parse::<u64>().unwrap())];
        assert!(n.parse::<u32>().unwrap() <= truth, "{row} above {truth}");
    }
}

#[test]
fn moodle_report_with_bom_day_first_times_and_ids_from_the_description() {
    let env = university();
    let text = "\u{feff}Time,User full name,Affected user,Event context,Component,Event name,Description,Origin,IP address\n\
        \"6/10/25, 10:30:46\",\"Student, Ann\",-,Course: Algorithms,System,Course viewed,\"The user with id '101' viewed the course with id '3'.\",web,10.1.2.3\n\
        \"6/10/25, 11:00:00\",Bee Student,-,Assignment: Essay,Assignment,A submission has been submitted.,\"The user with id '102' has submitted the submission with id '9' for the assignment with course module id '12'.\",web,10.1.2.4\n\
        \"6/10/25, 11:05:00\",Someone,-,Course: Algorithms,System,Course viewed,\"The user with id '555' viewed the course with id '3'.\",web,10.1.2.5\n";
    let file = env.file("logs.csv", text);
    let run = env.ingest("moodle-report", &[&file]);
    assert!(run.stdout.contains("3 rows read = 2 kept +"), "{}", run.stdout);
    crate::exports::balanced(&run.stdout);
    assert!(run.stdout.contains("1 not mapped to a student (domain vle)"), "{}", run.stdout);
    // 6 October 10:30:46 BST is 09:30:46 UTC.
    assert_eq!(activity(&env), ["A,2025-10-06T09:30:46Z,vle,1,", "B,2025-10-06T10:00:00Z,submission,1,"]);
    env.run(&["rate", "--as-of", "2025-10-06"]).ok();
    assert_ne!(ratings(&env, "A", "2025-10-06", "2025-10-06"), ["2025-10-06 Very Low"]);

    // Month-first sites: the same text read as 10 June.
    let us = university();
    configure(&us, "moodle_report_month_first = false", "moodle_report_month_first = true");
    us.ingest("moodle-report", &[&us.file("logs.csv", text)]);
    assert_eq!(us.scalar("SELECT CAST(min(day) AS VARCHAR) FROM activity"), "2025-06-10");
}

fn teams_report(title: &str, header: &str, rows: &[&str]) -> String {
    format!(
        "1. Summary\r\nMeeting title\t{title}\r\nAttended participants\t{}\r\nStart time\t07/10/2025, 13:58:12\r\n\
         End time\t07/10/2025, 15:02:45\r\nMeeting duration\t1h 4m 33s\r\n\r\n2. Participants\r\n{header}\r\n{}\r\n\r\n\
         3. In-Meeting Activities\r\nName\tJoin Time\tLeave Time\tDuration\tEmail\tRole\r\n\
         \"Student, Ann\"\t07/10/2025, 13:58:12\t07/10/2025, 15:01:00\t1h 2m 48s\tAnn.Student@uni.ac.uk\tAttendee\r\n",
        rows.len(),
        rows.join("\r\n")
    )
}

const PARTICIPANTS: &str = "Name\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole";

#[test]
fn teams_report_in_utf16_le_matching_a_timetabled_online_session_is_attendance() {
    let env = university();
    let text = teams_report(
        "CS2001 Seminar week 2",
        PARTICIPANTS,
        &[
            "\"Student, Ann\"\t07/10/2025, 13:58:12\t07/10/2025, 15:01:00\t1h 2m 48s\tAnn.Student@uni.ac.uk\tann.s@uni.onmicrosoft.com\tAttendee",
            "Dr Tutor\t07/10/2025, 13:55:00\t07/10/2025, 15:02:45\t1h 7m 45s\ttutor@uni.ac.uk\ttutor@uni.ac.uk\tOrganizer",
        ],
    );
    let file = write_bytes(&env, "attendance.csv", &utf16(&text, false));
    let run = env.ingest("teams-attendance", &[&file]);
    assert!(run.stdout.contains("1 attendances added"), "{}", run.stdout);
    assert!(run.stdout.contains("1 not mapped to a student (domain teams)"), "{}", run.stdout);
    assert!(run.stdout.contains("1 dropped: per-join detail"), "{}", run.stdout);
    assert_eq!(
        env.sql("SELECT student_id, session_id, outcome FROM swipe_outcomes")[1..],
        ["A,CS2001-S1,attended".to_string()]
    );
    // From file to rating: A's attendance of the seminar counts on 7 October.
    env.run(&["rate", "--as-of", "2025-10-07"]).ok();
    assert_eq!(env.scalar("SELECT attended FROM ratings WHERE student_id = 'A' AND day = DATE '2025-10-07'"), "1");
    assert_eq!(env.scalar("SELECT attended FROM ratings WHERE student_id = 'B' AND day = DATE '2025-10-07'"), "0");
}

#[test]
fn teams_report_in_utf16_be_with_lower_case_headers_and_no_matching_session_is_online_meeting_activity() {
    let env = university();
    let header = PARTICIPANTS.to_lowercase();
    let text = teams_report(
        "Study group",
        &header,
        &["Bee Student\t07/10/2025, 13:58:12\t07/10/2025, 14:28:12\t30m 0s\tb@uni.ac.uk\tb@uni.ac.uk\tAttendee\t"],
    );
    let file = write_bytes(&env, "study.csv", &utf16(&text, true));
    let run = env.ingest("teams-attendance", &[&file]);
    assert!(run.stdout.contains("1 activity rows added"), "{}", run.stdout);
    // 13:58:12 BST is 12:58:12 UTC; 30 minutes in the meeting.
    assert_eq!(activity(&env), ["B,2025-10-07T12:58:12Z,online-meeting,1,1800"]);
}

#[test]
fn a_teams_row_with_spaces_instead_of_tabs_is_refused_by_line() {
    let env = university();
    let text = teams_report(
        "CS2001 Seminar",
        PARTICIPANTS,
        &["Bee Student 07/10/2025, 13:58:12 07/10/2025, 14:28:12 30m 0s b@uni.ac.uk b@uni.ac.uk Attendee"],
    );
    let file = write_bytes(&env, "spaces.csv", &utf16(&text, false));
    let run = env.run(&["ingest", "teams-attendance", &file]).code(1);
    // Line 10: summary (6 lines), a blank, the section title, the header, then the row.
    assert!(run.stderr.contains("spaces.csv:10: fields are separated by spaces, not tabs"), "{}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM swipes"), "0");
}

#[test]
fn a_teams_mapping_names_the_session_and_the_older_single_table_report_is_read() {
    let env = university();
    // The title carries no module code; the mapping says which module it is.
    configure(
        &env,
        "# [[formats.teams_meetings]]",
        "[[formats.teams_meetings]]\ntitle = \"Weekly seminar\"\nmodule_code = \"CS2001\"\n# [[formats.teams_meetings]]",
    );
    let legacy = "Full Name\tUser Action\tTimestamp\r\n\
        Ann.Student@uni.ac.uk\tJoined\t10/7/2025, 1:59:00 PM\r\n\
        Ann.Student@uni.ac.uk\tLeft\t10/7/2025, 2:50:00 PM\r\n";
    let file = write_bytes(&env, "Weekly seminar.csv", &utf16(legacy, false));
    let run = env.ingest("teams-attendance", &[&file]);
    assert!(run.stdout.contains("1 attendances added"), "{}", run.stdout);
    assert_eq!(
        env.sql("SELECT student_id, session_id, outcome FROM swipe_outcomes")[1..],
        ["A,CS2001-S1,attended".to_string()]
    );
}

#[test]
fn xapi_statements_by_account_and_mbox_with_attendance_from_completion() {
    let env = university();
    let lines = [
        r#"{"actor":{"account":{"homePage":"https://lrs.uni.ac.uk","name":"lrs-c"}},"verb":{"id":"https://brindlewaye.com/xAPITerms/verbs/loggedin/"},"object":{"id":"https://vle.uni.ac.uk","definition":{"type":"http://activitystrea.ms/schema/1.0/application"}},"timestamp":"2025-10-06T08:00:00Z"}"#,
        r#"{"actor":{"mbox":"mailto:b@uni.ac.uk"},"verb":{"id":"http://id.tincanapi.com/verb/viewed"},"object":{"id":"https://panopto.uni.ac.uk/session/9","definition":{"type":"http://activitystrea.ms/schema/1.0/video"}},"result":{"duration":"PT10M"},"timestamp":"2025-10-06T09:00:00+01:00"}"#,
        r#"{"actor":{"account":{"name":"A"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/attended"},"object":{"id":"https://timetable.uni.ac.uk/event/CS2001-S1"},"result":{"completion":true},"timestamp":"2025-10-07T13:05:00Z"}"#,
        r#"{"actor":{"account":{"name":"B"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/attended"},"object":{"id":"https://timetable.uni.ac.uk/event/CS2001-S1"},"result":{"completion":false},"timestamp":"2025-10-07T13:05:00Z"}"#,
        r#"{"actor":{"account":{"name":"A"}},"verb":{"id":"http://activitystrea.ms/schema/1.0/borrow"},"object":{"id":"urn:isbn:9780262033848"},"timestamp":"2025-10-08T12:00:00Z"}"#,
        r#"{"actor":{"account":{"name":"nobody"}},"verb":{"id":"http://id.tincanapi.com/verb/viewed"},"object":{"id":"x"},"timestamp":"2025-10-08T12:00:00Z"}"#,
        "",
    ];
    let file = env.file("statements.jsonl", &lines.join("\n"));
    let run = env.ingest("xapi", &[&file]);
    assert!(run.stdout.contains("6 rows read = 4 kept +"), "{}", run.stdout);
    crate::exports::balanced(&run.stdout);
    assert!(run.stdout.contains("1 dropped: attendance statement marking an absence"), "{}", run.stdout);
    assert!(run.stdout.contains("1 not mapped to a student (domain xapi)"), "{}", run.stdout);
    assert_eq!(
        activity(&env),
        [
            "A,2025-10-08T12:00:00Z,library,1,",
            "B,2025-10-06T08:00:00Z,lecture-capture,1,600",
            "C,2025-10-06T08:00:00Z,vle,1,"
        ]
    );
    assert_eq!(
        env.sql("SELECT student_id, session_id, outcome FROM swipe_outcomes")[1..],
        ["A,CS2001-S1,attended".to_string()]
    );
    env.run(&["rate", "--as-of", "2025-10-08"]).ok();
    assert_ne!(ratings(&env, "C", "2025-10-06", "2025-10-06"), ["2025-10-06 Very Low"]);

    // A line that is not JSON is refused by line.
    let bad = env.file("bad.jsonl", "{\"actor\":\n");
    let run = env.run(&["ingest", "xapi", &bad]).code(1);
    assert!(run.stderr.contains("bad.jsonl:1: not a JSON statement"), "{}", run.stderr);
}

#[test]
fn lecture_capture_export_with_us_times_provider_logins_and_quoted_commas() {
    let env = university();
    let text = "Timestamp,UserName,Session Name,Minutes Watched\r\n\
        10/6/2025 1:44:52 PM,UniSSO\\bstudent,\"Lecture 3: Graphs, Trees\",12.5\r\n\
        10/6/2025 2:00:00 PM,Ann.Student@uni.ac.uk,\"Lecture 3: Graphs, Trees\",0\r\n\
        10/6/2025 2:00:00 PM,stranger,\"Lecture 3: Graphs, Trees\",3\r\n";
    let file = env.file("viewing.csv", text);
    let run = env.ingest("lecture-capture", &[&file]);
    assert!(
        run.stdout.contains("3 rows read = 1 kept + 1 dropped + 1 unmapped + 0 rejected; 1 dropped: nothing watched"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("1 not mapped to a student (domain lecture-capture)"), "{}", run.stdout);
    // 1:44:52 PM BST on 6 October is 12:44:52 UTC; 12.5 minutes is 750 seconds.
    assert_eq!(activity(&env), ["B,2025-10-06T12:44:52Z,lecture-capture,1,750"]);
    env.run(&["rate", "--as-of", "2025-10-06"]).ok();
    assert_ne!(ratings(&env, "B", "2025-10-06", "2025-10-06"), ["2025-10-06 Very Low"]);
}

/// `rollcall demo --formats real` writes the demo's activity as Moodle log, lecture-capture
/// export, xAPI statements and Teams reports, reads them through the adapters, and ends
/// with the same activity and the same ratings as the interchange route.
#[test]
fn demo_real_formats_give_the_same_ratings_as_interchange() {
    let dir = tempfile::tempdir().unwrap();
    let mut tables = Vec::new();
    for formats in ["interchange", "real"] {
        let demo = dir.path().join(formats);
        let out = crate::common::rollcall_command()
            .args(["demo", "--students", "40", "--seed", "11", "--formats", formats, "--dir"])
            .arg(&demo)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{formats}: {}", String::from_utf8_lossy(&out.stderr));
        if formats == "real" {
            for name in
                ["ingested moodle-log", "ingested lecture-capture", "ingested xapi", "ingested teams-attendance"]
            {
                assert!(stdout.contains(name), "{name} missing:\n{stdout}");
            }
            assert!(demo.join("input/real/moodle-log-001.csv").exists());
        }
        let query = |q: &str| {
            let out = crate::common::rollcall_command()
                .arg("--warehouse")
                .arg(demo.join("warehouse"))
                .args(["--format", "csv", "sql", q])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        tables.push((
            query("SELECT student_id, occurred_at, source, count, duration_s FROM activity ORDER BY 1, 2, 3"),
            query("SELECT student_id, day, rating, round(score, 9) AS score FROM ratings ORDER BY 1, 2"),
        ));
    }
    assert!(tables[0].1.lines().count() > 1000, "ratings were made");
    assert_eq!(tables[0].0, tables[1].0, "activity differs");
    assert_eq!(tables[0].1, tables[1].1, "ratings differ");
}

/// A Jisc UDD folder (tab-separated, CRLF, a trailing empty column) becomes terms,
/// students, identity maps, sessions and class lists; a Moodle log then maps through the
/// students' VLE_ID, and the student is rated.
#[test]
fn jisc_udd_folder_becomes_terms_students_sessions_class_lists_and_identities() {
    let env = Env::new();
    configure(&env, "activity_points_per_day = 10.0", "activity_points_per_day = 0.125");
    let udd = env.dir.path().join("udd");
    std::fs::create_dir_all(&udd).unwrap();
    let write = |name: &str, rows: &[&str]| std::fs::write(udd.join(name), rows.join("\r\n") + "\r\n").unwrap();
    write(
        "period.tsv",
        &[
            "PERIOD_ID\tACADEMIC_YEAR\tPERIOD_TYPE\tPERIOD_NAME\tPERIOD_START_DATE\tPERIOD_END_DATE",
            "AY25\t2025\tACADEMIC_YEAR\tAY 2025/26\t2025-09-01\t2026-08-31",
            "T1\t2025\tTERM\tautumn\t2025-09-29\t2025-12-12",
            "T2\t2025\tTERM\tspring\t2026-01-12\t2026-03-27",
        ],
    );
    write(
        "STUDENT.tsv",
        &[
            "STUDENT_ID\tFIRST_NAME\tLAST_NAME\tPRIMARY_EMAIL_ADDRESS\tDOB\tVLE_ID\t",
            "U1\t\"Ann, Jr\"\tStudent\tu1@uni.ac.uk\t2006-05-01\t501\t",
            "U2\tBee\tStudent\tu2@uni.ac.uk\t2005-01-01\t502\t",
        ],
    );
    write(
        "student_on_course_instance.tsv",
        &[
            "STUDENT_ON_COURSE_INSTANCE_ID\tCOURSE_INSTANCE_ID\tSTUDENT_ID\tMODE\tYEAR_PRG\tPROGRESSION\tLOCATION_OF_STUDY\tACADEMIC_YEAR",
            "1\tCI-OLD\tU1\t1\t1\t10\t1\t2024",
            "2\tCI-BSC\tU1\t1\t2\t10\t1\t2025",
            "3\tCI-MSC\tU2\t31\t1\t60\t6\t2025",
        ],
    );
    write(
        "course_instance.tsv",
        &[
            "COURSE_INSTANCE_ID\tCOURSE_ID\tSTART_DATE\tEND_DATE\tACADEMIC_YEAR",
            "CI-OLD\tBSC-CS\t2024-09-23\t2025-06-13\t2024",
            "CI-BSC\tBSC-CS\t2025-09-22\t2026-06-12\t2025",
            "CI-MSC\tMSC-DS\t2025-09-22\t2026-09-30\t2025",
        ],
    );
    write(
        "course.tsv",
        &[
            "COURSE_ID\tTITLE\tCOURSE_AIM\tINST_TIER_1\tINST_TIER_2",
            "BSC-CS\tComputer Science\tH00\tFaculty of Science\tComputer Science",
            "MSC-DS\tData Science\tM00\tFaculty of Science\t",
        ],
    );
    write("module_instance.tsv", &["MOD_INSTANCE_ID\tMOD_ID\tMOD_ONLINE\tMOD_ACADEMIC_YEAR", "MI1\tCS2001\t2\t2025"]);
    write(
        "event.tsv",
        &[
            "EVENT_ID\tEVENT_NAME\tEVENT_START\tEVENT_END\tROOM_ID\tEVENT_TYPE\tEVENT_TYPE_RAW\tMOD_INSTANCE_ID",
            "E1\tLecture 1\t2025-10-06T09:00:00Z\t2025-10-06T10:00:00Z\tR1\t13\tLecture\tMI1",
        ],
    );
    write("student_event.tsv", &["STUDENT_EVENT_ID\tEVENT_ID\tSTUDENT_ID", "SE1\tE1\tU1", "SE2\tE1\tU2"]);
    write(
        "student_id_map.tsv",
        &["STUDENT_ID_MAP_ID\tSTUDENT_ID\tDOMAIN\tDOMAIN_MAPPED_ID", "M1\tU1\tTEAMS\tu1@uni.onmicrosoft.com"],
    );
    let run = env.ingest("jisc-udd", &[&udd.to_string_lossy()]);
    assert!(run.stdout.contains("ingested terms: 1 file(s), 2 rows read, 2 added"), "{}", run.stdout);
    assert!(run.stdout.contains("ingested class-lists: 1 file(s), 2 rows read, 2 added"), "{}", run.stdout);
    assert_eq!(
        env.sql("SELECT student_id, programme_code, department, level, stage, mode, CAST(start_date AS VARCHAR) AS s, status, given_name FROM students ORDER BY 1")[1..],
        [
            "U1,BSC-CS,Computer Science,6,2,full-time,2025-09-22,active,\"Ann, Jr\"".to_string(),
            "U2,MSC-DS,Faculty of Science,7,1,distance,2025-09-22,intermitted,Bee".to_string()
        ]
    );
    assert_eq!(
        env.sql("SELECT student_id, domain, identifier FROM student_id_map ORDER BY 1, 2")[1..],
        ["U1,teams,u1@uni.onmicrosoft.com".to_string(), "U1,vle,501".to_string(), "U2,vle,502".to_string()]
    );
    assert_eq!(env.scalar("SELECT module_code || ' ' || room || ' ' || kind FROM sessions"), "CS2001 R1 Lecture");
    // The staging files are gone.
    assert!(!env.warehouse.join("tmp").read_dir().is_ok_and(|mut d| d.next().is_some()));
    // From file to rating: a Moodle event of user 501 is U1's.
    let log = env.file(
        "log.csv",
        &format!("{LOG_HEADER}\n{}\n", log_row(1, "\\core\\event\\course_viewed", 2, "501", "0", 1759741200, "")),
    );
    env.ingest("moodle-log", &[&log]);
    env.run(&["rate", "--as-of", "2025-10-06"]).ok();
    assert_ne!(ratings(&env, "U1", "2025-10-06", "2025-10-06"), ["2025-10-06 Very Low"]);

    // A bad date in a course instance is refused against the UDD file, line and property.
    write(
        "course_instance.tsv",
        &[
            "COURSE_INSTANCE_ID\tCOURSE_ID\tSTART_DATE\tEND_DATE\tACADEMIC_YEAR",
            "CI-BSC\tBSC-CS\t22/09/2025\t2026-06-12\t2025",
            "CI-MSC\tMSC-DS\t2025-09-22\t2026-09-30\t2025",
        ],
    );
    let run = env.run(&["ingest", "jisc-udd", &udd.to_string_lossy()]).code(1);
    assert!(run.stderr.contains("STUDENT.tsv:2: column 'START_DATE (course_instance)'"), "{}", run.stderr);
}
