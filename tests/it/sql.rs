//! `rollcall sql`: read-only, formats, and the equality table out of reach.

use crate::common::Env;

#[test]
fn statements_other_than_queries_are_refused() {
    let env = Env::new();
    for bad in ["DROP TABLE students", "CREATE TABLE t AS SELECT 1", "DELETE FROM students", "SELECT 1; SELECT 2"] {
        let run = env.run(&["sql", bad]).code(2);
        assert!(run.stderr.contains("rollcall:"), "{}", run.stderr);
    }
    assert!(env.warehouse.join("tables/students/_delta_log").is_dir());
}

#[test]
fn formats_and_out_file() {
    let env = Env::new();
    let file = env.file("t.csv", "academic_year,term,starts_on,ends_on\n2025-26,autumn,2025-09-29,2025-12-12\n2025-26,spring,2026-01-12,2026-03-27\n");
    env.ingest("terms", &[&file]);
    let json = env.run(&["--format", "json", "sql", "SELECT term, starts_on FROM terms ORDER BY starts_on"]).ok();
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value[0]["term"], "autumn");
    assert_eq!(value[1]["starts_on"], "2026-01-12");
    let out = env.dir.path().join("out.csv");
    env.run(&["--out", out.to_str().unwrap(), "sql", "SELECT term FROM terms ORDER BY term"]).ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "term\nautumn\nspring\n");
    let table = env.run(&["--format", "table", "sql", "SELECT count(*) AS n FROM terms"]).ok();
    assert!(table.stdout.contains("| n |"), "{}", table.stdout);
    let empty = env.run(&["--format", "csv", "sql", "SELECT term FROM terms WHERE false"]).ok();
    assert_eq!(empty.stdout, "term\n");
}

#[test]
fn analysts_see_tables_and_views_but_not_equality() {
    let env = Env::new();
    let tables = env
        .sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'warehouse' ORDER BY table_name");
    assert_eq!(
        tables[1..],
        [
            "absences",
            "activity",
            "attendance",
            "bank_holidays",
            "case_decisions",
            "case_events",
            "case_meetings",
            "cases",
            "class_lists",
            "consents",
            "daily_activity",
            "daily_attendance",
            "disclosures",
            "equality_extracts",
            "equality_releases",
            "ingest_log",
            "legal_holds",
            "privacy_budget",
            "rating_runs",
            "ratings",
            "rejected_swipes",
            "retention_runs",
            "sar_requests",
            "sessions",
            "staff",
            "status_periods",
            "student_id_map",
            "students",
            "suspicious_swipes",
            "swipe_outcomes",
            "swipes",
            "teaching_days",
            "terms",
            "ukvi_reports",
        ]
    );
    env.run(&["sql", "SELECT * FROM rollcall.warehouse.equality"]).code(1);
}
