//! SQL semantics as data: `tests/slt/*.slt` files in the sqllogictest format, run through
//! the session Rollcall's jobs use (`engine::session::build`, with the production UDFs and
//! the shipped bank holidays of a freshly initialised warehouse).
//!
//! Records: `statement ok` / `statement error <text>` then the SQL; `query <types>
//! [rowsort]` then the SQL, `----` and the expected rows (columns separated by a space,
//! NULL for null). `SLT_COMPLETE=1 cargo test slt` rewrites the expected rows from what
//! the engine returns; review the diff before committing it.

use std::path::{Path, PathBuf};

use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use rollcall::engine::session::{self, Access};
use rollcall::warehouse::Warehouse;

/// One record of a file, with the line it starts on.
enum Record {
    Statement { line: usize, sql: String, error: Option<String> },
    Query { line: usize, header: String, sql: String, expected: Vec<String>, rowsort: bool },
    Text(String),
}

fn parse(text: &str) -> Vec<Record> {
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let start = i + 1;
        if let Some(rest) = line.strip_prefix("statement ") {
            i += 1;
            let mut sql = Vec::new();
            while i < lines.len() && !lines[i].trim().is_empty() {
                sql.push(lines[i]);
                i += 1;
            }
            i += usize::from(i < lines.len()); // the blank line ending the record
            let error = rest.strip_prefix("error").map(|e| e.trim().to_string());
            records.push(Record::Statement { line: start, sql: sql.join("\n"), error });
        } else if line.starts_with("query ") {
            let rowsort = line.split_whitespace().any(|w| w == "rowsort");
            i += 1;
            let mut sql = Vec::new();
            while i < lines.len() && lines[i] != "----" {
                sql.push(lines[i]);
                i += 1;
            }
            i += 1;
            let mut expected = Vec::new();
            while i < lines.len() && !lines[i].trim().is_empty() {
                expected.push(lines[i].to_string());
                i += 1;
            }
            i += usize::from(i < lines.len());
            records.push(Record::Query {
                line: start,
                header: line.to_string(),
                sql: sql.join("\n"),
                expected,
                rowsort,
            });
        } else {
            records.push(Record::Text(line.to_string()));
            i += 1;
        }
    }
    records
}

/// A query's rows as text, columns separated by one space.
async fn rows(ctx: &SessionContext, sql: &str) -> Result<Vec<String>, String> {
    let batches = async { ctx.sql(sql).await?.collect().await }.await.map_err(|e| e.strip_backtrace())?;
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> =
            batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap()).collect();
        for row in 0..batch.num_rows() {
            out.push(formatters.iter().map(|f| f.value(row).to_string()).collect::<Vec<_>>().join(" "));
        }
    }
    Ok(out)
}

/// Runs one file; returns its problems, and the file with expected rows completed.
async fn run(ctx: &SessionContext, path: &Path) -> (Vec<String>, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut problems = Vec::new();
    let mut completed = Vec::new();
    for record in parse(&text) {
        match record {
            Record::Text(line) => completed.push(line),
            Record::Statement { line, sql, error } => {
                let result = async { ctx.sql(&sql).await?.collect().await }.await.map_err(|e| e.strip_backtrace());
                match (&error, result) {
                    (None, Err(e)) => problems.push(format!("{name}:{line}: statement failed: {e}")),
                    (Some(want), Ok(_)) => problems.push(format!("{name}:{line}: expected an error ({want})")),
                    (Some(want), Err(e)) if !e.contains(want.as_str()) => {
                        problems.push(format!("{name}:{line}: error '{e}' does not contain '{want}'"))
                    }
                    _ => {}
                }
                let header = error.map_or("statement ok".to_string(), |e| format!("statement error {e}"));
                completed.extend([header, sql, String::new()]);
            }
            Record::Query { line, header, sql, expected, rowsort } => {
                let mut got = match rows(ctx, &sql).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        problems.push(format!("{name}:{line}: query failed: {e}"));
                        expected.clone()
                    }
                };
                let mut want = expected.clone();
                if rowsort {
                    got.sort();
                    want.sort();
                }
                if got != want {
                    problems.push(format!("{name}:{line}: expected\n{}\ngot\n{}", want.join("\n"), got.join("\n")));
                }
                completed.extend([header, sql, "----".to_string()]);
                completed.extend(got);
                completed.push(String::new());
            }
        }
    }
    let mut completed = completed.join("\n");
    while completed.ends_with("\n\n") {
        completed.pop();
    }
    if !completed.ends_with('\n') {
        completed.push('\n');
    }
    (problems, completed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_semantics_files() {
    let dir = tempfile::tempdir().unwrap();
    let (warehouse, _) = rollcall::ingest::init_warehouse(&dir.path().join("w"), "staged-review").await.unwrap();
    let warehouse = Warehouse::open(warehouse.root(), None).unwrap();
    let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await.unwrap();
    let slt = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&slt).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "slt"));
    files.sort();
    assert!(files.len() >= 3, "tests/slt holds the UDF files");
    let complete = std::env::var_os("SLT_COMPLETE").is_some();
    let mut problems = Vec::new();
    for file in &files {
        let (found, completed) = run(&ctx, file).await;
        if complete {
            std::fs::write(file, completed).unwrap();
        } else {
            problems.extend(found);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expectation_is_reported_with_file_and_line() {
    let ctx = SessionContext::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.slt");
    std::fs::write(&file, "# two\nquery I\nSELECT 1 + 1\n----\n3\n\nstatement error no such table\nSELECT * FROM t\n")
        .unwrap();
    let (problems, completed) = run(&ctx, &file).await;
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("t.slt:2: expected\n3\ngot\n2"), "{problems:?}");
    assert!(problems[1].starts_with("t.slt:7: error"), "{problems:?}");
    assert!(completed.contains("----\n2\n"), "{completed}");
}
