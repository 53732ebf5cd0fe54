//! Golden outputs: the catalog queries' results on a small fixed university (the demo at
//! 200 students, seed 11), through the commands that run them, compared with
//! `tests/snapshots/<name>.csv`. Any change to a query, the rating model or the ingest that
//! moves a figure shows here as a diff to review.
//!
//! `UPDATE_SNAPSHOTS=1 cargo test golden` rewrites the snapshots from the current build.

use std::path::Path;

use crate::common::rollcall_command;

/// (snapshot, command arguments after `--warehouse W --format csv`).
const CASES: &[(&str, &[&str])] = &[
    ("ratings_on-2025-12-01", &["ratings", "--date", "2025-12-01"]),
    ("ratings_on-2026-03-02", &["ratings", "--date", "2026-03-02"]),
    ("case_list", &["case", "list", "--as-of", "2026-03-02"]),
    ("open_cases-2025-12-01", &["review", "--as-of", "2025-12-01", "--dry-run"]),
    ("ukvi-2026-03-02", &["return", "ukvi", "--as-of", "2026-03-02"]),
    ("funder-SFE-2026-03-02", &["return", "funder", "--body", "SFE", "--as-of", "2026-03-02"]),
    ("teaching_days", &["sql", "SELECT * FROM teaching_days ORDER BY day"]),
    (
        "attendance",
        &[
            "sql",
            "SELECT day, count(*) AS swipes, count(DISTINCT student_id) AS students FROM attendance GROUP BY day ORDER BY day",
        ],
    ),
    (
        "rejected_swipes",
        &["sql", "SELECT reason, count(*) AS swipes FROM rejected_swipes GROUP BY reason ORDER BY reason"],
    ),
];

#[test]
fn catalog_query_outputs_match_their_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out =
        rollcall_command().args(["demo", "--students", "200", "--seed", "11", "--dir"]).arg(&demo).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let warehouse = demo.join("warehouse");
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut outputs: Vec<(String, String)> = Vec::new();
    for (name, args) in CASES {
        let mut command = rollcall_command();
        command.arg("--warehouse").arg(&warehouse).args(["--format", "csv"]).args(*args);
        let run = command.output().unwrap();
        assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
        outputs.push((format!("{name}.csv"), String::from_utf8(run.stdout).unwrap()));
    }
    // The Senate report's tables, one CSV per section.
    let senate = dir.path().join("senate");
    let mut report = rollcall_command();
    report.arg("--warehouse").arg(&warehouse).args(["report", "senate", "--year", "2025-26", "--out"]).arg(&senate);
    let run = report.output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut sections: Vec<_> = std::fs::read_dir(&senate).unwrap().map(|e| e.unwrap().path()).collect();
    sections.retain(|p| p.extension().is_some_and(|e| e == "csv"));
    sections.sort();
    assert!(sections.len() >= 6, "{sections:?}");
    for path in sections {
        let name = format!("senate-{}", path.file_name().unwrap().to_string_lossy());
        outputs.push((name, std::fs::read_to_string(&path).unwrap()));
    }

    let mut differ = Vec::new();
    for (name, text) in &outputs {
        let file = snapshots.join(name);
        assert!(text.lines().count() > 1, "{name} is empty: a snapshot of nothing checks nothing");
        if update {
            std::fs::write(&file, text).unwrap();
        } else {
            let held = std::fs::read_to_string(&file).unwrap_or_default();
            if held != *text {
                let first = held.lines().zip(text.lines()).position(|(a, b)| a != b).unwrap_or(0) + 1;
                differ.push(format!("{name}: differs from line {first} (UPDATE_SNAPSHOTS=1 to accept)"));
            }
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
