//! University-scale benchmark: the demo university (fixed seed) generated, ingested,
//! rated for a full academic year (from the raw events, then again from the daily rollups
//! kept), rated again for one new day, reviewed, returned to UKVI,
//! reported to Senate, asked for one student's data, and purged of its due graduates.
//!
//! Two datasets, both from the demo generator with fixed seeds:
//! - **year**: `STUDENTS` (default 30,000) students, one academic year, `VLE_PER_DAY`
//!   (default 14: about 60 million activity rows) and `MODULES` per cohort (default 5:
//!   about 6 million swipes);
//! - **history**: `HISTORY_STUDENTS` (default 10,000) students over `HISTORY_YEARS`
//!   (default 6) academic years up to 2025-26 on the demo's timetable (three modules),
//!   plus graduates due for erasure; the
//!   subject-access export and the retention purge run on this one.
//!
//! Run with `cargo bench --bench scale`. `BENCH_DATA_DIR=DIR` keeps the generated files
//! between runs (default `target/bench-data/scale-N`, history beside it); `SKIP_HISTORY=1`
//! runs the year only. Each job runs in its own process so that its peak memory is its
//! own. Prints a table and writes `results.json` beside the data.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::NaiveDate;
use rollcall::demo::{self, DemoSpec};
use rollcall::ingest::{self, IngestOptions, kinds};
use rollcall::rating::Recompute;
use rollcall::warehouse::Warehouse;

mod common;
use common::peak_rss_mib;

const PHASE_ENV: &str = "ROLLCALL_BENCH_PHASE";
const DIR_ENV: &str = "ROLLCALL_BENCH_DIR";

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("valid date")
}

/// The `rollcall` command a phase does the work of (its arguments need only parse).
fn command_of(phase: &str) -> &'static [&'static str] {
    match phase {
        "generate" | "history-generate" => &["demo", "--generate-only"],
        "ingest" | "history-ingest" => &["ingest", "activity", "activity.csv"],
        "rate-year" | "rerate-year" | "rate-day" => &["rate", "--as-of", "2026-06-11"],
        "review" => &["review", "--as-of", "2025-12-01"],
        "return-ukvi" => &["return", "ukvi", "--as-of", "2026-03-02"],
        "report-senate" => &["report", "senate", "--year", "2025-26"],
        "sar" => &["sar", "S1000000"],
        "purge" => &["retention", "purge", "--as-of", "2026-07-31"],
        other => panic!("unknown phase {other}"),
    }
}

/// Runs one phase in this process and prints `RESULT phase seconds rows peak_mib`.
fn run_phase(phase: &str, dir: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let students: u32 = std::env::var("STUDENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(30_000);
    let input = dir.join("input");
    let root = dir.join("warehouse");
    let started = Instant::now();
    let rows: u64 = runtime.block_on(async {
        match phase {
            "generate" => {
                // VLE_PER_DAY raises the activity volume (6 gives about 930 rows a student).
                let vle_per_day = std::env::var("VLE_PER_DAY").ok().and_then(|v| v.parse().ok()).unwrap_or(14.0);
                // MODULES sets the timetable (5 gives about 190 swipes a student).
                let modules = std::env::var("MODULES").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
                let spec = DemoSpec { students, vle_per_day, modules, ..DemoSpec::default() };
                let files = demo::generate(&spec, &input).expect("generate");
                let c = files.counts;
                c.students + c.sessions + c.class_list_rows + c.swipes + c.activity + c.absences
            }
            "ingest" => {
                let _ = std::fs::remove_dir_all(&root);
                let (warehouse, _) = ingest::init_warehouse(&root, "staged-review").await.expect("init");
                let files = demo::DemoFiles {
                    dir: input.clone(),
                    activity_files: count_parts(&input),
                    counts: Default::default(),
                };
                let mut read = 0;
                for kind in kinds::ALL.iter().filter(|k| k.name != "bank-holidays") {
                    let report = ingest::ingest(&warehouse, kind, &files.files(kind.name), &IngestOptions::default())
                        .await
                        .expect("ingest");
                    assert_eq!(report.refused(), 0);
                    read += report.rows_read();
                }
                read
            }
            "rate-year" => {
                let warehouse = Warehouse::open(&root, None).expect("open");
                rollcall::rating::rate(&warehouse, day("2026-06-11"), Recompute::Everything)
                    .await
                    .expect("rate")
                    .ratings
            }
            "rerate-year" => {
                // Every day rated again from the rollups the full run left (as a change of
                // the bands, weights or window does).
                let warehouse = Warehouse::open(&root, None).expect("open");
                rollcall::rating::rate(&warehouse, day("2026-06-11"), Recompute::Ratings).await.expect("rate").ratings
            }
            "rate-day" => {
                let warehouse = Warehouse::open(&root, None).expect("open");
                // One new day of activity for every student arrives, then that day is rated.
                let file = dir.join("new-day.csv");
                let mut csv = String::from("student_id,occurred_at,source,count\n");
                for i in 0..students {
                    csv.push_str(&format!(
                        "S{:07},2026-06-12T13:{:02}:{:02},vle,3\n",
                        1_000_000 + i,
                        i % 60,
                        (i / 60) % 60
                    ));
                }
                std::fs::write(&file, csv).expect("write");
                let setup = Instant::now();
                ingest::ingest(&warehouse, &kinds::ACTIVITY, &[file], &IngestOptions::default())
                    .await
                    .expect("ingest day");
                let ingest_secs = setup.elapsed().as_secs_f64();
                let started = Instant::now();
                let report =
                    rollcall::rating::rate(&warehouse, day("2026-06-12"), Recompute::Changed).await.expect("rate");
                println!(
                    "RESULT rate-day-only {:.3} {} {:.0}",
                    started.elapsed().as_secs_f64(),
                    report.ratings,
                    peak_rss_mib()
                );
                let phases: Vec<String> =
                    report.phases.iter().map(|(name, took)| format!("{name} {:.3} s", took.as_secs_f64())).collect();
                println!(
                    "note: the new day's ingest took {ingest_secs:.2} s; rate mode {}: {} ({})",
                    report.mode,
                    report.why,
                    phases.join(", ")
                );
                report.ratings
            }
            "review" => {
                let warehouse = Warehouse::open(&root, None).expect("open");
                rollcall::review::review(&warehouse, day("2025-12-01"), false).await.expect("review").raised
            }
            "return-ukvi" => {
                let warehouse = Warehouse::open(&root, None).expect("open");
                let ret = rollcall::returns::ukvi(&warehouse, day("2026-03-02"), false).await.expect("ukvi");
                ret.frame.count().await.expect("count") as u64
            }
            "report-senate" => {
                let warehouse = Warehouse::open(&root, None).expect("open");
                let files = rollcall::report::senate::render(
                    &warehouse,
                    "2025-26".parse().expect("a year"),
                    &dir.join("senate"),
                )
                .await
                .expect("senate");
                files.len() as u64
            }
            "sar" => {
                let warehouse = Warehouse::open(&root, None).expect("open");
                let report =
                    rollcall::compliance::sar::export(&warehouse, "S1000000", &dir.join("sar")).await.expect("sar");
                report.tables.iter().map(|(_, n)| *n as u64).sum()
            }
            "purge" => {
                // The graduates of seven and eight years ago are due at the end of the year.
                let warehouse = Warehouse::open(&root, None).expect("open");
                let report =
                    rollcall::compliance::retention::purge(&warehouse, day("2026-07-31"), false).await.expect("purge");
                println!(
                    "note: purge erased {} students, {} rows, {} files removed",
                    report.students.len(),
                    report.rows.values().sum::<u64>(),
                    report.files_removed
                );
                report.rows.values().sum()
            }
            "history-generate" => {
                let vle_per_day = std::env::var("VLE_PER_DAY").ok().and_then(|v| v.parse().ok()).unwrap_or(14.0);
                let mut rows = 0;
                for year in history_years() {
                    // The same students each year (their records carry the latest year), so
                    // a student's data spans the whole history.
                    let spec = DemoSpec { students, vle_per_day, year, seed: 42 + year as u64, ..DemoSpec::default() };
                    let c = demo::generate(&spec, &input.join(year.to_string())).expect("generate").counts;
                    rows += c.students + c.sessions + c.class_list_rows + c.swipes + c.activity + c.absences;
                }
                rows
            }
            "history-ingest" => {
                let _ = std::fs::remove_dir_all(&root);
                let (warehouse, _) = ingest::init_warehouse(&root, "staged-review").await.expect("init");
                let mut read = 0;
                for year in history_years() {
                    let dir = input.join(year.to_string());
                    let files = demo::DemoFiles {
                        dir: dir.clone(),
                        activity_files: count_parts(&dir),
                        counts: Default::default(),
                    };
                    for kind in kinds::ALL.iter().filter(|k| k.name != "bank-holidays") {
                        let report =
                            ingest::ingest(&warehouse, kind, &files.files(kind.name), &IngestOptions::default())
                                .await
                                .expect("ingest");
                        assert_eq!(report.refused(), 0);
                        read += report.rows_read();
                    }
                }
                read
            }
            other => panic!("unknown phase {other}"),
        }
    });
    println!("RESULT {phase} {:.3} {rows} {:.0}", started.elapsed().as_secs_f64(), peak_rss_mib());
}

/// The academic years of the history dataset, oldest first (the last is 2025-26).
fn history_years() -> std::ops::RangeInclusive<i32> {
    let years: i32 = std::env::var("HISTORY_YEARS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    (2026 - years)..=2025
}

fn count_parts(input: &Path) -> u32 {
    (1..).take_while(|n| input.join(format!("activity-{n:03}.csv")).exists()).count() as u32
}

fn main() {
    if let Ok(phase) = std::env::var(PHASE_ENV) {
        common::set_arenas_as(command_of(&phase));
        run_phase(&phase, Path::new(&std::env::var(DIR_ENV).expect("bench dir")));
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("scale benchmark: run with `cargo bench --bench scale`");
        return;
    }
    let students: u32 = std::env::var("STUDENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(30_000);
    let dir = std::env::var("BENCH_DATA_DIR").map(PathBuf::from).unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join(format!("scale-{students}"))
    });
    std::fs::create_dir_all(&dir).expect("bench dir");
    let history_students: u32 = std::env::var("HISTORY_STUDENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let history = dir.with_file_name(format!("history-{history_students}"));
    std::fs::create_dir_all(&history).expect("history dir");
    let vle = std::env::var("VLE_PER_DAY").unwrap_or_else(|_| "14".into());
    let modules = std::env::var("MODULES").unwrap_or_else(|_| "5".into());
    // (label, phase, data directory, students)
    let mut phases: Vec<(String, &str, PathBuf, u32)> = Vec::new();
    if !dir.join("input").join("truth.csv").exists() {
        phases.push(("generate".into(), "generate", dir.clone(), students));
    }
    for phase in
        ["ingest", "rate-year", "rerate-year", "rate-day", "review", "return-ukvi", "report-senate", "sar", "purge"]
    {
        phases.push((phase.into(), phase, dir.clone(), students));
    }
    if std::env::var("SKIP_HISTORY").is_err() {
        let last = *history_years().end();
        if !history.join("input").join(last.to_string()).join("truth.csv").exists() {
            phases.push(("history-generate".into(), "history-generate", history.clone(), history_students));
        }
        phases.push(("history-ingest".into(), "history-ingest", history.clone(), history_students));
        phases.push(("history-sar".into(), "sar", history.clone(), history_students));
        phases.push(("history-purge".into(), "purge", history.clone(), history_students));
    }
    let key = demo::write_key(&dir.join("keys"), "pseudonym.key").expect("key");
    let exe = std::env::current_exe().expect("own path");
    let mut results = Vec::new();
    println!(
        "scale benchmark: year {students} students (VLE_PER_DAY {vle}, MODULES {modules}), data in {}; history {history_students} students x {} years in {}",
        dir.display(),
        history_years().count(),
        history.display()
    );
    for (label, phase, data, n) in phases {
        let out = Command::new(&exe)
            .env(PHASE_ENV, phase)
            .env(DIR_ENV, &data)
            .env("STUDENTS", n.to_string())
            .env("VLE_PER_DAY", &vle)
            .env("MODULES", &modules)
            .env("ROLLCALL_PSEUDONYM_KEY_FILE", &key)
            .output()
            .expect("run phase");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "phase {label} failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("RESULT ") {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let name = if f[0] == phase { label.clone() } else { f[0].to_string() };
                results.push((
                    name,
                    f[1].parse::<f64>().unwrap(),
                    f[2].parse::<u64>().unwrap(),
                    f[3].parse::<f64>().unwrap(),
                ));
            } else if line.starts_with("note:") {
                println!("  {label}: {line}");
            }
        }
    }
    println!("{:<16} {:>10} {:>14} {:>14} {:>12}", "job", "seconds", "rows", "rows/s", "peak MiB");
    let mut json = Vec::new();
    for (phase, secs, rows, peak) in &results {
        let rate = *rows as f64 / secs.max(1e-9);
        println!("{phase:<16} {secs:>10.2} {rows:>14} {rate:>14.0} {peak:>12.0}");
        json.push(format!("{{\"job\":\"{phase}\",\"seconds\":{secs},\"rows\":{rows},\"rows_per_second\":{rate:.0},\"peak_mib\":{peak}}}"));
    }
    let file = dir.join("results.json");
    std::fs::write(
        &file,
        format!(
            "{{\"students\":{students},\"vle_per_day\":{vle},\"modules\":{modules},\"history_students\":{history_students},\"history_years\":{},\"results\":[{}]}}\n",
            history_years().count(),
            json.join(",")
        ),
    )
        .expect("write results");
    println!("results written to {}", file.display());
}
