//! Retention purge, subject access, disclosures and the audit trail, through the real binary.

use std::path::{Path, PathBuf};

use crate::common::{Env, files_below, rollcall_command};
use crate::fixtures::{TERMS, activity, days, swipes, timetable, weekday};

const HEADER: &str =
    "student_id,programme_code,department,level,stage,mode,start_date,status,completion_date,ethnicity,funding_body";

/// Three students of 2025-26 who all attended, engaged and were rated while studying:
/// LEAVER1 and HOLD1 complete on 30 June 2026, STAYER1 is still studying. LEAVER1 also has
/// an absence, a consent, a disclosure and an earlier subject-access export.
fn university() -> Env {
    let env = Env::new();
    env.configure_key();
    env.ingest("terms", &[&env.file("terms.csv", TERMS)]);
    let students = |status: &str| {
        format!(
            "{HEADER}\nLEAVER1,CS4,Computing,4,1,full-time,2025-09-22,{status},2026-06-30,22,SFE\n\
             HOLD1,CS4,Computing,4,1,full-time,2025-09-22,{status},2026-06-30,White,SFE\n\
             STAYER1,CS4,Computing,4,1,full-time,2025-09-22,active,,White,SFE\n"
        )
    };
    env.ingest("students", &[&env.file("students.csv", &students("active"))]);
    let teaching = days("2025-10-06", "2025-11-28", weekday);
    timetable(&env, &teaching, &["LEAVER1", "HOLD1", "STAYER1"]);
    swipes(&env, "swipes.csv", "LEAVER1", &teaching[..10]);
    let rows: Vec<(&str, chrono::NaiveDate, &str, u32)> =
        teaching.iter().flat_map(|day| [("LEAVER1", *day, "vle", 5), ("STAYER1", *day, "vle", 3)]).collect();
    activity(&env, "activity.csv", &rows);
    env.ingest(
        "absences",
        &[&env.file("absences.csv", "student_id,starts_on,ends_on,kind\nLEAVER1,2025-11-03,2025-11-04,authorised\n")],
    );
    env.run(&["rate", "--as-of", "2025-12-01"]).ok();
    env.run(&["review", "--as-of", "2025-12-01"]).ok();
    env.run(&[
        "consent",
        "LEAVER1",
        "--recipient",
        "Parent",
        "--fields",
        "attendance_rate",
        "--from",
        "2025-10-01",
        "--to",
        "2026-06-30",
    ])
    .ok();
    env.run(&[
        "disclose",
        "LEAVER1",
        "--recipient",
        "Parent",
        "--basis",
        "consent",
        "--purpose",
        "REQ-17",
        "--fields",
        "attendance_rate",
        "--on",
        "2025-12-02",
    ])
    .ok();
    env.run(&["return", "funder", "--body", "SFE", "--as-of", "2025-12-01", "--record"]).ok();
    env.run(&["sar", "LEAVER1", "--out", env.dir.path().join("first-sar").to_str().unwrap()]).ok();
    // They complete.
    env.ingest("students", &[&env.file("students-completed.csv", &students("completed"))]);
    env.run(&["retention", "hold", "HOLD1", "--reason", "LEGAL-2026-04"]).ok();
    env
}

fn pseudonym(id: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&[7u8; 32]).unwrap();
    mac.update(format!("equality\0{id}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Every file under the warehouse whose contents (Parquet decoded) hold `needle`.
fn files_holding(warehouse: &Path, needle: &str) -> Vec<PathBuf> {
    files_below(warehouse).into_iter().filter(|p| crate::privacy::text_of(p).contains(needle)).collect()
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut files: Vec<_> = files_below(dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            (p, m.len(), m.modified().unwrap())
        })
        .collect();
    files.sort();
    files
}

fn count(env: &Env, table: &str, id: &str) -> String {
    env.scalar(&format!("SELECT count(*) FROM {table} WHERE student_id = '{id}'"))
}

#[test]
fn a_purge_leaves_no_trace_of_a_due_student_and_keeps_everyone_else() {
    let env = university();
    let tables_dir = env.warehouse.join("tables");
    // Before: the leaver is in many tables and files (so the scan below can fail).
    for table in ["students", "class_lists", "swipes", "activity", "absences", "ratings", "disclosures", "consents"] {
        assert_ne!(count(&env, table, "LEAVER1"), "0", "{table}");
    }
    assert!(files_holding(&tables_dir, "LEAVER1").len() > 10);
    assert!(!files_holding(&tables_dir, &pseudonym("LEAVER1")).is_empty());

    // A dry run lists the leaver and changes nothing.
    let before = snapshot(&env.warehouse);
    let dry = env.run(&["retention", "purge", "--as-of", "2032-07-01", "--dry-run"]).ok();
    assert_eq!(dry.stdout, "student_id,ended_on\nLEAVER1,2026-06-30\n");
    assert!(dry.stderr.contains("would erase 1 student(s)") && dry.stderr.contains("1 kept by a legal hold"));
    assert_eq!(
        snapshot(&env.warehouse)
            .into_iter()
            .filter(|(p, ..)| !p.starts_with(env.warehouse.join("audit")))
            .collect::<Vec<_>>(),
        before.into_iter().filter(|(p, ..)| !p.starts_with(env.warehouse.join("audit"))).collect::<Vec<_>>()
    );

    // Not a day early.
    env.run(&["retention", "purge", "--as-of", "2032-06-29"]).ok();
    assert_eq!(count(&env, "students", "LEAVER1"), "1");

    let run = env.run(&["retention", "purge", "--as-of", "2032-07-01"]).ok();
    assert!(run.stderr.contains("erased 1 student(s)"), "{}", run.stderr);
    // No file under the warehouse holds the leaver: not the tables, superseded files,
    // transaction logs (statistics included), nor the audit trail.
    assert_eq!(files_holding(&env.warehouse, "LEAVER1"), Vec::<PathBuf>::new());
    assert_eq!(files_holding(&env.warehouse, &pseudonym("LEAVER1")), Vec::<PathBuf>::new());
    // The held and the studying student are untouched.
    for id in ["HOLD1", "STAYER1"] {
        assert_eq!(count(&env, "students", id), "1");
        assert_ne!(count(&env, "class_lists", id), "0");
        assert_ne!(count(&env, "ratings", id), "0");
    }
    assert!(!files_holding(&tables_dir, &pseudonym("HOLD1")).is_empty());
    // The run is recorded with counts only.
    let runs = env.sql("SELECT students, held, rows FROM retention_runs ORDER BY run_at");
    assert!(runs.last().unwrap().starts_with("1,1,"), "{runs:?}");
    // Releasing the hold lets the next run erase the held student.
    env.run(&["retention", "release", "HOLD1"]).ok();
    env.run(&["retention", "purge", "--as-of", "2032-07-01"]).ok();
    assert_eq!(files_holding(&env.warehouse, "HOLD1"), Vec::<PathBuf>::new());
    assert_eq!(count(&env, "students", "STAYER1"), "1");
    env.run(&["audit", "verify"]).ok();
}

#[test]
fn a_killed_purge_leaves_tables_readable_and_the_next_run_completes_it() {
    for delay_ms in [150, 400, 800] {
        let env = university();
        let mut child = rollcall_command()
            .arg("--warehouse")
            .arg(&env.warehouse)
            .args(["retention", "purge", "--as-of", "2032-07-01"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Every table still reads.
        for table in ["students", "activity", "ratings", "class_lists", "swipes", "cases"] {
            env.sql(&format!("SELECT count(*) FROM {table}"));
        }
        env.run(&["retention", "purge", "--as-of", "2032-07-01"]).ok();
        assert_eq!(files_holding(&env.warehouse, "LEAVER1"), Vec::<PathBuf>::new(), "killed after {delay_ms} ms");
        assert_eq!(count(&env, "students", "STAYER1"), "1");
    }
}

#[test]
fn two_purges_at_once_do_not_overlap() {
    let env = university();
    let spawn = || {
        rollcall_command()
            .arg("--warehouse")
            .arg(&env.warehouse)
            .args(["retention", "purge", "--as-of", "2032-07-01"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    let erased: Vec<String> = env.sql("SELECT students FROM retention_runs ORDER BY students")[1..].to_vec();
    assert_eq!(erased, ["0", "1"], "one run erased the leaver, the other found nothing left");
    assert_eq!(files_holding(&env.warehouse, "LEAVER1"), Vec::<PathBuf>::new());
}

#[test]
fn a_subject_access_export_holds_everything_about_the_student_and_no_one_else() {
    let env = university();
    let dir = env.dir.path().join("sar");
    let run = env.run(&["sar", "LEAVER1", "--out", dir.to_str().unwrap()]).ok();
    let lines = |table: &str| -> usize {
        std::fs::read_to_string(dir.join("data").join(format!("{table}.csv")))
            .unwrap_or_else(|_| panic!("no {table}.csv: {}", run.stdout))
            .lines()
            .count()
            - 1
    };
    // Every table the student is in, with all their rows.
    for table in [
        "students",
        "class_lists",
        "swipes",
        "activity",
        "absences",
        "ratings",
        "disclosures",
        "consents",
        "sar_requests",
    ] {
        let mut held: usize = count(&env, table, "LEAVER1").parse().unwrap();
        if table == "sar_requests" {
            held -= 1; // this export is recorded once it is written
        }
        assert!(held > 0, "{table}");
        assert_eq!(lines(table), held, "{table}");
    }
    assert_eq!(lines("timetable"), 40, "the sessions they were timetabled for");
    let equality = std::fs::read_to_string(dir.join("data/equality.csv")).unwrap();
    assert!(equality.contains(",22,"), "ethnicity through the pseudonym: {equality}");
    let audit: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("data/audit.json")).unwrap()).unwrap();
    let commands: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["command"].as_str().unwrap()).collect();
    assert!(
        commands.contains(&"disclose") && commands.contains(&"consent") && commands.contains(&"sar"),
        "{commands:?}"
    );
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for needed in [
        "Why we hold it",
        "Recipients",
        "Parent",
        "How long we keep it",
        "no decision about you rests on a rating alone",
    ] {
        assert!(html.contains(needed), "{needed}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("subject-access.json")).unwrap()).unwrap();
    assert_eq!(json["data_held"], true);
    for table in ["activity", "swipes", "timetable", "audit"] {
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("data/{table}.json"))).unwrap()).unwrap();
        assert_eq!(json["tables"][table], file, "subject-access.json holds data/{table}.json");
    }
    assert_eq!(json["tables"]["timetable"].as_array().unwrap().len(), 40);
    assert_eq!(json["tables"]["activity"].as_array().unwrap().len(), lines("activity"));
    // One module, a session on each of the 40 teaching days, attended on the first ten.
    assert!(
        html.contains(
            "<tr><td>M1</td><td class=\"num\">40</td><td class=\"num\">10</td><td class=\"num\">25%</td></tr>"
        ),
        "attendance by module"
    );
    // Nothing about anyone else, in any file of the export.
    for file in files_below(&dir) {
        let text = std::fs::read_to_string(&file).unwrap();
        for other in ["HOLD1", "STAYER1"] {
            assert!(!text.contains(other), "{} mentions {other}", file.display());
        }
    }
    // After the purge the answer is that nothing is held.
    env.run(&["retention", "release", "HOLD1"]).ok();
    env.run(&["retention", "purge", "--as-of", "2032-07-01"]).ok();
    let after = env.dir.path().join("after");
    let run = env.run(&["sar", "LEAVER1", "--out", after.to_str().unwrap()]).ok();
    assert!(run.stdout.contains("no personal data is held"), "{}", run.stdout);
    assert!(std::fs::read_to_string(after.join("index.html")).unwrap().contains("No personal data is held"));
    let unknown = env.run(&["sar", "NOBODY", "--out", env.dir.path().join("unknown").to_str().unwrap()]).ok();
    assert!(unknown.stdout.contains("no personal data is held"));
}

#[test]
fn disclosures_need_a_legal_basis_or_an_active_consent() {
    let env = university();
    let disclose = |basis: &str, on: &str, fields: &str| {
        env.run(&[
            "disclose",
            "STAYER1",
            "--recipient",
            "Embassy",
            "--basis",
            basis,
            "--purpose",
            "REQ-9",
            "--fields",
            fields,
            "--on",
            on,
        ])
    };
    let before = env.scalar("SELECT count(*) FROM disclosures");
    assert!(disclose("curiosity", "2025-12-02", "attendance_rate").code(1).stderr.contains("not a legal basis"));
    assert!(disclose("consent", "2025-12-02", "attendance_rate").code(1).stderr.contains("no active consent"));
    env.run(&[
        "consent",
        "STAYER1",
        "--recipient",
        "Embassy",
        "--fields",
        "attendance_rate,status",
        "--from",
        "2025-12-01",
        "--to",
        "2025-12-31",
    ])
    .ok();
    assert!(disclose("consent", "2026-01-05", "attendance_rate").code(1).stderr.contains("no active consent"));
    assert!(disclose("consent", "2025-12-02", "attendance_rate,email").code(1).stderr.contains("no active consent"));
    assert_eq!(env.scalar("SELECT count(*) FROM disclosures"), before, "refusals log nothing");
    disclose("consent", "2025-12-02", "attendance_rate").ok();
    disclose("crime-prevention", "2026-01-05", "status").ok();
    // The funder return sent with --record logged one disclosure per line.
    assert_eq!(
        env.scalar("SELECT count(*) FROM disclosures WHERE source = 'return funder' AND recipient = 'SFE'"),
        env.scalar("SELECT count(*) FROM disclosures WHERE source = 'return funder'")
    );
    assert_ne!(env.scalar("SELECT count(*) FROM disclosures WHERE source = 'return funder'"), "0");
    assert_eq!(env.scalar("SELECT count(*) FROM disclosures WHERE student_id = 'STAYER1' AND source = 'ad hoc'"), "2");
}

#[test]
fn a_tampered_audit_trail_is_detected() {
    let env = university();
    let ok = env.run(&["audit", "verify"]).ok();
    assert!(ok.stdout.contains("audit trail intact"), "{}", ok.stdout);
    let log = env.warehouse.join("audit/audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() > 8, "every job appended an entry");
    assert!(!text.contains("LEAVER1") && !text.contains("STAYER1"), "no personal data in the audit trail");
    let lines: Vec<&str> = text.lines().collect();
    // An edited entry.
    std::fs::write(&log, text.replacen("\"command\":\"rate\"", "\"command\":\"ratE\"", 1)).unwrap();
    let bad = env.run(&["audit", "verify"]).code(1);
    assert!(bad.stderr.contains("audit/audit.jsonl:") && bad.stderr.contains("changed"), "{}", bad.stderr);
    // A removed entry.
    let removed: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != 3).map(|(_, l)| *l).collect();
    std::fs::write(&log, removed.join("\n") + "\n").unwrap();
    assert!(env.run(&["audit", "verify"]).code(1).stderr.contains("removed or reordered"));
    // Two entries swapped.
    let mut swapped = lines.clone();
    swapped.swap(2, 3);
    std::fs::write(&log, swapped.join("\n") + "\n").unwrap();
    env.run(&["audit", "verify"]).code(1);
    std::fs::write(&log, &text).unwrap();
    env.run(&["audit", "verify"]).ok();
}
