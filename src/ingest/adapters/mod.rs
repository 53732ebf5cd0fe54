//! Adapters for the files universities' systems export: Moodle's log table and Logs report,
//! Teams attendance reports, xAPI statements, lecture-capture viewing exports and Jisc UDD
//! student-records extracts.
//!
//! An event adapter reads its file as a stream, maps each row's user to a student through
//! the identity maps (`student_id_map` by domain, or the student's email) and hands events
//! to a [`Sink`]. Rows it cannot map are counted by domain and kept out, never guessed.
//! The sink aggregates events to one activity row per student, second and source (the
//! activity key), writes them to Parquet files in chunks, and commits all of a file's
//! files in one Delta commit at the end, so memory stays flat however long the export and
//! a file is committed whole or not at all. A crash before the commit leaves only
//! uncommitted files, which no reader sees and the next vacuum removes. Events at a key
//! the warehouse already holds add nothing, as with interchange files, so overlapping
//! exports and re-runs are safe; a file ingested before (same format and SHA-256) is
//! skipped.

pub mod capture;
pub mod moodle;
pub mod teams;
pub mod text;
pub mod udd;
pub mod xapi;

mod lookup;
mod rows;
mod sink;

pub use lookup::{Identities, Session, load_sessions, text_column};
pub use rows::{CsvReader, each_record, field, locate, open_csv};
pub use sink::Sink;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use datafusion::scalar::ScalarValue;

use super::IngestOptions;
use super::parse::Reject;
use crate::derive::swipes;
use crate::engine::job::Job;
use crate::engine::session::Access;
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::{Warehouse, tables};

/// One export format `rollcall ingest` reads besides the interchange kinds.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    /// The name on the command line.
    pub name: &'static str,
    /// What it reads.
    pub about: &'static str,
}

/// Every export format.
pub const FORMATS: &[Format] = &[
    Format { name: "moodle-log", about: "Moodle logstore_standard_log rows exported from the database (CSV)" },
    Format { name: "moodle-report", about: "Moodle's Logs report download (CSV, UTF-8 with BOM)" },
    Format { name: "teams-attendance", about: "Microsoft Teams meeting attendance report (UTF-16, tab-separated)" },
    Format { name: "xapi", about: "xAPI statements, one JSON object per line (Jisc learning-analytics profile)" },
    Format { name: "lecture-capture", about: "lecture-capture viewing export (Panopto-style CSV)" },
    Format { name: "jisc-udd", about: "a folder of Jisc UDD v1.6 student-records files (TSV)" },
];

/// Looks a format up by its command-line name.
pub fn by_name(name: &str) -> Option<Format> {
    FORMATS.iter().copied().find(|f| f.name == name)
}

/// What happened to one exported file.
#[derive(Debug, Default)]
pub struct AdapterFileReport {
    /// The input file (or folder, for `jisc-udd`).
    pub path: PathBuf,
    /// Skipped whole: the same content was ingested before as this format.
    pub already_ingested: bool,
    /// Refused whole: malformed rows and no `--quarantine`.
    pub refused: bool,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows that became events.
    pub kept: u64,
    /// Rows deliberately left out, by reason (not student activity, logged in as, ...).
    pub dropped: BTreeMap<&'static str, u64>,
    /// Rows whose user maps to no student, by identity domain.
    pub unmapped: BTreeMap<String, u64>,
    /// Malformed rows, each problem naming line and field.
    pub problems: Vec<Reject>,
    /// Where quarantined rows were written.
    pub rejects_file: Option<PathBuf>,
    /// Activity rows added (events aggregated per student, second and source).
    pub activity_added: u64,
    /// Activity rows already held.
    pub activity_held: u64,
    /// Session attendances added (as swipes into the session's room).
    pub attendance_added: u64,
    /// Rows added to interchange tables, by kind (`jisc-udd`).
    pub tables: BTreeMap<&'static str, u64>,
    /// Notes that refuse nothing.
    pub warnings: Vec<String>,
}

impl AdapterFileReport {
    /// The file's entry in the ingest report.
    fn into_file_report(self) -> crate::ingest::FileReport {
        use crate::ingest::{ExportCounts, FileOutcome};
        let rejected = self.problems.iter().map(|p| p.line).collect::<std::collections::BTreeSet<_>>().len() as u64;
        let quarantined = if self.refused { Vec::new() } else { self.problems.clone() };
        let outcome = if self.already_ingested {
            FileOutcome::AlreadyIngested
        } else if self.refused {
            FileOutcome::Refused { problems: self.problems }
        } else {
            FileOutcome::Committed {
                added: self.activity_added + self.attendance_added,
                already_held: self.activity_held,
                rejected,
                rejects_file: self.rejects_file,
            }
        };
        let export = (!self.already_ingested).then_some(ExportCounts {
            kept: self.kept,
            dropped: self.dropped,
            unmapped: self.unmapped,
            rejected,
            activity_added: self.activity_added,
            activity_held: self.activity_held,
            attendance_added: self.attendance_added,
            quarantined,
        });
        crate::ingest::FileReport {
            path: self.path,
            rows_read: self.rows_read,
            warnings: self.warnings,
            outcome,
            days: None,
            export,
        }
    }
}

/// Ingests exported files of `format`.
pub async fn ingest(
    warehouse: &Warehouse,
    format: &Format,
    files: &[PathBuf],
    options: &IngestOptions,
) -> Result<crate::ingest::IngestReport> {
    let started = Instant::now();
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let ctx = &job.ctx;
    let tz = warehouse.config().tz().map_err(Error::Usage)?;
    let identities = Identities::load(ctx).await?;
    let sessions = load_sessions(ctx).await?;
    let mut reports = Vec::new();
    // The activity table stays open across the run (brought up to date after each commit),
    // and the run's ingest-log rows are written once at the end: a file's activity is
    // committed before its log row, so a run stopped in between leaves files whose rows
    // are all held, which the next run finds and adds nothing for.
    let mut table = warehouse.table(&tables::ACTIVITY).await?;
    let mut logs = Vec::new();
    // Every file ingested before as this format, read once; this run's files join it.
    let mut seen = std::collections::HashSet::new();
    for batch in queries::collect(ctx, "ingest/files_seen", &[("kind", ScalarValue::from(format.name))]).await? {
        let hashes = text_column(&batch, 0)?;
        seen.extend(hashes.iter().flatten().map(String::from));
    }
    for path in files {
        let sha256 = super::file_sha256(path)?;
        if !seen.insert(sha256.clone()) {
            reports.push(AdapterFileReport { path: path.clone(), already_ingested: true, ..Default::default() });
            continue;
        }
        let files = warehouse.stage_files(&tables::ACTIVITY, &table)?;
        let mut sink = Sink::new(warehouse, ctx, tz, &identities, &sessions, files, path);
        let read = tokio::task::block_in_place(|| match format.name {
            "moodle-log" => moodle::read_log(path, &mut sink),
            "moodle-report" => moodle::read_report(path, &mut sink),
            "teams-attendance" => teams::read(path, &mut sink),
            "xapi" => xapi::read(path, &mut sink),
            "lecture-capture" => capture::read(path, &mut sink),
            other => Err(Error::Usage(format!("unknown format '{other}'"))),
        });
        if let Err(e) = read {
            sink.discard();
            return Err(e);
        }
        if !sink.report.problems.is_empty() {
            if !options.quarantine {
                sink.discard();
                sink.report.refused = true;
                reports.push(sink.report);
                continue;
            }
            sink.report.rejects_file = Some(super::write_rejects(path, &sink.header, &sink.report.problems, options)?);
        }
        if let Err(e) = sink.finish(&mut table, &format!("ingest {}", format.name)).await {
            sink.discard();
            return Err(e);
        }
        let report = sink.report;
        let rejected = report.problems.iter().map(|p| p.line).collect::<std::collections::BTreeSet<_>>().len() as u64;
        let added = report.activity_added + report.attendance_added;
        let log = super::ingest_log_row(
            format.name,
            path,
            &sha256,
            report.rows_read,
            added,
            rejected,
            crate::ingest::ingest_stamp(),
        )?;
        logs.push(log);
        reports.push(report);
    }
    if !logs.is_empty() {
        warehouse.append(&tables::INGEST_LOG, logs, "ingest log").await?;
    }
    let attendance = if reports.iter().any(|r| r.attendance_added > 0) || swipes::is_stale(warehouse).await? {
        Some(swipes::refresh(warehouse, ctx, None).await?)
    } else {
        None
    };
    Ok(crate::ingest::IngestReport {
        kind: format.name,
        files: reports.into_iter().map(AdapterFileReport::into_file_report).collect(),
        attendance,
        elapsed: started.elapsed(),
        notes: Vec::new(),
        exported: true,
    })
}
