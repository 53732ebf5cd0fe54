//! Ethnicity never lands outside the equality table, and the pseudonym key is handled safely.

use std::path::Path;

use crate::common::{Env, STUDENTS_HEADER, files_below, set_mode, student};

const LABELS: [&str; 3] = ["Mixed - White and Asian", "Arab", "Black or Black British - Caribbean"];

fn students_with_ethnicity(env: &Env) -> String {
    let mut contents = format!("{STUDENTS_HEADER},ethnicity\n");
    for (i, label) in LABELS.iter().enumerate() {
        contents.push_str(&format!("{},{label}\n", student(&format!("S{i}"), "active")));
    }
    contents.push_str(&format!("{},\n", student("S9", "active")));
    env.file("students.csv", &contents)
}

/// Every string value in a Parquet file, and the raw text of every other file.
pub fn text_of(path: &Path) -> String {
    if path.extension().is_some_and(|e| e == "parquet") {
        let file = std::fs::File::open(path).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        // As JSON lines, so nested columns (the transaction log's checkpoints) are read too.
        let mut writer = arrow::json::LineDelimitedWriter::new(Vec::new());
        for batch in reader {
            writer.write(&batch.unwrap()).unwrap();
        }
        writer.finish().unwrap();
        String::from_utf8(writer.into_inner()).unwrap()
    } else {
        String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
    }
}

/// Asserts no file under the warehouse outside the equality table holds an ethnicity label.
pub fn assert_no_ethnicity_outside_equality(warehouse: &Path, labels: &[&str]) {
    let equality = warehouse.join("tables").join("equality");
    let mut scanned = 0;
    for path in files_below(warehouse) {
        // The equality table, and the code list that maps ethnicity labels to groups
        // (reference data about no one).
        if path.starts_with(&equality) || path.ends_with("reference/ethnicity-groups.csv") {
            continue;
        }
        let text = text_of(&path);
        for label in labels {
            assert!(!text.contains(label), "{} holds ethnicity value {label}", path.display());
        }
        scanned += 1;
    }
    assert!(scanned > 10, "expected to scan the warehouse, scanned {scanned} files");
}

#[test]
fn ethnicity_without_a_key_is_refused_with_how_to_set_one() {
    let env = Env::new();
    let file = students_with_ethnicity(&env);
    let run = env.run(&["ingest", "students", &file]).code(1);
    assert!(run.stderr.contains("ROLLCALL_PSEUDONYM_KEY_FILE"), "{}", run.stderr);
    assert!(run.stderr.contains("pseudonym_key_file"), "{}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM students"), "0");
}

#[test]
fn ethnicity_goes_only_to_the_equality_table() {
    let env = Env::new();
    let key = env.key();
    let file = students_with_ethnicity(&env);
    let run = env.run_with(&["ingest", "students", &file], &[("ROLLCALL_PSEUDONYM_KEY_FILE", &key)]).ok();
    for label in LABELS {
        assert!(!run.stdout.contains(label) && !run.stderr.contains(label));
    }
    assert_eq!(env.scalar("SELECT count(*) FROM students"), "4");
    let columns = env.sql("SELECT column_name FROM information_schema.columns WHERE table_name = 'students'");
    assert!(!columns.iter().any(|c| c == "ethnicity"), "{columns:?}");
    // Analysts cannot reach the equality table.
    let denied = env.run(&["sql", "SELECT * FROM equality"]).code(1);
    assert!(denied.stderr.contains("equality"), "{}", denied.stderr);
    assert_no_ethnicity_outside_equality(&env.warehouse, &LABELS);
    // The equality table holds the three declared values under 64-hex-digit pseudonyms, not ids.
    let equality_text: String =
        files_below(&env.warehouse.join("tables/equality")).iter().map(|p| text_of(p)).collect();
    for label in LABELS {
        assert!(equality_text.contains(label), "equality table lacks {label}");
    }
    assert!(
        !equality_text.contains("S0\n") && !equality_text.contains("\"S0\""),
        "student ids must not be in the equality table"
    );
}

#[test]
fn unsafe_or_wrong_keys_are_refused() {
    let env = Env::new();
    let file = students_with_ethnicity(&env);
    let missing = env.dir.path().join("nope.key");
    let run = env.run_with(&["ingest", "students", &file], &[("ROLLCALL_PSEUDONYM_KEY_FILE", &missing)]).code(1);
    assert!(run.stderr.contains("cannot read key file"), "{}", run.stderr);

    let key = env.key();
    set_mode(&key, 0o644);
    let run = env.run_with(&["ingest", "students", &file], &[("ROLLCALL_PSEUDONYM_KEY_FILE", &key)]).code(1);
    assert!(run.stderr.contains("readable by every user"), "{}", run.stderr);

    let inside = env.warehouse.join("pseudonym.key");
    std::fs::write(&inside, [9u8; 32]).unwrap();
    set_mode(&inside, 0o600);
    let run = env.run_with(&["ingest", "students", &file], &[("ROLLCALL_PSEUDONYM_KEY_FILE", &inside)]).code(1);
    assert!(run.stderr.contains("inside the warehouse"), "{}", run.stderr);

    let short = env.dir.path().join("short.key");
    std::fs::write(&short, b"tiny").unwrap();
    set_mode(&short, 0o600);
    let run = env.run_with(&["ingest", "students", &file], &[("ROLLCALL_PSEUDONYM_KEY_FILE", &short)]).code(1);
    assert!(run.stderr.contains("at least 16 are needed"), "{}", run.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM students"), "0");

    set_mode(&key, 0o600);
    env.run_with(&["ingest", "students", &file], &[("ROLLCALL_PSEUDONYM_KEY_FILE", &key)]).ok();
    let other = env.dir.path().join("other.key");
    std::fs::write(&other, [8u8; 32]).unwrap();
    set_mode(&other, 0o600);
    let again = env.file("s3.csv", &format!("{STUDENTS_HEADER},ethnicity\n{},Arab\n", student("S7", "active")));
    let run = env.run_with(&["ingest", "students", &again], &[("ROLLCALL_PSEUDONYM_KEY_FILE", &other)]).code(1);
    assert!(run.stderr.contains("fingerprint differs"), "{}", run.stderr);
}

#[test]
fn students_without_ethnicity_need_no_key() {
    let env = Env::new();
    let file = env.file("s.csv", &format!("{STUDENTS_HEADER}\n{}\n", student("S1", "active")));
    env.ingest("students", &[&file]);
    assert_eq!(env.scalar("SELECT count(*) FROM students"), "1");
    assert!(!Path::new(&env.warehouse.join("pseudonym-key.fingerprint")).exists());
}
