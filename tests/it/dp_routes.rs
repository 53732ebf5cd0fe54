//! The routes around differential privacy, closed (issue "Close the routes around
//! differential privacy"): each test is named by the finding it would have caught, and
//! drives the real binary.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::common::{Env, Run, files_below, rollcall_command};
use crate::fixtures::{TERMS, activity, configure, days, weekday};

const HEADER: &str = "student_id,programme_code,department,level,stage,mode,start_date,status,ethnicity";
const DEPARTMENTS: [&str; 4] = ["Physics", "History", "Law", "Music"];
const ETHNICITY: [&str; 5] = ["10", "22", "31", "34", ""];

/// One generated student: department, level, stage, mode, ethnicity code and how
/// engaged they are (0: never, 1: one day in three, 2: every day, 3: every day until the
/// last five weeks, 4: every day until the last two weeks).
fn attributes(i: usize) -> (&'static str, usize, usize, &'static str, &'static str, usize) {
    let department = DEPARTMENTS[i % 4];
    let level = 4 + (i / 4) % 4;
    let stage = 1 + (i / 16) % 3;
    let mode = if i.is_multiple_of(7) { "part-time" } else { "full-time" };
    let ethnicity = ETHNICITY[(i * 7 + i / 5) % 5];
    (department, level, stage, mode, ethnicity, (i / 3) % 5)
}

/// A university of `n` students of four departments, four levels, three stages, two
/// modes, five ethnicity values and three kinds of engagement, rated to 1 December.
fn university(n: usize) -> Env {
    let env = Env::new();
    env.configure_key();
    env.ingest("terms", &[&env.file("terms.csv", TERMS)]);
    let mut csv = format!("{HEADER}\n");
    for i in 0..n {
        let (department, level, stage, mode, ethnicity, _) = attributes(i);
        csv.push_str(&format!("S{i:03},P{level},{department},{level},{stage},{mode},2025-09-22,active,{ethnicity}\n"));
    }
    env.ingest("students", &[&env.file("students.csv", &csv)]);
    let teaching = days("2025-09-29", "2025-12-01", weekday);
    let ids: Vec<String> = (0..n).map(|i| format!("S{i:03}")).collect();
    let mut rows = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let engagement = attributes(i).5;
        for (d, day) in teaching.iter().enumerate() {
            let until = teaching.len() - [0, 0, 0, 25, 10][engagement];
            let active = match engagement {
                1 => d.is_multiple_of(3),
                2..=4 => d < until,
                _ => false,
            };
            if active {
                rows.push((id.as_str(), *day, "vle", 20));
            }
        }
    }
    activity(&env, "vle.csv", &rows);
    env.run(&["rate", "--as-of", "2025-12-01"]).ok();
    env
}

fn extract(env: &Env, name: &str) -> Run {
    let file = env.dir.path().join(name);
    env.run(&["equality", "extract", "--year", "2025-26", "--approval", "DPO-7", "--out", file.to_str().unwrap()])
}

/// The band of a share of rated days rated Low or below, as the README defines them.
fn band(rated: i64, low: i64) -> &'static str {
    if rated == 0 {
        return "no rated day";
    }
    let share = low as f64 / rated as f64;
    if share < 0.10 {
        "under 10%"
    } else if share < 0.25 {
        "10% to 24%"
    } else if share < 0.50 {
        "25% to 49%"
    } else {
        "50% or more"
    }
}

/// Whether a published value (possibly generalised) is compatible with a held one.
fn compatible(column: usize, published: &str, held: &str) -> bool {
    match (column, published) {
        (_, "*") => true,
        (1, "UG") => held.parse::<i64>().is_ok_and(|l| (3..=6).contains(&l)),
        (1, "PG") => held == "7",
        (4, "under 50%") => ["under 10%", "10% to 24%", "25% to 49%"].contains(&held),
        _ => published == held,
    }
}

/// Finding 1: linking the extract to what an analyst can read (`rollcall sql` on the
/// students and ratings tables) matches no student to fewer than k rows, and no class
/// of the extract holds a single ethnicity group.
#[test]
fn finding_1_an_extract_links_no_student_to_fewer_than_k_rows_and_no_class_gives_a_group_away() {
    let env = university(240);
    let run = extract(&env, "extract.csv").ok();
    assert!(run.stdout.contains("(k = 10, l = 2)"), "{}", run.stdout);
    let text = std::fs::read_to_string(env.dir.path().join("extract.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(!header.contains("rating_"), "no census-date rating column: {header}");
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
    assert!(rows.len() > 150, "most students are published: {}", rows.len());

    // What an analyst holds about each student.
    let held: Vec<String> = env.sql(
        "SELECT s.student_id, s.department, CAST(s.level AS VARCHAR), CAST(s.stage AS VARCHAR), s.mode, \
         CAST(count(r.day) AS VARCHAR), CAST(sum(CASE WHEN r.rating IN ('Very Low', 'Low') THEN 1 ELSE 0 END) AS VARCHAR) \
         FROM students s LEFT JOIN ratings r ON r.student_id = s.student_id AND r.day <= DATE '2026-03-27' \
         GROUP BY s.student_id, s.department, s.level, s.stage, s.mode",
    );
    let mut matched_any = 0;
    let mut bands = BTreeSet::new();
    for line in &held[1..] {
        let f: Vec<&str> = line.split(',').collect();
        let share = band(f[5].parse().unwrap(), f[6].parse().unwrap_or(0));
        bands.insert(share);
        let mine = [f[1], f[2], f[3], f[4], share];
        let matches = rows.iter().filter(|r| (0..5).all(|c| compatible(c, &r[2 + c], mine[c]))).count();
        assert!(matches == 0 || matches >= 10, "student {} matches {matches} rows", f[0]);
        matched_any += usize::from(matches > 0);
    }
    assert!(bands.len() >= 3, "the fixture's engagement spreads over the bands: {bands:?}");
    assert!(matched_any > 150);
    let mut classes: HashMap<Vec<String>, (usize, BTreeSet<String>)> = HashMap::new();
    for r in &rows {
        let class = classes.entry(r[2..7].to_vec()).or_default();
        class.0 += 1;
        class.1.insert(r[1].clone());
    }
    for (qi, (n, groups)) in &classes {
        assert!(*n >= 10 && groups.len() >= 2, "class {qi:?}: {n} rows, groups {groups:?}");
    }
}

/// Finding 1, the guards: an extract needs an approval reference, is limited per year,
/// and is refused when the students it would publish differ from an earlier extract's by
/// fewer than `min_population_change` (the added student's row would be the difference).
#[test]
fn finding_1_extracts_are_approved_limited_and_never_a_few_students_apart() {
    let env = university(120);
    let file = env.dir.path().join("x.csv");
    let unapproved = env.run(&["equality", "extract", "--year", "2025-26", "--out", file.to_str().unwrap()]).code(2);
    assert!(unapproved.stderr.contains("--approval"), "{}", unapproved.stderr);
    let bad = env.run(&["equality", "extract", "--approval", "", "--out", file.to_str().unwrap()]).code(2);
    assert!(bad.stderr.contains("approval"), "{}", bad.stderr);
    assert!(!file.exists());
    extract(&env, "first.csv").ok();
    let audit = std::fs::read_to_string(env.warehouse.join("audit/audit.jsonl")).unwrap();
    assert!(audit.contains("\"approval\":\"DPO-7\""), "the approval is in the audit trail");

    // One student more, like S001 (History, level 4, stage 1, full-time, never engaged):
    // refused, nothing written or logged.
    env.ingest(
        "students",
        &[&env.file("new.csv", &format!("{HEADER}\nNEW,P4,History,4,1,full-time,2025-09-22,active,10\n"))],
    );
    env.run(&["rate", "--as-of", "2025-12-01"]).ok();
    let refused = extract(&env, "second.csv").code(1);
    assert!(refused.stderr.contains("by 1 student(s)"), "{}", refused.stderr);
    assert!(!env.dir.path().join("second.csv").exists());
    assert_eq!(env.scalar("SELECT count(*) FROM equality_extracts"), "1");

    // The per-year limit.
    configure(&env, "extracts_per_year = 4", "extracts_per_year = 1");
    let limited = extract(&env, "third.csv").code(1);
    assert!(limited.stderr.contains("extracts_per_year"), "{}", limited.stderr);
}

fn release(env: &Env, year: &str, epsilon: &str, out: &str, extra: &[&str]) -> Run {
    let out = env.dir.path().join(out);
    let mut args = vec!["equality", "--year", year, "--epsilon", epsilon, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    env.run(&args)
}

/// Finding 2: the budget belongs to the students counted. A release labelled with another
/// year that counts the same students is charged to the same budget (and refused when it
/// is spent); a census date yet to come is refused; a dry run spends nothing.
#[test]
fn finding_2_a_release_under_another_year_label_spends_the_same_students_budget() {
    let env = Env::new();
    env.configure_key();
    env.ingest("terms", &[&env.file("terms.csv", crate::fixtures::TERMS)]);
    let mut csv = format!("{HEADER}\n");
    for i in 0..40 {
        csv.push_str(&format!("S{i:03},P4,Physics,5,2,full-time,2024-09-23,active,{}\n", ETHNICITY[i % 5]));
    }
    env.ingest("students", &[&env.file("students.csv", &csv)]);
    configure(&env, "census = [\"12-01\", \"end:spring\"]", "census = [\"12-01\"]");
    let dry = release(&env, "2025-26", "1.5", "dry", &["--dry-run"]).ok();
    assert!(
        dry.stdout.contains("would charge epsilon 1.5000 to the students who started in 2024-25"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("1.5000 spent of 2, 0.5000 left after it"), "{}", dry.stdout);
    assert_eq!(env.scalar("SELECT count(*) FROM privacy_budget"), "0", "a dry run spends nothing");

    release(&env, "2025-26", "1.5", "now", &[]).ok();
    // 2024-25's census (1 December 2024) counts the same 40 students, who started in
    // September 2024: their budget has 0.5 left.
    let again = release(&env, "2024-25", "1", "before", &[]).code(1);
    assert!(again.stderr.contains("the students who started in 2024-25 have only 0.5000"), "{}", again.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM privacy_budget"), "1");
    release(&env, "2024-25", "0.5", "before", &[]).ok();
    let budget = env.run(&["equality", "budget"]).ok();
    assert!(
        budget.stderr.contains("started in 2024-25: epsilon 2.0000 spent of 2 in 2 release(s)"),
        "{}",
        budget.stderr
    );
    // A year whose census date has not come: nothing to count yet.
    let future = release(&env, "2030-31", "0.1", "future", &[]).code(1);
    assert!(future.stderr.contains("has not come yet"), "{}", future.stderr);
}

fn ledger_log(env: &Env) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = files_below(&env.warehouse.join("tables/privacy_budget/_delta_log"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn small_university() -> Env {
    let env = Env::new();
    env.configure_key();
    env.ingest("terms", &[&env.file("terms.csv", TERMS)]);
    let mut csv = format!("{HEADER}\n");
    for i in 0..40 {
        csv.push_str(&format!("S{i:03},P4,Physics,4,1,full-time,2025-09-22,active,{}\n", ETHNICITY[i % 5]));
    }
    env.ingest("students", &[&env.file("students.csv", &csv)]);
    env
}

/// Finding 3: removing the newest ledger version, rewriting an entry's spend to zero, or
/// deleting the ledger makes `audit verify` and the next release fail; `init` does not
/// recreate a ledger that charges were made to; another `--config` cannot raise the cap.
#[test]
fn finding_3_a_removed_or_rewritten_ledger_version_fails_verification_and_the_next_release() {
    let env = small_university();
    release(&env, "2025-26", "0.5", "a", &[]).ok();
    release(&env, "2025-26", "0.25", "b", &[]).ok();
    let verified = env.run(&["audit", "verify"]).ok();
    assert!(verified.stdout.contains("privacy-budget ledger intact: 2 charge(s)"), "{}", verified.stdout);

    // The newest ledger version removed: the budget would be 0.25 richer.
    let newest = ledger_log(&env).pop().unwrap();
    let saved = std::fs::read(&newest).unwrap();
    std::fs::remove_file(&newest).unwrap();
    let broken = env.run(&["audit", "verify"]).code(1);
    assert!(broken.stderr.contains("which the ledger no longer holds"), "{}", broken.stderr);
    let refused = release(&env, "2025-26", "0.125", "c", &[]).code(1);
    assert!(refused.stderr.contains("does not match the audit trail"), "{}", refused.stderr);
    std::fs::write(&newest, saved).unwrap();
    env.run(&["audit", "verify"]).ok();

    // An entry's spend rewritten to zero in a new ledger version.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use datafusion::prelude::{col, lit};
        let warehouse = rollcall::warehouse::Warehouse::open(&env.warehouse, None).unwrap();
        let def = rollcall::warehouse::tables::PRIVACY_BUDGET;
        warehouse.update_where(&def, col("seq").eq(lit(1i64)), "epsilon", lit(0.0f64)).await.unwrap();
    });
    let rewritten = env.run(&["audit", "verify"]).code(1);
    assert!(
        rewritten.stderr.contains("entry 1") && rewritten.stderr.contains("changed after it was charged"),
        "{}",
        rewritten.stderr
    );
    release(&env, "2025-26", "0.125", "d", &[]).code(1);

    // The ledger deleted: `init` refuses to recreate it empty, and releases stay refused.
    std::fs::remove_dir_all(env.warehouse.join("tables/privacy_budget")).unwrap();
    let init = env.run(&["init"]).code(1);
    assert!(init.stderr.contains("records 2 charge(s)"), "{}", init.stderr);
    assert!(!env.warehouse.join("tables/privacy_budget").exists());
    env.run(&["audit", "verify"]).code(1);
}

#[test]
fn finding_3_another_config_cannot_raise_the_cap() {
    let env = small_university();
    let own = std::fs::read_to_string(env.warehouse.join("rollcall.toml")).unwrap();
    let other = env.dir.path().join("generous.toml");
    std::fs::write(&other, own.replace("yearly_epsilon = 2.0", "yearly_epsilon = 100.0")).unwrap();
    let out = env.dir.path().join("big");
    let run = env
        .run(&[
            "--config",
            other.to_str().unwrap(),
            "equality",
            "--year",
            "2025-26",
            "--epsilon",
            "5",
            "--out",
            out.to_str().unwrap(),
        ])
        .code(1);
    assert!(run.stderr.contains("budget of 2 left") || run.stderr.contains("of their budget of 2"), "{}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM privacy_budget"), "0");
}

/// Finding 4: the equality table shares no column with another table (a day at most), keeps
/// no earlier version to diff against after an ingest, and its files are owner-only.
#[test]
fn finding_4_the_equality_table_has_no_link_fields_no_history_and_owner_only_files() {
    use std::os::unix::fs::PermissionsExt;
    let env = small_university();
    env.ingest(
        "students",
        &[&env.file("one.csv", &format!("{HEADER}\nONE,P4,Physics,4,1,full-time,2025-09-22,active,34\n"))],
    );
    let table = env.warehouse.join("tables/equality");
    let files = files_below(&table);
    let parquet: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet") && !p.to_string_lossy().contains("checkpoint"))
        .collect();
    assert_eq!(parquet.len(), 1, "only the latest version's file: {files:?}");
    let log: Vec<_> = files.iter().filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    assert_eq!(log.len(), 1, "only the latest version's log entry: {files:?}");
    for f in &files {
        assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o077, 0, "{} is owner-only", f.display());
    }
    // Its columns: the pseudonym, the value and a day; the students' ingest time is not there.
    let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(parquet[0]).unwrap()).unwrap();
    use parquet::file::reader::FileReader;
    let schema = reader.metadata().file_metadata().schema_descr();
    let columns: Vec<String> = schema.columns().iter().map(|c| c.name().to_string()).collect();
    assert_eq!(columns, ["pseudonym", "ethnicity", "ingested_on"]);
    // A day (32-bit date), never the students' microsecond ingest time (64-bit timestamp).
    assert_eq!(schema.column(2).physical_type(), parquet::basic::Type::INT32);
    assert!(
        env.sql("SELECT * FROM students LIMIT 1")[0].split(',').all(|c| !["pseudonym", "ingested_on"].contains(&c))
    );
}

/// Finding 5: nothing published is a function of the unrounded value but the rounded count:
/// every cell with the same rounded count has the same interval, percentages come from
/// rounded counts, and the stored release is exactly what was published.
#[test]
fn finding_5_the_unrounded_values_cannot_be_recovered_from_what_is_published() {
    let env = university(240);
    release(&env, "2025-26", "1", "eq", &[]).ok();
    let csv = std::fs::read_to_string(env.dir.path().join("eq/rating-by-ethnicity-group.csv")).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let mut intervals: BTreeMap<(bool, bool, i64), BTreeSet<(i64, i64)>> = BTreeMap::new();
    let totals: HashMap<(&str, &str), i64> =
        lines.iter().filter(|l| l[2] == "All").map(|l| ((l[0], l[1]), l[3].parse().unwrap())).collect();
    for l in &lines {
        let (count, low, high): (i64, i64, i64) = (l[3].parse().unwrap(), l[4].parse().unwrap(), l[5].parse().unwrap());
        assert!(
            count % 5 == 0 && low % 5 == 0 && high % 5 == 0 && count >= 0 && low <= count && count <= high,
            "{l:?}"
        );
        intervals.entry((l[1] == "All groups", l[2] == "All", count)).or_default().insert((low, high));
        let total = totals[&(l[0], l[1])];
        if total >= 25 {
            assert_eq!(
                l[6],
                format!("{:.1}", 100.0 * count as f64 / total as f64),
                "percent from rounded counts: {l:?}"
            );
        }
    }
    for (kind, seen) in &intervals {
        assert_eq!(seen.len(), 1, "one interval per rounded count and kind of figure {kind:?}: {seen:?}");
    }
    let stored = env.sql(
        "SELECT CAST(census_date AS VARCHAR) AS d, ethnicity_group, category, CAST(count AS VARCHAR) AS n, \
         CAST(low AS VARCHAR) AS lo, CAST(high AS VARCHAR) AS hi, percent_of_group FROM equality_releases \
         WHERE table_name = 'rating'",
    );
    let mut published: Vec<String> = csv.lines().skip(1).map(str::to_string).collect();
    published.sort();
    let mut stored: Vec<String> = stored[1..].to_vec();
    stored.sort();
    assert_eq!(stored, published, "the stored release is what was published, nothing more");
}

/// Finding 6: a release written to a closed pipe does not panic, and its audit entry is
/// written (before anything is printed).
#[test]
fn finding_6_a_release_to_a_closed_pipe_leaves_its_audit_entry() {
    let env = small_university();
    let out = env.dir.path().join("piped");
    let mut child = rollcall_command()
        .args(["--warehouse", env.warehouse.to_str().unwrap()])
        .args(["equality", "--year", "2025-26", "--epsilon", "0.5", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let audit = std::fs::read_to_string(env.warehouse.join("audit/audit.jsonl")).unwrap();
    let release_id = env.scalar("SELECT release_id FROM privacy_budget");
    let entries: Vec<serde_json::Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(
        entries.iter().any(|e| e["command"] == "equality charge" && e["details"]["release_id"] == release_id.as_str())
    );
    assert!(entries.iter().any(|e| e["command"] == "equality" && e["details"]["release_id"] == release_id.as_str()));
    env.run(&["audit", "verify"]).ok();
}

/// Finding 6: Gaussian releases compose by rho (zero-concentrated DP), so two of them
/// spend less than the sum of their epsilons; the ledger shows rho and delta.
#[test]
fn finding_6_gaussian_releases_compose_by_rho_and_delta_is_shown() {
    let env = small_university();
    configure(&env, "mechanism = \"laplace\"", "mechanism = \"gaussian\"");
    configure(&env, "yearly_epsilon = 2.0", "yearly_epsilon = 10.0");
    release(&env, "2025-26", "1", "g1", &[]).ok();
    release(&env, "2025-26", "1", "g2", &["--new-release"]).ok();
    let rho: f64 = env.scalar("SELECT sum(rho) FROM privacy_budget").parse().unwrap();
    assert!(rho > 0.0);
    let budget = env.run(&["equality", "budget"]).ok();
    let line = budget.stderr.lines().find(|l| l.contains("started in 2025-26")).unwrap().to_string();
    let spent: f64 = line.split("epsilon ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(spent < 2.0 && spent > 1.0, "two releases of epsilon 1 compose to {spent} under zCDP: {line}");
    assert!(line.contains("at delta 0.0000001"), "{line}");
}

/// A differencing guard across releases: a new release about a population one student
/// away from a released one is refused, dry run included.
#[test]
fn a_release_a_few_students_away_from_an_earlier_one_is_refused() {
    let env = small_university();
    release(&env, "2025-26", "0.5", "a", &[]).ok();
    env.ingest(
        "students",
        &[&env.file("one.csv", &format!("{HEADER}\nONE,P4,Physics,4,1,full-time,2025-09-22,active,34\n"))],
    );
    let refused = release(&env, "2025-26", "0.5", "b", &["--new-release"]).code(1);
    assert!(
        refused.stderr.contains("by 1 student(s)") && refused.stderr.contains("min_population_change"),
        "{}",
        refused.stderr
    );
    release(&env, "2025-26", "0.5", "b", &["--dry-run"]).code(1);
    assert_eq!(env.scalar("SELECT count(*) FROM privacy_budget"), "1");
}
