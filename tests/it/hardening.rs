//! Bad input and unsafe outputs (issue "Crash, tamper and bad-input hardening"): each test
//! is named by the finding it checks, through the real binary.

use crate::common::Env;

const TERMS_HEADER: &str = "academic_year,term,starts_on,ends_on";

/// Finding 4: line numbers in CR LF files are the file's own, in messages and in the
/// rejects file, whether the file is read whole or in parallel parts.
#[test]
fn finding_4_line_numbers_in_crlf_files_are_the_files_own() {
    let env = Env::new();
    let mut rows = vec![TERMS_HEADER.to_string()];
    for i in 0..300 {
        rows.push(format!("2025-26,t{i},2025-09-29,2025-12-12"));
    }
    rows[150] = "2025-26,t149,bad,2025-12-12".into(); // line 151
    rows[290] = "2025-26,t289,bad,2025-12-12".into(); // line 291
    let crlf = env.file("terms.csv", &(rows.join("\r\n") + "\r\n"));
    // Read whole, and in parts of about 2,000 bytes (each part's line count matters).
    for split in ["1000000000", "2000"] {
        let run =
            env.run_with(&["ingest", "terms", &crlf], &[("ROLLCALL_SPLIT_BYTES", std::path::Path::new(split))]).code(1);
        assert!(run.stderr.contains("terms.csv:151: column 'starts_on'"), "split {split}: {}", run.stderr);
        assert!(run.stderr.contains("terms.csv:291: column 'starts_on'"), "split {split}: {}", run.stderr);
    }
}

/// Finding 3: `--quarantine` keeps the good rows of a file with a row of the wrong width,
/// and writes that row to the rejects file under its line.
#[test]
fn finding_3_quarantine_takes_a_row_of_the_wrong_width() {
    let env = Env::new();
    let file = env.file(
        "students.csv",
        "student_id,programme_code,department,level,stage,mode,start_date,status\n\
         S1,P,D,4,1,full-time,2025-09-22,active\n\
         S2,P,D,4,1,full-time\n",
    );
    let run = env.run(&["ingest", "students", &file, "--quarantine"]).ok();
    assert!(run.stdout.contains("1 added") && run.stdout.contains("1 rejected"), "{}", run.stdout);
    let rejects = std::fs::read_to_string(format!("{file}.rejects.csv")).unwrap();
    assert!(rejects.lines().nth(1).unwrap().starts_with("3,\"row has 6 fields, the header has 8\",S2,"), "{rejects}");
}

/// Finding 5: a file without its header row is named as such, and none of its values is
/// printed as a column name.
#[test]
fn finding_5_a_file_without_its_header_prints_no_value() {
    let env = Env::new();
    let file = env.file(
        "students.csv",
        "S1000001,P1,Dept,4,1,full-time,2025-09-22,active,Ann Example\n\
         S1000001,P1,Dept,4,1,full-time,2025-09-22,active,Ann Example\n",
    );
    let run = env.run(&["ingest", "students", &file]).code(1);
    assert!(run.stderr.contains("is the header row missing?"), "{}", run.stderr);
    for value in ["S1000001", "Ann", "2025-09-22", "Dept"] {
        assert!(!run.stderr.contains(value) && !run.stdout.contains(value), "{value} printed: {}", run.stderr);
    }
}

/// Finding 8: `--out` cannot point inside the warehouse or at the pseudonym key.
#[test]
fn finding_8_out_never_writes_over_the_warehouse_or_the_key() {
    let env = Env::new();
    let key = env.configure_key();
    let config = env.warehouse.join("rollcall.toml");
    let before = std::fs::read(&config).unwrap();
    for target in [config.clone(), env.warehouse.join("audit/audit.jsonl"), env.warehouse.join("tables/x.csv")] {
        let run = env.run(&["ratings", "--date", "2025-10-01", "--out", target.to_str().unwrap()]).code(2);
        assert!(run.stderr.contains("inside the warehouse"), "{}", run.stderr);
    }
    let run = env.run(&["ratings", "--date", "2025-10-01", "--out", key.to_str().unwrap()]).code(2);
    assert!(run.stderr.contains("the pseudonym key"), "{}", run.stderr);
    assert_eq!(std::fs::read(&config).unwrap(), before);
    env.run(&["audit", "verify"]).ok();
}

/// Finding 10: text cells that a spreadsheet would run as formulas are written with a
/// leading apostrophe in CSV outputs (OWASP), and as held with `--format csv-raw`.
#[test]
fn finding_10_csv_outputs_carry_no_formula() {
    let env = Env::new();
    let students = "student_id,programme_code,department,level,stage,mode,start_date,status\n\
        S1,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",+cmd|' /C calc'!A0,4,1,full-time,2025-09-22,active\n";
    env.ingest("students", &[&env.file("students.csv", students)]);
    let query = "SELECT student_id, programme_code, department, level FROM students";
    let safe = env.run(&["--format", "csv", "sql", query]).ok();
    assert!(
        safe.stdout.contains("S1,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+cmd|' /C calc'!A0,4"),
        "{}",
        safe.stdout
    );
    let raw = env.run(&["--format", "csv-raw", "sql", query]).ok();
    assert!(raw.stdout.contains("S1,\"=HYPERLINK("), "{}", raw.stdout);
}

/// Finding 2: a release charged by a run that stopped before storing its figures is
/// completed by the next run under the same charge, not charged again.
#[test]
fn finding_2_a_release_stopped_after_its_charge_is_not_charged_again() {
    let env = Env::new();
    env.configure_key();
    env.ingest("terms", &[&env.file("terms.csv", crate::fixtures::TERMS)]);
    let mut csv = String::from("student_id,programme_code,department,level,stage,mode,start_date,status,ethnicity\n");
    for i in 0..30 {
        csv.push_str(&format!("S{i:02},P,D,4,1,full-time,2025-09-22,active,{}\n", ["10", "22", "31"][i % 3]));
    }
    env.ingest("students", &[&env.file("students.csv", &csv)]);
    let out = env.dir.path().join("eq");
    let release = |dir: &str| {
        let dir = env.dir.path().join(dir);
        env.run(&["equality", "--year", "2025-26", "--epsilon", "1", "--out", dir.to_str().unwrap()])
    };
    release("eq").ok();
    // The state a kill between the charge and the store leaves: the charge, no figures.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use datafusion::prelude::col;
        let warehouse = rollcall::warehouse::Warehouse::open(&env.warehouse, None).unwrap();
        warehouse
            .delete_where(&rollcall::warehouse::tables::EQUALITY_RELEASES, col("table_name").is_not_null())
            .await
            .unwrap();
    });
    std::fs::remove_dir_all(&out).unwrap();
    let run = release("again").ok();
    assert!(run.stdout.contains("nothing charged again"), "{}", run.stdout);
    assert_eq!(env.scalar("SELECT count(*) FROM privacy_budget"), "1");
    assert!(env.dir.path().join("again/rating-by-ethnicity-group.csv").exists());
    // And from now on it is re-served.
    let run = release("third").ok();
    assert!(run.stdout.contains("re-served"), "{}", run.stdout);
}

/// Finding 13: a NUL byte or a 10 MB value is not an identifier, and a timestamp outside
/// the years 1 to 9999 is refused, each by line and column.
#[test]
fn finding_13_nul_bytes_huge_values_and_impossible_years_are_refused() {
    let env = Env::new();
    let header = "student_id,programme_code,department,level,stage,mode,start_date,status\n";
    let nul = env.file("nul.csv", &format!("{header}S\u{0}1,P,D,4,1,full-time,2025-09-22,active\n"));
    let run = env.run(&["ingest", "students", &nul]).code(1);
    assert!(run.stderr.contains("nul.csv:2: column 'student_id': holds a control character"), "{}", run.stderr);
    let huge = env.file("huge.csv", &format!("{header}{},P,D,4,1,full-time,2025-09-22,active\n", "S".repeat(10 << 20)));
    let run = env.run(&["ingest", "students", &huge]).code(1);
    assert!(run.stderr.contains("huge.csv:2: column 'student_id': longer than 4096 bytes"), "{}", run.stderr);
    assert!(run.stderr.len() < 10_000, "the value is not printed");
    let swipes = env.file("swipes.csv", "student_id,room,swiped_at\nS1,R1,0001-01-01T00:30:00+01:00\n");
    let run = env.run(&["ingest", "swipes", &swipes]).code(1);
    assert!(run.stderr.contains("outside the years 1 to 9999"), "{}", run.stderr);
}

/// Finding 13: `--wait SECONDS` gives up on a warehouse lock another job holds, with
/// nothing done, instead of waiting without end.
#[test]
fn finding_13_a_job_gives_up_on_a_held_lock_after_wait_seconds() {
    let env = Env::new();
    let terms = env.file("terms.csv", crate::fixtures::TERMS);
    let lock = std::fs::OpenOptions::new().write(true).open(env.warehouse.join(".rollcall.lock")).unwrap();
    lock.lock().unwrap();
    let started = std::time::Instant::now();
    let run = env.run(&["--wait", "1", "ingest", "terms", &terms]).code(1);
    assert!(run.stderr.contains("still holds the warehouse lock after 1 s (--wait)"), "{}", run.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(env.scalar("SELECT count(*) FROM terms"), "0", "nothing was done");
    lock.unlock().unwrap();
    env.run(&["--wait", "1", "ingest", "terms", &terms]).ok();
    assert_eq!(env.scalar("SELECT count(*) FROM terms"), "3");
}

/// A warehouse with an audit key and a few entries, each job after the first committing
/// to tables (whose commits anchor the trail's head).
fn audited_university() -> (Env, std::path::PathBuf) {
    let env = Env::new();
    let key = env.dir.path().join("audit.key");
    std::fs::write(&key, [5u8; 32]).unwrap();
    crate::common::set_mode(&key, 0o600);
    crate::fixtures::configure(
        &env,
        "# audit_key_file = \"/etc/rollcall/audit.key\"",
        &format!("audit_key_file = \"{}\"", key.display()),
    );
    env.ingest("terms", &[&env.file("terms.csv", crate::fixtures::TERMS)]);
    let header = "student_id,programme_code,department,level,stage,mode,start_date,status\n";
    env.ingest("students", &[&env.file("a.csv", &format!("{header}A1,P,D,4,1,full-time,2025-09-22,active\n"))]);
    env.ingest("students", &[&env.file("b.csv", &format!("{header}B1,P,D,4,1,full-time,2025-09-22,active\n"))]);
    env.run(&["rate", "--as-of", "2025-11-01"]).ok();
    let run = env.run(&["audit", "verify"]).ok();
    assert!(run.stdout.contains("seal(s) checked"), "{}", run.stdout);
    (env, key)
}

fn entries(env: &Env) -> Vec<rollcall::compliance::audit::Entry> {
    rollcall::compliance::audit::entries(&env.warehouse).unwrap()
}

/// Writes entries back as the log, re-hashing the chain as anyone could (SHA-256 is public)
/// and rewriting the head to match; seals are copied unchanged (they need the key).
fn rewrite_chain(env: &Env, mut entries: Vec<rollcall::compliance::audit::Entry>) {
    use sha2::Digest;
    let mut prev = "0".repeat(64);
    let mut text = String::new();
    for e in &mut entries {
        e.prev = prev.clone();
        let mut bare = e.clone();
        bare.hash = String::new();
        bare.seal = None;
        e.hash = hex::encode(sha2::Sha256::digest(format!("{prev}\n{}", serde_json::to_string(&bare).unwrap())));
        prev = e.hash.clone();
        text.push_str(&serde_json::to_string(e).unwrap());
        text.push('\n');
    }
    std::fs::write(env.warehouse.join("audit/audit.jsonl"), text).unwrap();
    let last = entries.last().map(|e| format!("{} {}\n", e.seq, e.hash)).unwrap_or_default();
    std::fs::write(env.warehouse.join("audit/head"), last).unwrap();
}

/// Finding 7: the four tamperings `audit verify` missed are each found: the log and head
/// deleted, the log emptied, a cut with the head rewritten, an edit with the chain re-hashed
/// (with and without the audit key configured).
#[test]
fn finding_7_deletion_emptying_cutting_and_rehashing_the_trail_are_found() {
    let (env, key) = audited_university();
    let log = env.warehouse.join("audit/audit.jsonl");
    let head = env.warehouse.join("audit/head");
    let (saved_log, saved_head) = (std::fs::read(&log).unwrap(), std::fs::read(&head).unwrap());
    let restore = || {
        std::fs::write(&log, &saved_log).unwrap();
        std::fs::write(&head, &saved_head).unwrap();
        env.run(&["audit", "verify"]).ok();
    };
    let original = entries(&env);
    assert!(original.len() >= 4 && original.iter().all(|e| e.seal.is_some()));

    // 1. Log and head both deleted.
    std::fs::remove_file(&log).unwrap();
    std::fs::remove_file(&head).unwrap();
    let run = env.run(&["audit", "verify"]).code(1);
    assert!(run.stderr.contains("which the trail no longer holds"), "{}", run.stderr);
    restore();

    // 2. The log emptied, the head left.
    std::fs::write(&log, "").unwrap();
    let run = env.run(&["audit", "verify"]).code(1);
    assert!(run.stderr.contains("no longer holds"), "{}", run.stderr);
    restore();

    // 3. Cut back to its first two entries, the head rewritten to match.
    rewrite_chain(&env, original[..2].to_vec());
    let run = env.run(&["audit", "verify"]).code(1);
    assert!(run.stderr.contains("no longer holds"), "{}", run.stderr);
    restore();

    // 4. An entry edited and the whole chain re-hashed: its seal and the anchors disagree.
    let mut edited = original.clone();
    edited[1].details.insert("rows".into(), serde_json::Value::from(0));
    rewrite_chain(&env, edited.clone());
    let run = env.run(&["audit", "verify"]).code(1);
    assert!(run.stderr.contains("entry 2's seal does not match"), "{}", run.stderr);
    assert!(run.stderr.contains("with a different hash than the trail holds"), "{}", run.stderr);
    // Seals stripped as well: the entries after the first sealed one say so, and the anchors still hold.
    for e in &mut edited[1..] {
        e.seal = None;
    }
    rewrite_chain(&env, edited.clone());
    let run = env.run(&["audit", "verify"]).code(1);
    assert!(run.stderr.contains("carries no seal though entries before it do"), "{}", run.stderr);
    // Without the audit key configured, the anchors alone still find the re-hash.
    let configured = format!("audit_key_file = \"{}\"", key.display());
    let unconfigured = "# audit_key_file = \"/etc/rollcall/audit.key\"";
    crate::fixtures::configure(&env, &configured, unconfigured);
    let unkeyed = env.run(&["audit", "verify"]).code(1);
    assert!(unkeyed.stderr.contains("with a different hash than the trail holds"), "{}", unkeyed.stderr);
    assert!(unkeyed.stderr.contains("seals that were not checked"), "{}", unkeyed.stderr);
    crate::fixtures::configure(&env, unconfigured, &configured);
    std::fs::remove_file(&key).unwrap();
    let run = env.run(&["audit", "verify"]);
    assert_eq!(run.code, 1, "a configured key that is missing is an error: {}", run.stderr);
    std::fs::write(&key, [5u8; 32]).unwrap();
    crate::common::set_mode(&key, 0o600);
    restore();
}
