//! `rollcall init` and `rollcall ingest`: validation, error modes, idempotence, upsert,
//! and a kill in the middle of an ingest.

use crate::common::{Env, STUDENTS_HEADER, files_below, student};

#[test]
fn init_creates_tables_and_commented_config_and_is_idempotent() {
    let env = Env::new();
    let config = std::fs::read_to_string(env.warehouse.join("rollcall.toml")).unwrap();
    assert!(config.contains("preset = \"staged-review\""));
    assert!(config.contains("# A card swipe counts"));
    for table in [
        "students",
        "equality",
        "sessions",
        "class_lists",
        "swipes",
        "swipe_outcomes",
        "activity",
        "absences",
        "terms",
        "ingest_log",
    ] {
        assert!(env.warehouse.join("tables").join(table).join("_delta_log").is_dir(), "{table}");
    }
    let again = env.run(&["init", "--preset", "consecutive-weeks"]).ok();
    assert!(again.stdout.contains("kept existing"), "{}", again.stdout);
    assert!(again.stdout.contains("all tables already exist"));
    assert_eq!(env.scalar("SELECT count(*) FROM students"), "0");
}

#[test]
fn init_preset_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("w");
    let run = crate::common::rollcall_command()
        .arg("--warehouse")
        .arg(&wh)
        .args(["init", "--preset", "wellbeing-window"])
        .output()
        .unwrap();
    assert!(run.status.success());
    let config = std::fs::read_to_string(wh.join("rollcall.toml")).unwrap();
    assert!(config.contains("preset = \"wellbeing-window\""));
    let bad = crate::common::rollcall_command()
        .arg("--warehouse")
        .arg(&wh)
        .args(["init", "--preset", "lenient"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn commands_on_a_missing_warehouse_say_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::common::rollcall_command()
        .arg("--warehouse")
        .arg(dir.path().join("none"))
        .args(["sql", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rollcall init"));
}

/// Runs an ingest that must be refused, and checks the message names file, line and
/// column, quotes no value, and that nothing was committed.
#[track_caller]
fn refused(env: &Env, kind: &str, name: &str, contents: &str, (line, column, reason): (u64, &str, &str), table: &str) {
    let file = env.file(name, contents);
    let run = env.run(&["ingest", kind, &file]).code(1);
    let expected = format!("{file}:{line}: column '{column}': {reason}");
    assert!(run.stderr.contains(&expected), "missing `{expected}` in:\n{}", run.stderr);
    assert!(run.stderr.contains("refused, nothing committed"), "{}", run.stderr);
    for personal in ["Zebedee", "Quixworth", "S0000042"] {
        assert!(
            !run.stderr.contains(personal) && !run.stdout.contains(personal),
            "personal data `{personal}` printed:\n{}",
            run.stderr
        );
    }
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM {table}")), "0", "{table} must stay empty");
    assert_eq!(env.scalar("SELECT count(*) FROM ingest_log WHERE kind <> 'bank-holidays'"), "0");
}

#[test]
fn missing_required_column_refuses_file() {
    let env = Env::new();
    let file = env.file(
        "s.csv",
        "student_id,programme_code,department,level,stage,mode,start_date\nS0000042,CS4,CS,4,1,full-time,2025-09-22\n",
    );
    let run = env.run(&["ingest", "students", &file]).code(1);
    assert!(run.stderr.contains(&format!("{file}:1: missing required column 'status'")), "{}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM students"), "0");
}

#[test]
fn bad_date_is_refused() {
    let env = Env::new();
    let row = student("S0000042", "active").replace("2025-09-22", "22/09/2025");
    refused(
        &env,
        "students",
        "s.csv",
        &format!("{STUDENTS_HEADER}\n{row}\n"),
        (2, "start_date", "not a date (expected YYYY-MM-DD)"),
        "students",
    );
}

#[test]
fn bad_timestamp_is_refused() {
    let env = Env::new();
    refused(
        &env,
        "activity",
        "a.csv",
        "student_id,occurred_at,source\nS0000042,2025-10-01T10:00:00,vle\nS0000042,yesterday,vle\n",
        (3, "occurred_at", "not an ISO 8601 timestamp"),
        "activity",
    );
}

#[test]
fn unknown_enum_value_is_refused() {
    let env = Env::new();
    refused(
        &env,
        "students",
        "s.csv",
        &format!("{STUDENTS_HEADER}\n{}\n", student("S0000042", "suspended")),
        (2, "status", "unknown value, expected one of active"),
        "students",
    );
    refused(
        &env,
        "activity",
        "a.csv",
        "student_id,occurred_at,source\nS0000042,2025-10-01T10:00:00,moodle\n",
        (2, "source", "unknown value"),
        "activity",
    );
}

#[test]
fn level_outside_3_to_7_is_refused() {
    let env = Env::new();
    let row = student("S0000042", "active").replace(",4,1,", ",8,1,");
    refused(
        &env,
        "students",
        "s.csv",
        &format!("{STUDENTS_HEADER}\n{}\n{row}\n", student("S0000041", "active")),
        (3, "level", "outside 3 to 7"),
        "students",
    );
    let row = student("S0000042", "active").replace(",4,1,", ",2,1,");
    refused(
        &env,
        "students",
        "s2.csv",
        &format!("{STUDENTS_HEADER}\n{row}\n"),
        (2, "level", "outside 3 to 7"),
        "students",
    );
}

#[test]
fn ends_before_starts_is_refused() {
    let env = Env::new();
    refused(
        &env,
        "sessions",
        "t.csv",
        "session_id,module_code,starts_at,ends_at,room\nX1,CS101,2025-10-01T10:00:00,2025-10-01T09:00:00,R1\n",
        (2, "ends_at", "ends_at is before starts_at"),
        "sessions",
    );
    refused(
        &env,
        "absences",
        "ab.csv",
        "student_id,starts_on,ends_on,kind\nS0000042,2025-10-10,2025-10-01,authorised\n",
        (2, "ends_on", "ends_on is before starts_on"),
        "absences",
    );
}

#[test]
fn duplicate_key_in_one_file_is_refused() {
    let env = Env::new();
    let contents = format!(
        "{STUDENTS_HEADER}\n{}\n{}\n{}\n",
        student("S0000042", "active"),
        student("S0000043", "active"),
        student("S0000042", "withdrawn")
    );
    refused(
        &env,
        "students",
        "s.csv",
        &contents,
        (4, "student_id", "duplicate key (student_id) of line 2"),
        "students",
    );
}

#[test]
fn problems_are_listed_up_to_the_cap_then_counted() {
    let env = Env::new();
    let mut contents = String::from("student_id,occurred_at,source\n");
    for i in 0..70 {
        contents.push_str(&format!("S{i:07},2025-10-01T10:00:00,telepathy\n"));
    }
    let file = env.file("a.csv", &contents);
    let run = env.run(&["ingest", "activity", &file]).code(1);
    let listed = run.stderr.lines().filter(|l| l.contains("column 'source'")).count();
    assert_eq!(listed, 50, "{}", run.stderr);
    assert!(run.stderr.contains("... and 20 more problem(s)"), "{}", run.stderr);
    assert!(run.stderr.contains("70 problem(s) in 70 row(s)"), "{}", run.stderr);
}

#[test]
fn quarantine_commits_good_rows_and_writes_rejects() {
    let env = Env::new();
    let bad = student("S0000043", "active").replace(",4,1,", ",9,1,");
    let contents =
        format!("{STUDENTS_HEADER}\n{}\n{bad}\n{}\n", student("S0000042", "active"), student("S0000044", "active"));
    let file = env.file("s.csv", &contents);
    let run = env.run(&["ingest", "students", &file, "--quarantine"]).ok();
    assert!(run.stdout.contains("2 added"), "{}", run.stdout);
    assert!(run.stdout.contains("1 rejected"), "{}", run.stdout);
    assert_eq!(env.sql("SELECT student_id FROM students ORDER BY student_id")[1..], ["S0000042", "S0000044"]);
    let rejects = std::fs::read_to_string(format!("{file}.rejects.csv")).unwrap();
    let mut lines = rejects.lines();
    assert_eq!(lines.next().unwrap(), format!("line,problems,{STUDENTS_HEADER}"));
    let row = lines.next().unwrap();
    assert!(row.starts_with("3,level: outside 3 to 7,S0000043,"), "{row}");
    assert_eq!(lines.next(), None);
}

#[test]
fn reingesting_an_identical_file_adds_nothing() {
    let env = Env::new();
    let file = env.file("a.csv", "student_id,occurred_at,source,count\nS1,2025-10-01T10:00:00,vle,3\nS1,2025-10-01T11:00:00,library,\nS2,2025-10-02T09:00:00Z,vle,1\n");
    let first = env.ingest("activity", &[&file]);
    assert!(first.stdout.contains("3 added"), "{}", first.stdout);
    let second = env.ingest("activity", &[&file]);
    assert!(second.stderr.contains("already ingested"), "{}", second.stderr);
    assert!(second.stdout.contains("0 added"), "{}", second.stdout);
    assert_eq!(env.scalar("SELECT count(*) FROM activity"), "3");
    assert_eq!(env.scalar("SELECT sum(count) FROM activity"), "5", "an empty count defaults to 1");
    // A different file repeating two of the rows adds only the new one.
    let overlap = env.file("b.csv", "student_id,occurred_at,source,count\nS1,2025-10-01T10:00:00,vle,3\nS2,2025-10-02T09:00:00Z,vle,1\nS2,2025-10-03T09:00:00Z,vle,1\n");
    let third = env.ingest("activity", &[&overlap]);
    assert!(third.stdout.contains("1 added, 2 already held"), "{}", third.stdout);
    assert_eq!(env.scalar("SELECT count(*) FROM activity"), "4");
    assert_eq!(env.scalar("SELECT count(*) FROM ingest_log WHERE kind = 'activity'"), "2");
}

#[test]
fn reingesting_students_updates_them() {
    let env = Env::new();
    let a =
        env.file("s1.csv", &format!("{STUDENTS_HEADER}\n{}\n{}\n", student("S1", "active"), student("S2", "active")));
    env.ingest("students", &[&a]);
    let b = env
        .file("s2.csv", &format!("{STUDENTS_HEADER}\n{}\n{}\n", student("S2", "withdrawn"), student("S3", "active")));
    let run = env.ingest("students", &[&b]);
    assert!(run.stdout.contains("1 added, 1 already held"), "{}", run.stdout);
    assert_eq!(
        env.sql("SELECT student_id, status FROM students ORDER BY student_id")[1..],
        ["S1,active", "S2,withdrawn", "S3,active"]
    );
}

#[test]
fn unknown_columns_are_ignored_with_a_warning() {
    let env = Env::new();
    let file =
        env.file("t.csv", "academic_year,term,starts_on,ends_on,notes\n2025-26,autumn,2025-09-29,2025-12-12,x\n");
    let run = env.ingest("terms", &[&file]);
    assert!(run.stderr.contains("column 'notes' is not part of kind terms, ignored"), "{}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM terms"), "1");
    let bad = env.file("t2.csv", "academic_year,term,starts_on,ends_on\n2025-2026,autumn,2025-09-29,2025-12-12\n");
    assert!(env.run(&["ingest", "terms", &bad]).code(1).stderr.contains("not an academic year"));
}

#[test]
fn one_bad_file_does_not_stop_the_good_ones() {
    let env = Env::new();
    let good = env.file("good.csv", "student_id,occurred_at,source\nS1,2025-10-01T10:00:00,vle\n");
    let bad = env.file("bad.csv", "student_id,occurred_at,source\nS1,2025-10-01T10:00:00,nope\n");
    let run = env.run(&["ingest", "activity", &good, &bad]).code(1);
    assert!(run.stderr.contains("1 of 2 file(s) refused"), "{}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM activity"), "1");
}

#[test]
fn unknown_kind_is_a_usage_error() {
    let env = Env::new();
    let file = env.file("x.csv", "a\n1\n");
    env.run(&["ingest", "grades", &file]).code(2);
}

#[test]
fn kill_during_ingest_leaves_tables_readable_and_file_reingestable() {
    let env = Env::new();
    let mut contents = String::from("student_id,occurred_at,source,count\n");
    let rows = 300_000;
    for i in 0..rows {
        contents.push_str(&format!(
            "S{:05},2025-10-{:02}T{:02}:{:02}:{:02},vle,1\n",
            i % 5000,
            1 + i % 28,
            8 + (i / 3600) % 12,
            (i / 60) % 60,
            i % 60
        ));
    }
    let file = env.file("big.csv", &contents);
    for delay_ms in [300, 900] {
        let mut child = crate::common::rollcall_command()
            .arg("--warehouse")
            .arg(&env.warehouse)
            .args(["ingest", "activity", &file])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        let held: u64 = env.scalar("SELECT count(*) FROM activity").parse().unwrap();
        assert!(held == 0 || held == rows, "a killed ingest must commit all or nothing, found {held}");
    }
    env.ingest("activity", &[&file]);
    assert_eq!(env.scalar("SELECT count(*) FROM activity"), rows.to_string());
    assert_eq!(env.scalar("SELECT count(DISTINCT student_id) FROM activity"), "5000");
    assert!(
        files_below(&env.warehouse.join("tables/activity"))
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "parquet"))
    );
}

#[test]
fn identity_maps_upsert_by_domain_and_identifier() {
    let env = Env::new();
    let first = env.file("map1.csv", "student_id,domain,identifier\nS1,VLE ,101\nS1,card,C1\nS2,vle,102\n");
    env.ingest("student-id-map", &[&first]);
    // The VLE account 102 is reassigned; domains are compared without case or spaces.
    let second = env.file("map2.csv", "student_id,domain,identifier\nS3,Vle,102\n");
    env.ingest("student-id-map", &[&second]);
    let rows = env.sql("SELECT student_id, domain, identifier FROM student_id_map ORDER BY domain, identifier");
    assert_eq!(rows[1..], ["S1,card,C1", "S1,vle,101", "S3,vle,102"]);
    // The same identifier twice in one file is refused, naming the line.
    let twice = env.file("map3.csv", "student_id,domain,identifier\nS4,vle,104\nS5,vle,104\n");
    let run = env.run(&["ingest", "student-id-map", &twice]).code(1);
    assert!(run.stderr.contains("map3.csv:3"), "{}", run.stderr);
}

/// Large files are read in parts by several threads (`ROLLCALL_SPLIT_BYTES` lowers the
/// size at which that starts): problems still name the right lines, a key repeated across
/// parts is still a duplicate of its first line, and the rows committed are those of a
/// whole read.
#[test]
fn a_file_read_in_parts_names_the_same_lines_and_commits_the_same_rows() {
    let mut rows: Vec<String> = (0..200)
        .map(|i| format!("S{:07},2025-10-{:02}T10:{:02}:00,vle,{}", i % 7, 1 + i % 28, i % 60, 1 + i % 5))
        .collect();
    rows[148] = rows[148].replace(",vle,", ",telepathy,"); // line 150
    rows[178] = rows[1].clone(); // line 180 repeats line 3
    let contents = format!("student_id,occurred_at,source,count\n{}\n", rows.join("\n"));

    let split = Env::new();
    let file = split.file("a.csv", &contents);
    let one_byte = [("ROLLCALL_SPLIT_BYTES", std::path::Path::new("1"))];
    let run = split.run_with(&["ingest", "activity", &file], &one_byte).code(1);
    for expected in [
        format!("{file}:150: column 'source': unknown value"),
        format!(
            "{file}:180: column 'student_id, occurred_at, source': duplicate key (student_id, occurred_at, source) of line 3"
        ),
    ] {
        assert!(run.stderr.contains(&expected), "missing `{expected}` in:\n{}", run.stderr);
    }
    assert!(run.stderr.contains("2 problem(s) in 2 row(s)"), "{}", run.stderr);
    let run = split.run_with(&["ingest", "activity", &file, "--quarantine"], &one_byte).ok();
    assert!(run.stdout.contains("200 rows read, 198 added"), "{}", run.stdout);
    let rejects = std::fs::read_to_string(format!("{file}.rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(lines, ["150", "180"]);

    let whole = Env::new();
    let file = whole.file("a.csv", &contents);
    whole.run(&["ingest", "activity", &file, "--quarantine"]).ok();
    let table = "SELECT student_id, CAST(occurred_at AS BIGINT), source, count FROM activity ORDER BY 1, 2, 3";
    let (split_rows, whole_rows) = (split.sql(table), whole.sql(table));
    assert_eq!(split_rows.len(), 199, "header and 198 rows");
    assert_eq!(split_rows, whole_rows);
}

#[test]
fn files_read_ahead_keep_their_own_outcomes_in_command_line_order() {
    let env = Env::new();
    let rows = "student_id,occurred_at,source\nS1,2025-10-01T10:00:00,vle\nS2,2025-10-01T11:00:00,vle\n";
    let first = env.file("first.csv", rows);
    // The same content under another name is read while the first file commits, and is
    // still recognised as already ingested at its turn.
    let copy = env.file("copy.csv", rows);
    let run = env.run(&["ingest", "activity", &first, &copy]).code(0);
    assert!(run.stdout.contains("2 added"), "{}", run.stdout);
    assert!(run.stderr.contains("already ingested"), "{}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM ingest_log WHERE kind = 'activity'"), "1");
    // A file that cannot be read stops the run at its turn, after the files before it committed.
    let second = env.file("second.csv", "student_id,occurred_at,source\nS3,2025-10-02T10:00:00,vle\n");
    let missing = env.dir.path().join("missing.csv").display().to_string();
    let run = env.run(&["ingest", "activity", &second, &missing]).code(1);
    assert!(run.stderr.contains("missing.csv"), "{}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM activity"), "3");
}

/// Spreadsheet exports pad cells: whitespace around headers and values (a non-breaking
/// space included) is not part of the value, and a line of spaces is not a row.
#[test]
fn whitespace_around_headers_and_values_is_not_part_of_them() {
    let env = Env::new();
    let file = env.file(
        "a.csv",
        " student_id , occurred_at ,source,count\n  S1 ,2025-10-01T10:00:00 , vle,\u{a0}3\u{a0}\n   \nS2,\t2025-10-01T11:00:00,library , \n",
    );
    let run = env.run(&["ingest", "activity", &file]).ok();
    assert!(run.stdout.contains("2 rows read, 2 added"), "{}", run.stdout);
    assert_eq!(
        env.sql("SELECT student_id, source, count, CAST(occurred_at AS BIGINT) FROM activity ORDER BY 1"),
        ["student_id,source,count,activity.occurred_at", "S1,vle,3,1759309200000000", "S2,library,1,1759312800000000"]
    );
}

/// Event files are stored by month, then student and time, whatever order their rows came
/// in, so a subject-access request reads about one page a month and a day's scan one
/// month's pages; a file repeating held rows adds only the rest.
#[test]
fn events_are_stored_by_month_then_student_and_held_rows_are_skipped() {
    use chrono::Datelike;
    let env = Env::new();
    // Newest first, students interleaved, days from 27 September to 5 October;
    // (i % 3, i % 9, i % 10) never repeats below 90.
    let date = |i: u32| chrono::NaiveDate::from_ymd_opt(2025, 9, 27).unwrap() + chrono::Days::new(u64::from(i % 9));
    let row = |i: u32, tail: &str| format!("S{},{}T{:02}:00:00,{tail}", i % 3, date(i), 8 + i % 10);
    for (kind, header, tail) in
        [("activity", "student_id,occurred_at,source", "vle"), ("swipes", "student_id,swiped_at,room", "R1")]
    {
        let first: Vec<String> = (0..40).rev().map(|i| row(i, tail)).collect();
        let file = env.file(&format!("{kind}-1.csv"), &format!("{header}\n{}\n", first.join("\n")));
        assert!(env.ingest(kind, &[&file]).stdout.contains("40 added, 0 already held"));
        // Twenty held rows and twenty new ones, shuffled.
        let second: Vec<String> = (20..60).map(|i| row((i * 7) % 40 + if i >= 40 { 40 } else { 0 }, tail)).collect();
        let file = env.file(&format!("{kind}-2.csv"), &format!("{header}\n{}\n", second.join("\n")));
        let run = env.ingest(kind, &[&file]);
        assert!(run.stdout.contains("40 rows read, 20 added, 20 already held"), "{kind}: {}", run.stdout);
        assert_eq!(env.scalar(&format!("SELECT count(*) FROM {kind}")), "60");
        let files = crate::common::stored_order(&env, kind);
        assert_eq!(files.len(), 2, "{kind}: one file per ingest");
        for rows in files {
            // (month, student, day): the months are September and October.
            let keys: Vec<(i32, String, i32)> = rows
                .into_iter()
                .map(|(day, student)| {
                    let date = chrono::NaiveDate::from_num_days_from_ce_opt(day + 719_163).unwrap();
                    (date.year() * 12 + date.month0() as i32, student, day)
                })
                .collect();
            assert!(keys.first().unwrap().0 < keys.last().unwrap().0, "{kind}: the rows span two months");
            assert!(keys.is_sorted(), "{kind} is not stored by month, then student and day: {keys:?}");
        }
    }
}

/// When events happened is stored as differences from the row before (Parquet's
/// DELTA_BINARY_PACKED), not through a dictionary of near-unique values; student ids,
/// which repeat, keep their dictionary.
#[test]
fn event_times_are_stored_as_differences_and_student_ids_in_a_dictionary() {
    let env = Env::new();
    for (kind, header, time, tail) in [
        ("activity", "student_id,occurred_at,source", "occurred_at", "vle"),
        ("swipes", "student_id,swiped_at,room", "swiped_at", "R1"),
    ] {
        let rows: Vec<String> = (0..300)
            .map(|i| format!("S{},2025-10-{:02}T{:02}:{:02}:00,{tail}", i % 7, 1 + i % 20, 8 + i % 9, i % 60))
            .collect();
        let file = env.file(&format!("{kind}.csv"), &format!("{header}\n{}\n", rows.join("\n")));
        assert!(env.ingest(kind, &[&file]).stdout.contains("300 added"), "{kind}");
        let times = crate::common::column_encodings(&env, kind, time);
        assert!(!times.is_empty(), "{kind} has stored files");
        for (encodings, dictionary) in times {
            assert!(encodings.contains(&"DELTA_BINARY_PACKED".to_string()), "{kind}.{time}: {encodings:?}");
            assert!(!dictionary && !encodings.iter().any(|e| e.contains("DICTIONARY")), "{kind}.{time}: {encodings:?}");
        }
        for (encodings, dictionary) in crate::common::column_encodings(&env, kind, "student_id") {
            assert!(
                dictionary && encodings.contains(&"RLE_DICTIONARY".to_string()),
                "{kind}.student_id: {encodings:?}"
            );
        }
    }
    // The times read back as written: as many distinct ones, the first at 08:00 BST.
    let distinct: std::collections::BTreeSet<(u32, u32, u32)> = (0..300).map(|i| (i % 20, i % 9, i % 60)).collect();
    assert_eq!(env.scalar("SELECT count(DISTINCT occurred_at) FROM activity"), distinct.len().to_string());
    assert_eq!(env.scalar("SELECT CAST(min(occurred_at) AS BIGINT) FROM activity"), "1759302000000000");
}
