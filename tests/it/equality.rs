//! `rollcall equality`: differentially private releases, the budget ledger, stored
//! releases, extracts and keys, through the real binary.

use std::path::{Path, PathBuf};

use crate::common::{Env, Run, files_below, rollcall_command, set_mode};
use crate::fixtures::{TERMS, configure};

const HEADER: &str = "student_id,programme_code,department,level,stage,mode,start_date,status,ethnicity";

/// A university of 30 Black (code 22), 30 White (label) and 5 students of unknown
/// ethnicity, all rated up to 1 December, with the key configured; `cap` is the yearly
/// budget.
fn university(cap: &str) -> (Env, PathBuf) {
    let env = Env::new();
    let key = env.configure_key();
    configure(&env, "yearly_epsilon = 2.0", &format!("yearly_epsilon = {cap}"));
    env.ingest("terms", &[&env.file("terms.csv", TERMS)]);
    let mut csv = format!("{HEADER}\n");
    for i in 0..65 {
        let ethnicity = match i {
            0..30 => "22",
            30..60 => "White",
            _ => "",
        };
        csv.push_str(&format!("S{i:03},CS4,Computing,4,1,full-time,2025-09-22,active,{ethnicity}\n"));
    }
    env.ingest("students", &[&env.file("students.csv", &csv)]);
    env.run(&["rate", "--as-of", "2025-12-01"]).ok();
    (env, key)
}

fn release(env: &Env, epsilon: &str, out: &str, extra: &[&str]) -> Run {
    let out = env.dir.path().join(out);
    let mut args = vec!["equality", "--year", "2025-26", "--epsilon", epsilon, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    env.run(&args)
}

fn read(env: &Env, path: &str) -> String {
    std::fs::read_to_string(env.dir.path().join(path)).unwrap()
}

fn ledger_rows(env: &Env) -> String {
    env.scalar("SELECT count(*) FROM privacy_budget")
}

/// At epsilon 20,000 the noise scale is 4 / 20,000, so the counts are exact (a non-zero
/// draw has probability below 1e-2000): the plumbing from warehouse to page is checked
/// value by value.
#[test]
fn a_release_publishes_every_group_band_and_census_date() {
    let (env, _) = university("100000");
    let run = release(&env, "20000", "eq", &[]).ok();
    assert!(run.stdout.contains("charged"), "{}", run.stdout);
    let csv = read(&env, "eq/rating-by-ethnicity-group.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "census_date,ethnicity_group,rating,count,low,high,percent_of_group");
    let row = |prefix: &str| {
        lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line {prefix} in\n{csv}")).to_string()
    };
    // Nobody attended or engaged: everyone rated on 1 December is Very Low.
    assert!(row("2025-12-01,Black,Very Low,").starts_with("2025-12-01,Black,Very Low,30,"));
    assert!(row("2025-12-01,White,Very Low,").starts_with("2025-12-01,White,Very Low,30,"));
    assert!(row("2025-12-01,Unknown,Very Low,").starts_with("2025-12-01,Unknown,Very Low,5,"));
    assert!(row("2025-12-01,Asian,All,").starts_with("2025-12-01,Asian,All,0,"));
    assert!(row("2025-12-01,All groups,All,").starts_with("2025-12-01,All groups,All,65,"));
    assert!(row("2025-12-01,Black,Very Low,").ends_with(",100.0"), "share of the group: {csv}");
    // The spring census (end of spring term, 27 March) has no ratings yet.
    assert!(row("2026-03-27,Black,No rating,").starts_with("2026-03-27,Black,No rating,30,"));
    let escalation = read(&env, "eq/escalation-by-ethnicity-group.csv");
    assert!(escalation.contains("2025-12-01,White,none,30,"), "{escalation}");
    let meta: serde_json::Value = serde_json::from_str(&read(&env, "eq/release.json")).unwrap();
    assert_eq!(meta["tables_composed"], 4);
    assert_eq!(meta["input_distance"], 1);
    assert!((meta["epsilon"].as_f64().unwrap() - 20000.0).abs() < 1.0);
    let html = read(&env, "eq/index.html");
    assert!(html.contains("What the noise means") && html.contains("<svg"), "page");
    for fetch in ["<script", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(fetch), "self-contained page: {fetch}");
    }
    assert!(!html.contains("S001") && !csv.contains("S001"), "no student ids");
    // The budget shows the release.
    let budget = env.run(&["--format", "csv", "equality", "budget"]).ok();
    assert!(budget.stdout.starts_with("seq,release_id,academic_year,cohorts,students,"), "{}", budget.stdout);
    assert_eq!(budget.stdout.lines().count(), 2);
    assert!(budget.stdout.contains(",2025-26,2025-26,65,laplace,"), "{}", budget.stdout);
    assert!(
        budget.stderr.contains("students who started in 2025-26: epsilon 20000.0000 spent of 100000"),
        "{}",
        budget.stderr
    );
}

#[test]
fn the_same_question_is_answered_from_the_stored_release() {
    let (env, _) = university("10");
    release(&env, "1", "first", &[]).ok();
    let again = release(&env, "1", "second", &[]).ok();
    assert!(again.stdout.contains("re-served"), "{}", again.stdout);
    assert_eq!(ledger_rows(&env), "1", "nothing more charged");
    for file in ["rating-by-ethnicity-group.csv", "escalation-by-ethnicity-group.csv"] {
        assert_eq!(read(&env, &format!("first/{file}")), read(&env, &format!("second/{file}")), "{file}");
    }
    // A different question is a new release; --new-release draws and charges again.
    release(&env, "2", "third", &[]).ok();
    release(&env, "1", "fourth", &["--new-release"]).ok();
    assert_eq!(ledger_rows(&env), "3");
    assert_eq!(env.scalar("SELECT round(sum(epsilon), 6) FROM privacy_budget"), "4.0");
}

#[test]
fn a_release_beyond_the_budget_is_refused_and_spends_nothing() {
    let (env, _) = university("2");
    release(&env, "1.5", "a", &[]).ok();
    let refused = release(&env, "1", "b", &[]).code(1);
    assert!(refused.stderr.contains("refused") && refused.stderr.contains("0.5000"), "{}", refused.stderr);
    assert_eq!(ledger_rows(&env), "1");
    assert_eq!(env.scalar("SELECT count(DISTINCT release_id) FROM equality_releases"), "1");
    assert!(!env.dir.path().join("b").exists(), "nothing written for a refused release");
    // What is left can still be spent.
    release(&env, "0.5", "c", &[]).ok();
    assert_eq!(ledger_rows(&env), "2");
}

#[test]
fn two_jobs_racing_for_the_last_of_the_budget_cannot_both_win() {
    let (env, _) = university("2");
    // Different questions (the same question would be answered once and re-served).
    let spawn = |epsilon: &str, out: &str| {
        rollcall_command()
            .arg("--warehouse")
            .arg(&env.warehouse)
            .args(["equality", "--year", "2025-26", "--epsilon", epsilon, "--out"])
            .arg(env.dir.path().join(out))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("1.5", "a"), spawn("1.4", "b"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let wins = [a.status.success(), b.status.success()];
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "exactly one wins: {wins:?}");
    let loser = if wins[0] { &b } else { &a };
    assert!(String::from_utf8_lossy(&loser.stderr).contains("refused"));
    assert_eq!(ledger_rows(&env), "1");
    assert_eq!(env.scalar("SELECT sum(epsilon) <= 2.0 FROM privacy_budget"), "true");
}

#[test]
fn missing_unsafe_and_wrong_keys_are_refused() {
    let (env, key) = university("10");
    release(&env, "1", "ok", &[]).ok();
    // World-readable.
    set_mode(&key, 0o644);
    let run = release(&env, "1", "x", &["--new-release"]).code(1);
    assert!(run.stderr.contains("readable by every user"), "{}", run.stderr);
    set_mode(&key, 0o600);
    // A different key.
    std::fs::write(&key, [9u8; 32]).unwrap();
    let run = release(&env, "1", "x", &["--new-release"]).code(1);
    assert!(run.stderr.contains("not the key"), "{}", run.stderr);
    // No key at all.
    std::fs::remove_file(&key).unwrap();
    let run = release(&env, "1", "x", &["--new-release"]).code(1);
    assert!(run.stderr.contains("pseudonym key"), "{}", run.stderr);
    assert_eq!(ledger_rows(&env), "1", "no refused run spent anything");
}

pub(crate) fn pseudonym(key: &[u8], id: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(format!("equality\0{id}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Every string held in the Parquet files and transaction-log entries under `dir`.
pub(crate) fn parquet_text(dir: &Path) -> String {
    files_below(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet" || e == "json"))
        .map(|p| crate::privacy::text_of(&p))
        .collect()
}

#[test]
fn key_rotation_re_pseudonymises_the_equality_table() {
    let (env, key) = university("100000");
    release(&env, "20000", "before", &[]).ok();
    let equality = env.warehouse.join("tables/equality");
    assert!(parquet_text(&equality).contains(&pseudonym(&[7u8; 32], "S001")));

    let new_key = env.dir.path().join("new.key");
    std::fs::write(&new_key, [8u8; 32]).unwrap();
    set_mode(&new_key, 0o600);
    // The new key must itself be safe.
    set_mode(&new_key, 0o644);
    env.run(&["keys", "rotate", "--new-key", new_key.to_str().unwrap()]).code(1);
    set_mode(&new_key, 0o600);
    let run = env.run(&["keys", "rotate", "--new-key", new_key.to_str().unwrap()]).ok();
    assert!(run.stdout.contains("60 equality rows"), "{}", run.stdout);

    // No file of the table holds a pseudonym made with the old key; the new ones are there.
    let text = parquet_text(&equality);
    assert!(!text.contains(&pseudonym(&[7u8; 32], "S001")), "old pseudonyms remain");
    assert!(text.contains(&pseudonym(&[8u8; 32], "S001")));
    // The old key is now the wrong key; the new key gives the same answer.
    let run = release(&env, "20000", "x", &["--new-release"]).code(1);
    assert!(run.stderr.contains("not the key"), "{}", run.stderr);
    std::fs::copy(&new_key, &key).unwrap();
    release(&env, "20000", "after", &["--new-release"]).ok();
    assert_eq!(read(&env, "before/rating-by-ethnicity-group.csv"), read(&env, "after/rating-by-ethnicity-group.csv"));
    // Who the releases counted was re-keyed too: one student more is still one student
    // away from them, and refused.
    assert!(!parquet_text(&env.warehouse.join("tables/equality_populations")).contains(&pseudonym(&[7u8; 32], "S001")));
    let one = format!("{HEADER}\nONE,CS4,Computing,4,1,full-time,2025-09-22,active,22\n");
    env.ingest("students", &[&env.file("one.csv", &one)]);
    let refused = release(&env, "20000", "one-more", &["--new-release"]).code(1);
    assert!(refused.stderr.contains("by 1 student(s)"), "{}", refused.stderr);
}

#[test]
fn an_extract_is_k_anonymous_and_unlinkable() {
    let (env, _) = university("10");
    // Three students in a department of their own: too rare to publish as they are.
    let mut csv = format!("{HEADER}\n");
    for i in 0..3 {
        csv.push_str(&format!("R{i},LAW7,Law,7,1,part-time,2025-09-22,active,34\n"));
    }
    env.ingest("students", &[&env.file("rare.csv", &csv)]);
    let file = env.dir.path().join("extract.csv");
    let extract = |file: &Path| {
        env.run(&[
            "equality",
            "extract",
            "--year",
            "2025-26",
            "--approval",
            "DPO-2025-17",
            "--out",
            file.to_str().unwrap(),
        ])
    };
    let run = extract(&file).ok();
    // The three of Law are too few however generalised: suppressed. The five of unknown
    // ethnicity stay (ethnicity is not a quasi-identifier but the value protected: their
    // class holds three groups).
    assert!(run.stdout.contains("65 rows") && run.stdout.contains("3 suppressed"), "{}", run.stdout);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "pseudonym,ethnicity_group,department,level,stage,mode,low_rated_share");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 65);
    let mut classes = std::collections::HashMap::new();
    for r in &rows {
        *classes.entry(r[2..7].join(",")).or_insert(0) += 1;
    }
    assert!(classes.values().all(|n| *n >= 10), "{classes:?}");
    assert!(!text.contains("S001") && !text.contains("Law"), "no ids, no rare department");
    assert!(!text.contains(&pseudonym(&[7u8; 32], "S001")), "not the warehouse's pseudonyms");
    let about = std::fs::read_to_string(env.dir.path().join("extract.csv.about.txt")).unwrap();
    assert!(about.contains("k = 10") && about.contains("l = 2") && about.contains("approval DPO-2025-17"), "{about}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    // A second extract of the same students shares no pseudonym with the first.
    let second = env.dir.path().join("second.csv");
    extract(&second).ok();
    let first: std::collections::HashSet<&str> = rows.iter().map(|r| r[0]).collect();
    let other = std::fs::read_to_string(&second).unwrap();
    assert!(other.lines().skip(1).all(|l| !first.contains(l.split(',').next().unwrap())));
    assert_eq!(env.scalar("SELECT count(*) FROM equality_extracts WHERE approval = 'DPO-2025-17'"), "2");
}

#[test]
fn gaussian_releases_are_charged_as_epsilon_delta_under_the_replace_relation() {
    let (env, _) = university("100000");
    configure(&env, "mechanism = \"laplace\"", "mechanism = \"gaussian\"");
    configure(&env, "neighbours = \"add-remove\"", "neighbours = \"replace\"");
    release(&env, "20000", "g", &[]).ok();
    let meta: serde_json::Value = serde_json::from_str(&read(&env, "g/release.json")).unwrap();
    assert_eq!(meta["mechanism"], "gaussian");
    assert_eq!(meta["input_distance"], 2);
    assert_eq!(meta["delta"], 1e-7);
    let epsilon = meta["epsilon"].as_f64().unwrap();
    assert!(epsilon <= 20000.0 && epsilon > 19999.0, "{epsilon}");
    assert!(read(&env, "g/rating-by-ethnicity-group.csv").contains("2025-12-01,Black,Very Low,30,"));
    assert!(read(&env, "g/index.html").contains("discrete Gaussian"));
    assert_eq!(
        env.scalar("SELECT mechanism || ' ' || neighbours || ' ' || CAST(delta AS VARCHAR) FROM privacy_budget"),
        "gaussian replace 1e-7"
    );
}
