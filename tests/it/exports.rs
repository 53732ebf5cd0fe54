//! Export files as the real systems write them (issue "Exports as the real systems write
//! them"). Each fixture is built from the published specification named on its test, not
//! from the adapter's own reading of it.

use crate::common::Env;

/// Writes a UDD file (tab-separated, CRLF line ends, as the specification's TSV).
fn udd_file(dir: &std::path::Path, name: &str, rows: &[&str]) {
    std::fs::write(dir.join(name), rows.join("\r\n") + "\r\n").unwrap();
}

/// Jisc UDD v1.6 (github.com/jiscdev/analytics-udd, released 1 August 2020): files named by
/// `implementation/filename_conventions.md` (`courseinstance.tsv`, `studentcourseinstance.tsv`,
/// `moduleinstance.tsv`, `studentevent.tsv`, `studentidmap.tsv`); `udd/student_id_map.md`
/// (DOMAIN, IDENTIFIER; `VLE` the reserved domain of the primary VLE); `udd/event.md` (no
/// MOD_INSTANCE_ID since v1.5.1: `udd/student_event.md` carries it; EVENT_START as
/// `YYYY-MM-DDThh:mm[:ss.mmm]Z`); `udd/period.md` (PERIOD_CODE, `ACADYR` for the academic
/// year, institution codes for the others, no period type).
pub(crate) fn udd_v16(env: &Env) -> std::path::PathBuf {
    let udd = env.dir.path().join("udd16");
    std::fs::create_dir_all(&udd).unwrap();
    udd_file(
        &udd,
        "period.tsv",
        &[
            "PERIOD_ID\tPERIOD_CODE\tACADEMIC_YEAR\tPERIOD_NAME\tPERIOD_START_DATE\tPERIOD_END_DATE\tPROVIDED_AT",
            "P0\tACADYR\t2025\tAcademic year 2025-26\t2025-09-01\t2026-08-31\t",
            "P1\tAUT\t2025\tAutumn Term, AY 2025-26\t2025-09-29\t2025-12-12\t",
            "P2\tSPR\t2025\tSpring Term, AY 2025-26\t2026-01-12\t2026-03-27\t",
            "P3\tSUM\t2025\tSummer Term, AY 2025-26\t2026-04-20\t2026-06-12\t",
            "P4\tTRMS1+2\t2025\tAutumn and Spring, AY 2025-26\t2025-09-29\t2026-03-27\t",
        ],
    );
    udd_file(
        &udd,
        "student.tsv",
        &[
            "STUDENT_ID\tDOB\tETHNICITY\tVLE_ID\tLAST_NAME\tFIRST_NAME\tPRIMARY_EMAIL_ADDRESS\tPROVIDED_AT",
            "U1\t2006-05-01\t\t\tStudent\tAnn\tu1@uni.ac.uk\t",
            "U2\t2005-01-01\t\t\tStudent\tBee\tu2@uni.ac.uk\t",
        ],
    );
    udd_file(
        &udd,
        "studentcourseinstance.tsv",
        &[
            "STUDENT_ON_COURSE_INSTANCE_ID\tSTUDENT_COURSE_MEMBERSHIP_ID\tCOURSE_INSTANCE_ID\tSTUDENT_ID\tMODE\tYEAR_PRG\tPROGRESSION\tLOCATION_OF_STUDY\tACADEMIC_YEAR",
            "SCI1\tSCM1\tCI-BSC\tU1\t01\t1\t\t1\t2025",
            "SCI2\tSCM2\tCI-BSC\tU2\t31\t1\t\t1\t2025",
        ],
    );
    udd_file(
        &udd,
        "courseinstance.tsv",
        &[
            "COURSE_INSTANCE_ID\tCOURSE_ID\tSTART_DATE\tEND_DATE\tACADEMIC_YEAR\tCOMMENCEMENT_PERIOD",
            "CI-BSC\tBSC-CS\t2025-09-22\t2028-06-16\t2025\tAUT",
        ],
    );
    udd_file(
        &udd,
        "course.tsv",
        &[
            "COURSE_ID\tTENANT_ID\tTITLE\tCOURSE_AIM\tINST_TIER_1\tINST_TIER_2",
            "BSC-CS\tT\tComputer Science\tH00\tFaculty of Science\tComputer Science",
        ],
    );
    udd_file(
        &udd,
        "moduleinstance.tsv",
        &["MOD_INSTANCE_ID\tMOD_ID\tMOD_PERIOD\tMOD_ONLINE\tMOD_ACADEMIC_YEAR", "MI1\tCS1001\tAUT\t0\t2025"],
    );
    udd_file(
        &udd,
        "event.tsv",
        &[
            "EVENT_ID\tEVENT_NAME\tEVENT_DATA_SOURCE\tEVENT_DESCRIPTION\tEVENT_START\tEVENT_END\tEVENT_LOCATION\tROOM_ID\tEVENT_TYPE\tEVENT_TYPE_RAW",
            "E1\tCS1001 Lecture 1\tScientia\t\t2025-10-06T09:00Z\t2025-10-06T10:00Z\tMain building\tR1\t\tLecture",
            "E2\tWelcome talk\tScientia\t\t2025-09-29T14:00:00.000Z\t2025-09-29T15:00:00.000Z\tHall\tHALL\t\tTalk",
        ],
    );
    udd_file(
        &udd,
        "studentevent.tsv",
        &[
            "STUDENT_EVENT_ID\tEVENT_ID\tSTUDENT_ID\tMOD_INSTANCE_ID\tCOURSE_INSTANCE_ID",
            "SE1\tE1\tU1\tMI1\tCI-BSC",
            "SE2\tE1\tU2\tMI1\tCI-BSC",
            "SE3\tE2\tU1\t\tCI-BSC",
        ],
    );
    udd_file(
        &udd,
        "studentidmap.tsv",
        &[
            "STUDENT_ID_MAP_ID\tSTUDENT_ID\tDOMAIN\tIDENTIFIER\tPROVIDED_AT",
            "M1\tU1\tVLE\t501\t",
            "M2\tU2\tVLE\t502\t",
            "M3\tU1\tScientia\tann.student\t",
        ],
    );
    udd
}

/// "Files named by Jisc's own conventions are ignored", "the identity map reads
/// DOMAIN_MAPPED_ID", "sessions read event.MOD_INSTANCE_ID", "terms filter on
/// PERIOD_TYPE": a v1.6 folder loads whole.
#[test]
fn a_udd_v16_folder_named_by_jiscs_convention_loads_whole() {
    let env = Env::new();
    let udd = udd_v16(&env);
    let run = env.ingest("jisc-udd", &[&udd.to_string_lossy()]);
    assert!(run.stdout.contains("UDD student_on_course_instance (studentcourseinstance.tsv or student_on_course_instance.tsv): found (studentcourseinstance.tsv)"), "{}", run.stdout);
    assert!(run.stdout.contains("UDD student_on_a_module_instance (studentmoduleinstance.tsv or student_on_a_module_instance.tsv): absent, optional"), "{}", run.stdout);
    // The three terms; not the academic year, not the two-term period that holds two of them.
    assert_eq!(
        env.sql("SELECT term, CAST(starts_on AS VARCHAR) AS s FROM terms ORDER BY starts_on")[1..],
        [
            "\"Autumn Term, AY 2025-26\",2025-09-29",
            "\"Spring Term, AY 2025-26\",2026-01-12",
            "\"Summer Term, AY 2025-26\",2026-04-20"
        ]
    );
    assert_eq!(
        env.sql("SELECT student_id, programme_code, department, level, mode, CAST(start_date AS VARCHAR) AS s FROM students ORDER BY 1")[1..],
        ["U1,BSC-CS,Computer Science,6,full-time,2025-09-22", "U2,BSC-CS,Computer Science,6,part-time,2025-09-22"]
    );
    assert_eq!(
        env.sql("SELECT student_id, domain, identifier FROM student_id_map ORDER BY 1, 2")[1..],
        ["U1,scientia,ann.student", "U1,vle,501", "U2,vle,502"]
    );
    // The lecture's module comes from student_event; the welcome talk has none.
    assert_eq!(
        env.sql("SELECT session_id, module_code, CAST(starts_at AS VARCHAR) AS s FROM sessions ORDER BY 1")[1..],
        ["E1,CS1001,2025-10-06T09:00:00Z", "E2,no module,2025-09-29T14:00:00Z"]
    );
    assert_eq!(env.scalar("SELECT count(*) FROM class_lists"), "3");
}

/// A folder whose student file needs a course-instance file it lacks is refused up front,
/// naming the file needed in both styles and why, not row by row.
#[test]
fn a_udd_folder_missing_a_required_file_says_which_and_why() {
    let env = Env::new();
    let udd = udd_v16(&env);
    std::fs::remove_file(udd.join("courseinstance.tsv")).unwrap();
    let run = env.run(&["ingest", "jisc-udd", &udd.to_string_lossy()]).code(1);
    assert!(
        run.stdout.contains("UDD course_instance (courseinstance.tsv or course_instance.tsv): absent, required"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("student.tsv needs courseinstance.tsv (or course_instance.tsv), which is absent"),
        "{}",
        run.stderr
    );
    assert_eq!(env.scalar("SELECT count(*) FROM students"), "0");
    // Both names for one entity: which holds the data?
    std::fs::copy(udd.join("studentevent.tsv"), udd.join("student_event.tsv")).unwrap();
    let run = env.run(&["ingest", "jisc-udd", &udd.to_string_lossy()]).code(1);
    assert!(run.stderr.contains("2 files hold the UDD student_event entity"), "{}", run.stderr);
}

use crate::formats::{activity, university, utf16, write_bytes};

/// Checks a summary's balance: `N rows read = K kept + D dropped + U unmapped + R rejected`.
pub(crate) fn balanced(stdout: &str) -> (u64, u64, u64, u64, u64) {
    let line = stdout.lines().find(|l| l.contains(" rows read = ")).unwrap_or_else(|| panic!("no balance in {stdout}"));
    let numbers: Vec<u64> = line
        .split(" rows read = ")
        .flat_map(|part| part.split(';').next().unwrap_or("").split(['+', ' ', ':']))
        .filter_map(|w| w.replace(',', "").parse().ok())
        .collect();
    let (read, kept, dropped, unmapped, rejected) = (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4]);
    assert_eq!(read, kept + dropped + unmapped + rejected, "{line}");
    (read, kept, dropped, unmapped, rejected)
}

/// A Teams attendance report as Microsoft Learn's "Meeting attendance reports in
/// Microsoft Teams" describes the download: `1. Summary`, `2. Participants` (Name, First
/// Join, Last Leave, In-Meeting Duration, Email, Participant ID (UPN), Role), UTF-16,
/// tab-separated.
pub(crate) fn teams_report(title: &str, start: &str, end: &str, participants: &[[&str; 6]]) -> String {
    let mut text = format!(
        "1. Summary\r\nMeeting title\t{title}\r\nAttended participants\t{}\r\nStart time\t{start}\r\nEnd time\t{end}\r\n\r\n\
         2. Participants\r\nName\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole\r\n",
        participants.len()
    );
    for p in participants {
        text.push_str(&format!("{}\tAttendee\r\n", p.join("\t")));
    }
    text
}

/// "A student whose UPN differs from their e-mail is unmapped": the Email column is tried.
#[test]
fn a_teams_participant_whose_upn_is_unknown_is_mapped_by_their_email() {
    let env = university();
    let report = teams_report(
        "Study skills drop-in",
        "08/10/2025, 13:00:00",
        "08/10/2025, 14:00:00",
        &[[
            "Bee Student",
            "08/10/2025, 13:02:00",
            "08/10/2025, 13:40:00",
            "38m",
            "b@uni.ac.uk",
            "b.student@uni.onmicrosoft.com",
        ]],
    );
    let file = write_bytes(&env, "dropin.csv", &utf16(&report, false));
    let run = env.ingest("teams-attendance", &[&file]);
    assert_eq!(balanced(&run.stdout), (1, 1, 0, 0, 0), "{}", run.stdout);
    assert_eq!(activity(&env), ["B,2025-10-08T12:02:00Z,online-meeting,1,2280"]);
}

/// "A report with US dates is read day-first and stored on the wrong day": AM/PM, or a day
/// over 12, settles the order per file; a file that shows neither is refused, naming the
/// setting, unless it is set.
#[test]
fn a_teams_reports_date_order_comes_from_the_report_and_is_never_guessed() {
    let env = university();
    let us = teams_report(
        "Office hour",
        "10/8/2025, 1:00:00 PM",
        "10/8/2025, 2:00:00 PM",
        &[[
            "Ann Student",
            "10/8/2025, 1:05:00 PM",
            "10/8/2025, 1:35:00 PM",
            "30m",
            "Ann.Student@uni.ac.uk",
            "ann.s@uni.onmicrosoft.com",
        ]],
    );
    let run = env.ingest("teams-attendance", &[&write_bytes(&env, "us.csv", &utf16(&us, false))]);
    assert_eq!(balanced(&run.stdout).1, 1);
    assert_eq!(activity(&env), ["A,2025-10-08T12:05:00Z,online-meeting,1,1800"], "8 October, not 10 August");

    let ambiguous = teams_report(
        "Office hour 2",
        "09/10/2025, 13:00:00",
        "09/10/2025, 14:00:00",
        &[[
            "Ann Student",
            "09/10/2025, 13:05:00",
            "09/10/2025, 13:35:00",
            "30m",
            "Ann.Student@uni.ac.uk",
            "ann.s@uni.onmicrosoft.com",
        ]],
    );
    let file = write_bytes(&env, "ambiguous.csv", &utf16(&ambiguous, false));
    crate::fixtures::configure(&env, "teams_month_first = false", "# teams_month_first (removed)");
    let refused = env.run(&["ingest", "teams-attendance", &file]).code(1);
    assert!(refused.stderr.contains("formats.teams_month_first"), "{}", refused.stderr);
    assert_eq!(activity(&env).len(), 1, "nothing read");
    // The shipped setting (UK day/month) settles it.
    crate::fixtures::configure(&env, "# teams_month_first (removed)", "teams_month_first = false");
    env.ingest("teams-attendance", &[&file]);
    assert!(activity(&env).contains(&"A,2025-10-09T12:05:00Z,online-meeting,1,1800".to_string()));
}

/// "The older single-table list stores first-join to last-leave as the duration": the time
/// in the meeting is the sum of the join-to-leave intervals; and the list saved again from
/// Excel as comma-separated UTF-8 is read.
#[test]
fn the_older_teams_list_counts_time_in_the_meeting_and_is_read_comma_separated() {
    let env = university();
    // Ann is in for 10 minutes, away for 40, back for 10: 20 minutes in a 60-minute span.
    let list = "Full Name\tUser Action\tTimestamp\r\n\
        Ann.Student@uni.ac.uk\tJoined\t10/8/2025, 9:00:00 AM\r\n\
        Ann.Student@uni.ac.uk\tLeft\t10/8/2025, 9:10:00 AM\r\n\
        Ann.Student@uni.ac.uk\tJoined\t10/8/2025, 9:50:00 AM\r\n\
        Ann.Student@uni.ac.uk\tLeft\t10/8/2025, 10:00:00 AM\r\n";
    let run = env.ingest("teams-attendance", &[&write_bytes(&env, "Reading group.csv", &utf16(list, false))]);
    assert_eq!(balanced(&run.stdout), (4, 1, 3, 0, 0), "{}", run.stdout);
    assert_eq!(activity(&env), ["A,2025-10-08T08:00:00Z,online-meeting,1,1200"]);

    let excel = "Full Name,User Action,Timestamp\r\n\
        b@uni.ac.uk,Joined,\"10/8/2025, 11:00:00 AM\"\r\n\
        b@uni.ac.uk,Left,\"10/8/2025, 11:30:00 AM\"\r\n";
    let run = env.ingest("teams-attendance", &[&env.file("Tutorial.csv", excel)]);
    assert_eq!(balanced(&run.stdout), (2, 1, 1, 0, 0), "{}", run.stdout);
    assert!(activity(&env).contains(&"B,2025-10-08T10:00:00Z,online-meeting,1,1800".to_string()));
}

/// xAPI 1.0.3 statements (Part Two, section 2.4) as an LRS exports them. Learning Locker
/// wraps each one (`{"statement": {...}, "stored": ..., "_id": ...}`); a download may be a
/// JSON array or pretty-printed objects. "Statements as an LRS exports them are refused",
/// "a pretty-printed file gets one error per line": each layout gives the same events.
#[test]
fn xapi_statements_in_an_lrs_envelope_an_array_or_pretty_printed_are_read_alike() {
    let statement = |who: &str, at: &str| {
        serde_json::json!({
            "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
            "actor": {"objectType": "Agent", "account": {"homePage": "https://vle.uni.ac.uk", "name": who}},
            "verb": {"id": "https://brindlewaye.com/xAPITerms/verbs/loggedin/", "display": {"en": "logged in to"}},
            "object": {"objectType": "Activity", "id": "https://vle.uni.ac.uk", "definition": {"type": "http://activitystrea.ms/schema/1.0/application"}},
            "timestamp": at,
            "version": "1.0.3"
        })
    };
    let envelope = |s: serde_json::Value| serde_json::json!({"_id": "5f1e", "statement": s, "stored": "2025-10-06T08:00:01Z", "lrs_id": "x"});
    let a = statement("101", "2025-10-06T08:00:00Z");
    let b = statement("102", "2025-10-06T09:00:00Z");
    let lines = format!("{}\n{}\n", envelope(a.clone()), envelope(b.clone()));
    let array = serde_json::to_string_pretty(&serde_json::json!([a.clone(), b.clone()])).unwrap();
    let pretty = format!(
        "{}\n{}\n",
        serde_json::to_string_pretty(&envelope(a)).unwrap(),
        serde_json::to_string_pretty(&b).unwrap()
    );
    let mut seen = Vec::new();
    for (name, text) in [("lines.json", lines), ("array.json", array), ("pretty.json", pretty)] {
        let env = university();
        let run = env.ingest("xapi", &[&env.file(name, &text)]);
        assert_eq!(balanced(&run.stdout), (2, 2, 0, 0, 0), "{name}: {}", run.stdout);
        seen.push(activity(&env));
    }
    assert_eq!(seen[0], ["A,2025-10-06T08:00:00Z,vle,1,", "B,2025-10-06T09:00:00Z,vle,1,"]);
    assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
}

/// "A statement with an unknown actor and an unused verb is counted both as unmapped and
/// as dropped": every statement is in exactly one of kept, dropped, unmapped, rejected.
#[test]
fn every_xapi_statement_is_counted_once() {
    let env = university();
    let lines = [
        r#"{"actor":{"account":{"name":"101"}},"verb":{"id":"https://brindlewaye.com/xAPITerms/verbs/loggedin/"},"object":{"id":"https://vle.uni.ac.uk"},"timestamp":"2025-10-06T08:00:00Z"}"#,
        r#"{"actor":{"account":{"name":"stranger"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/answered"},"object":{"id":"q1"},"timestamp":"2025-10-06T08:00:00Z"}"#,
        r#"{"actor":{"account":{"name":"stranger"}},"verb":{"id":"https://brindlewaye.com/xAPITerms/verbs/loggedin/"},"object":{"id":"https://vle.uni.ac.uk"},"timestamp":"2025-10-06T08:00:00Z"}"#,
        r#"{"actor":{"account":{"name":"101"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/answered"},"object":{"id":"q1"},"timestamp":"2025-10-06T08:00:00Z"}"#,
    ];
    let run = env.ingest("xapi", &[&env.file("mixed.jsonl", &(lines.join("\n") + "\n"))]);
    assert_eq!(balanced(&run.stdout), (4, 1, 2, 1, 0), "{}", run.stdout);
}
