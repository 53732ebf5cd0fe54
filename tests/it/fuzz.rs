//! Fuzzing every ingest kind and export format: valid files (the demo generator's
//! interchange files; export files written as their specifications describe, shared with
//! `exports.rs` and `formats.rs`) are mutated at random, seeded so a failure repeats: bytes
//! flipped, cut, repeated, lines swapped or dropped, fields replaced with hostile values
//! (quotes, NUL, CR, separators, 10,000-byte values, impossible dates, invalid UTF-8). Each
//! case is loaded in-process through the library, alternately with `--quarantine`. A case
//! passes when it loads or is refused with a message; a panic or an internal error fails
//! the run, and the counts are printed.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::{Env, rollcall_command};

const CASES_PER_SOURCE: usize = 16;

const HOSTILE: &[&[u8]] = &[
    b"\"",
    b"\0",
    b"\r",
    b"\n",
    b",",
    b"\t",
    b"\"\"\"",
    b"\xff\xfe\xfd",
    b"9999-99-99",
    b"0000-01-01T00:00:00+14:00",
    b"-1",
    b"NaN",
    b"1e309",
    b"=HYPERLINK(\"x\")",
    b"\xf0\x9f\x98\x80",
    b"{\"statement\":",
    b"}]",
];

/// One random change to `bytes`.
fn mutate(bytes: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    if bytes.is_empty() {
        bytes.extend_from_slice(HOSTILE[rng.random_range(0..HOSTILE.len())]);
        return;
    }
    // Most changes land below the header, where the rows are.
    let body = bytes.iter().position(|b| *b == b'\n').map_or(0, |p| p + 1);
    let at = if body < bytes.len() && rng.random_bool(0.8) {
        rng.random_range(body..bytes.len())
    } else {
        rng.random_range(0..bytes.len())
    };
    match rng.random_range(0..8) {
        0 => bytes[at] ^= 1 << rng.random_range(0..8),
        1 => bytes.truncate(at),
        2 => {
            let end = (at + rng.random_range(1..64)).min(bytes.len());
            bytes.drain(at..end);
        }
        3 => {
            let insert = HOSTILE[rng.random_range(0..HOSTILE.len())];
            bytes.splice(at..at, insert.iter().copied());
        }
        4 => {
            let long = vec![b'x'; 10_000];
            bytes.splice(at..at, long);
        }
        5 | 6 => {
            // Whole lines: one repeated, two swapped, or one dropped.
            let text = bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect::<Vec<_>>();
            let mut lines = text;
            let (i, j) = (rng.random_range(0..lines.len()), rng.random_range(0..lines.len()));
            match rng.random_range(0..3) {
                0 => {
                    let line = lines[i].clone();
                    lines.insert(j, line);
                }
                1 => lines.swap(i, j),
                _ => {
                    lines.remove(i);
                }
            }
            *bytes = lines.join(&b'\n');
        }
        _ => {
            // A field replaced: the bytes up to the next separator.
            let end = bytes[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'\t' | b'\n' | b'"'))
                .map_or(bytes.len(), |p| at + p);
            let value = HOSTILE[rng.random_range(0..HOSTILE.len())];
            bytes.splice(at..end, value.iter().copied());
        }
    }
}

/// A file's name and bytes.
type File = (String, Vec<u8>);

/// The seed files of every source: (source name, files).
fn seeds(env: &Env) -> Vec<(String, Vec<File>)> {
    let mut out = Vec::new();
    // Interchange kinds: the demo generator's files, cut to their first lines.
    let demo = env.dir.path().join("demo");
    let run =
        rollcall_command().args(["demo", "--students", "20", "--generate-only", "--dir"]).arg(&demo).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut files: Vec<PathBuf> = crate::common::files_below(&demo.join("input"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    for kind in rollcall::ingest::kinds::ALL {
        let Some(file) = files.iter().find(|p| {
            let name = p.file_stem().unwrap().to_string_lossy();
            name == kind.name
                || name.starts_with(&format!("{}-", kind.name))
                || name.starts_with(&format!("{}_", kind.name))
        }) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let head: String = text.lines().take(30).map(|l| format!("{l}\n")).collect();
        out.push((kind.name.to_string(), vec![(format!("{}.csv", kind.name), head.into_bytes())]));
    }
    // Bank holidays come with the warehouse; the shipped calendar is the seed.
    let holidays: String =
        rollcall::domain::reference::BANK_HOLIDAYS_CSV.lines().take(30).map(|l| format!("{l}\n")).collect();
    out.push(("bank-holidays".into(), vec![("holidays.csv".into(), holidays.into_bytes())]));
    assert_eq!(out.len(), rollcall::ingest::kinds::ALL.len(), "a seed for every kind");

    let moodle: String = std::iter::once(crate::formats::LOG_HEADER.to_string())
        .chain((0..6).map(|i| {
            crate::formats::log_row(i, "\\core\\event\\course_viewed", 2, "A", "0", 1759741200 + i as i64, "\\N")
        }))
        .map(|l| l + "\n")
        .collect();
    out.push(("moodle-log".into(), vec![("log.csv".into(), moodle.into_bytes())]));
    let teams = crate::exports::teams_report(
        "CS2001 Lecture",
        "10/7/2025, 1:58:12 PM",
        "10/7/2025, 3:02:45 PM",
        &[
            [
                "Student, Ann",
                "10/7/2025, 1:58:12 PM",
                "10/7/2025, 3:01:00 PM",
                "1h 2m 48s",
                "a@uni.ac.uk",
                "a@uni.ac.uk",
            ],
            ["Bee", "10/7/2025, 2:00:00 PM", "10/7/2025, 2:30:00 PM", "30m 0s", "b@uni.ac.uk", "b@uni.ac.uk"],
        ],
    );
    let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(teams.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    out.push(("teams-attendance".into(), vec![("report.csv".into(), utf16)]));
    let xapi = [
        r#"{"actor":{"account":{"homePage":"https://lrs.uni.ac.uk","name":"A"}},"verb":{"id":"http://id.tincanapi.com/verb/viewed"},"object":{"id":"https://vle.uni.ac.uk/mod/page/1"},"timestamp":"2025-10-06T08:00:00Z"}"#,
        r#"{"statement":{"actor":{"mbox":"mailto:b@uni.ac.uk"},"verb":{"id":"http://adlnet.gov/expapi/verbs/attended"},"object":{"id":"https://timetable.uni.ac.uk/event/CS2001-S1"},"result":{"completion":true,"duration":"PT10M"},"timestamp":"2025-10-07T13:05:00+01:00"}}"#,
    ]
    .join("\n");
    out.push(("xapi".into(), vec![("statements.jsonl".into(), xapi.into_bytes())]));
    let capture = "Timestamp,UserName,Session Name,Minutes Watched\r\n\
        10/6/2025 1:44:52 PM,UniSSO\\bstudent,\"Lecture 3: Graphs, Trees\",12.5\r\n\
        10/6/2025 2:00:00 PM,a@uni.ac.uk,\"Lecture 3\",3\r\n";
    out.push(("lecture-capture".into(), vec![("viewing.csv".into(), capture.as_bytes().to_vec())]));
    let udd = crate::exports::udd_v16(env);
    let mut udd_files: Vec<(String, Vec<u8>)> = crate::common::files_below(&udd)
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    udd_files.sort();
    out.push(("jisc-udd".into(), udd_files));
    out
}

#[derive(Debug, Default)]
struct Counts {
    cases: usize,
    loaded: usize,
    refused: usize,
    errors: usize,
    panics: usize,
}

/// Loads `files`: `Ok(true)` when committed, `Ok(false)` when a file was refused whole, `Err`
/// with the message otherwise ("panicked" for a panic).
fn load(
    warehouse: &rollcall::warehouse::Warehouse,
    source: &str,
    files: &[PathBuf],
    quarantine: bool,
) -> Result<bool, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let source = rollcall::ingest::Source::by_name(source).expect("a source");
    let options = rollcall::ingest::IngestOptions { quarantine, ..Default::default() };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(rollcall::ingest::load(warehouse, &source, files, &options)).map_err(Box::new)
    }));
    match result {
        Err(_) => Err("panicked".into()),
        Ok(Err(e)) => match *e {
            rollcall::Error::Internal(m) => Err(format!("internal error: {m}")),
            e => Err(e.to_string()),
        },
        Ok(Ok(loaded)) => Ok(loaded.refused() == 0),
    }
}

fn write_case(dir: &Path, files: &[File], source: &str) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    if source == "jisc-udd" { vec![dir.to_path_buf()] } else { files.iter().map(|(n, _)| dir.join(n)).collect() }
}

/// Every source's seeds load as they are; their mutations load or are refused, never panic.
#[test]
fn mutated_files_of_every_kind_and_format_are_loaded_or_refused_never_panic() {
    let env = Env::new();
    env.configure_key();
    let warehouse = rollcall::warehouse::Warehouse::open(&env.warehouse, None).unwrap();
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    let seeds = seeds(&env);
    for (s, (source, files)) in seeds.iter().enumerate() {
        let seed_dir = env.dir.path().join("cases").join(source).join("seed");
        let loaded = load(&warehouse, source, &write_case(&seed_dir, files, source), false);
        assert_eq!(loaded, Ok(true), "{source}: the unmutated seed does not load");
        let mut rng = ChaCha8Rng::seed_from_u64(2026 + s as u64);
        for case in 0..CASES_PER_SOURCE {
            let mut mutated = files.clone();
            let target = rng.random_range(0..mutated.len());
            for _ in 0..rng.random_range(1..4) {
                mutate(&mut mutated[target].1, &mut rng);
            }
            let dir = env.dir.path().join("cases").join(source).join(case.to_string());
            let paths = write_case(&dir, &mutated, source);
            counts.cases += 1;
            match load(&warehouse, source, &paths, case % 2 == 1) {
                Ok(true) => counts.loaded += 1,
                Ok(false) => counts.refused += 1,
                Err(e) if e == "panicked" || e.starts_with("internal error") => {
                    counts.panics += 1;
                    failures.push(format!("{source} case {case} ({}): {e}", dir.display()));
                }
                Err(e) => {
                    counts.errors += 1;
                    if std::env::var_os("FUZZ_SHOW").is_some() {
                        eprintln!("{source} {case}: {e}");
                    }
                }
            }
        }
    }
    crate::common::report(&format!(
        "fuzz: {} cases over {} kinds and formats: {} loaded, {} refused by row, {} refused with an error, panics: {}",
        counts.cases,
        seeds.len(),
        counts.loaded,
        counts.refused,
        counts.errors,
        counts.panics
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
