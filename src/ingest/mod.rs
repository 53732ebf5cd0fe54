//! `rollcall ingest`: validate interchange files and commit them to the warehouse.
//!
//! Each file is its own unit: it is read and checked whole, then committed in one Delta
//! commit per table, or refused whole. A file already ingested (same kind, same SHA-256)
//! adds nothing; rows already held add nothing either, so a file re-sent after a crash
//! between commits is safe. Swipes, sessions and class lists are reconciled into
//! attendance after every ingest that touches them, whatever order the files came in.

pub mod adapters;
pub mod kinds;
mod order;
pub mod parse;
mod source;
mod split;

pub use source::{Loaded, Source, load};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{BooleanArray, Date32Array, RecordBatch, StringArray, UInt64Array};
use arrow::compute::kernels::aggregate::{max, min};
// The engine's hash set (foldhash): one lookup per staged row.
use datafusion::common::HashSet;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::derive::swipes;
use crate::domain::reference::{BANK_HOLIDAYS_CSV, BANK_HOLIDAYS_FILE, GROUPS_CSV, GROUPS_FILE};
use crate::engine::job::Job;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::privacy::pseudonym::{EQUALITY_PURPOSE, PseudonymKey};
use crate::queries;
use crate::warehouse::tables::{self, TableDef};
use crate::warehouse::{InitReport, Warehouse};
use kinds::{Kind, Merge};
use parse::{ParseOptions, Parsed, Reject};

/// How to treat files with bad rows.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Commit the good rows and write bad ones to a rejects file, instead of refusing the file.
    pub quarantine: bool,
    /// Where rejects files go (default: beside each input file).
    pub rejects_dir: Option<PathBuf>,
    /// Show progress bars (only drawn on a terminal in any case).
    pub progress: bool,
}

/// What happened to one file.
#[derive(Debug)]
pub enum FileOutcome {
    /// Committed; `rejected` rows went to `rejects_file` (quarantine).
    Committed {
        /// Rows added to the table.
        added: u64,
        /// Rows already held (skipped, or replaced in place for upserts).
        already_held: u64,
        /// Rows refused (quarantine).
        rejected: u64,
        /// Where the refused rows were written.
        rejects_file: Option<PathBuf>,
    },
    /// The same content was ingested before as this kind; nothing was done.
    AlreadyIngested,
    /// Refused whole; nothing was committed.
    Refused {
        /// Every problem, in line order.
        problems: Vec<Reject>,
    },
}

/// The report for one file.
#[derive(Debug)]
pub struct FileReport {
    /// The input file.
    pub path: PathBuf,
    /// Data rows read.
    pub rows_read: u64,
    /// Warnings (ignored columns).
    pub warnings: Vec<String>,
    /// The outcome.
    pub outcome: FileOutcome,
    /// The first and last day the commit changed (days since the epoch): of the rows added,
    /// for kinds with a day; of the sessions changed, for the timetable and class lists.
    pub days: Option<(i32, i32)>,
    /// What an exported file's rows became (export formats only).
    pub export: Option<ExportCounts>,
}

/// What an exported file's rows became: every row read is kept, dropped (by reason),
/// unmapped (by identity domain) or rejected.
#[derive(Debug, Default, Clone)]
pub struct ExportCounts {
    /// Rows that became events.
    pub kept: u64,
    /// Rows deliberately left out, by reason.
    pub dropped: std::collections::BTreeMap<&'static str, u64>,
    /// Rows whose user maps to no student, by identity domain.
    pub unmapped: std::collections::BTreeMap<String, u64>,
    /// Malformed rows (each with at least one problem).
    pub rejected: u64,
    /// Activity rows added (events aggregated per student, second and source).
    pub activity_added: u64,
    /// Activity rows already held.
    pub activity_held: u64,
    /// Session attendances added.
    pub attendance_added: u64,
    /// The problems of rows quarantined from a committed file.
    pub quarantined: Vec<Reject>,
}

/// The report for one `rollcall ingest` run.
#[derive(Debug)]
pub struct IngestReport {
    /// The kind ingested.
    pub kind: &'static str,
    /// One entry per file, in command-line order.
    pub files: Vec<FileReport>,
    /// Swipe outcomes after reconciliation, when it ran.
    pub attendance: Option<swipes::OutcomeCounts>,
    /// Wall time.
    pub elapsed: std::time::Duration,
    /// What the run found out about its input, for the user (a UDD folder's files).
    pub notes: Vec<String>,
    /// Whether the files were exports of another system (with [`FileReport::export`]).
    pub exported: bool,
}

impl IngestReport {
    /// Total data rows read.
    pub fn rows_read(&self) -> u64 {
        self.files.iter().map(|f| f.rows_read).sum()
    }

    /// Files refused.
    pub fn refused(&self) -> usize {
        self.files.iter().filter(|f| matches!(f.outcome, FileOutcome::Refused { .. })).count()
    }
}

/// When rows are ingested (`ingested_at`): the system clock, never the warehouse's clock,
/// which tests and the demo pin. The rating's change detection compares these stamps with
/// the last run's watermark, so they must move forward from one job to the next.
pub(crate) fn ingest_stamp() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// `rollcall init`: creates the warehouse and loads the shipped bank-holiday calendar into
/// it (once; a copy stays at `WAREHOUSE/reference/` to edit and re-ingest).
pub async fn init_warehouse(root: &Path, preset: &str) -> Result<(Warehouse, InitReport)> {
    let (warehouse, report) = Warehouse::init(root, preset).await?;
    let groups = warehouse.root().join(GROUPS_FILE);
    if !groups.exists() {
        crate::warehouse::write_atomically(&groups, GROUPS_CSV.as_bytes())?;
    }
    let file = warehouse.root().join(BANK_HOLIDAYS_FILE);
    if !file.exists() {
        crate::warehouse::write_atomically(&file, BANK_HOLIDAYS_CSV.as_bytes())?;
        let report = ingest(&warehouse, &kinds::BANK_HOLIDAYS, &[file], &IngestOptions::default()).await?;
        if report.refused() > 0 {
            return Err(Error::Internal("the shipped bank-holiday calendar was refused".into()));
        }
    }
    Ok((warehouse, report))
}

/// Ingests `files` of `kind` into the warehouse.
pub async fn ingest(
    warehouse: &Warehouse,
    kind: &Kind,
    files: &[PathBuf],
    options: &IngestOptions,
) -> Result<IngestReport> {
    let started = Instant::now();
    let job = Job::start(warehouse, Access::Internal { with_equality: true }).await?;
    let ctx = &job.ctx;
    let tz = warehouse.config().tz().map_err(Error::Usage)?;
    let mut reports = Vec::new();
    let mut committed_any = false;
    let touches_attendance = matches!(kind.table.name, "swipes" | "sessions" | "class_lists");
    let version_before = match touches_attendance {
        true => Some(warehouse.version(&kind.table).await?),
        false => None,
    };
    // Each file is read while the one before it commits: reading is CSV work on every core,
    // committing is mostly one core's Parquet encoding.
    let mut ahead = None;
    for (i, path) in files.iter().enumerate() {
        let current = match ahead.take() {
            Some(read) => read,
            None => read_ahead(ctx, kind, path, tz, options),
        };
        if let Some(next) = files.get(i + 1) {
            ahead = Some(read_ahead(ctx, kind, next, tz, options));
        }
        let current = current.await.map_err(|e| Error::stopped(&format!("reading {}", path.display()), &e))?;
        let report = ingest_file(warehouse, ctx, kind, path, current, options).await?;
        // Upserts may change rows without adding any; inserts change nothing when all were held.
        committed_any |= report.changed(kind);
        reports.push(report);
    }
    let attendance = if (touches_attendance && committed_any) || swipes::is_stale(warehouse).await? {
        // New swipes, or changed sessions or class lists, reconcile only the days they can
        // affect; a changing file whose days are not known reconciles every day.
        let each: Option<Vec<(i32, i32)>> = reports.iter().filter(|r| r.changed(kind)).map(|r| r.days).collect();
        let days = each.and_then(|each| each.into_iter().reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))));
        let changed = version_before.zip(days).map(|(before, days)| swipes::ChangedSource {
            table: kind.table.name,
            before,
            days,
        });
        Some(swipes::refresh(warehouse, ctx, changed).await?)
    } else {
        None
    };
    Ok(IngestReport {
        kind: kind.name,
        files: reports,
        attendance,
        elapsed: started.elapsed(),
        notes: Vec::new(),
        exported: false,
    })
}

/// A file's content hash and, unless it was ingested before, what reading it gave.
/// Problems are kept for the file's turn, so the files before it still commit.
struct ReadAhead {
    sha256: Result<String>,
    parsed: Option<Result<(Parsed, i64)>>,
}

/// Hashes `path` and, when its content is new, reads it: on the runtime's threads, while
/// the file before it commits (the hash is a pass over the file on one core, which the
/// commit leaves idle for part of its time). The pass that hashes the file also plans how
/// its parts are read (`split::plan`).
fn read_ahead(
    ctx: &SessionContext,
    kind: &Kind,
    path: &Path,
    tz: chrono_tz::Tz,
    options: &IngestOptions,
) -> tokio::task::JoinHandle<ReadAhead> {
    let (ctx, kind, path, progress) = (ctx.clone(), *kind, path.to_path_buf(), options.progress);
    tokio::spawn(async move {
        let stopped = |e: tokio::task::JoinError| Error::stopped(&format!("reading {}", path.display()), &e);
        let hashing = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || split::plan(&path))
        };
        let plan = match hashing.await.map_err(stopped).and_then(|planned| planned) {
            Ok(plan) => plan,
            Err(e) => return ReadAhead { sha256: Err(e), parsed: None },
        };
        let sha256 = plan.sha256.clone();
        match seen(&ctx, kind.name, &sha256).await {
            Ok(false) => {}
            Ok(true) => return ReadAhead { sha256: Ok(sha256), parsed: None },
            Err(e) => return ReadAhead { sha256: Err(e), parsed: None },
        }
        let reading = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let ingested_at = ingest_stamp();
                let size = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len();
                let bar = progress_bar(progress, size, &path);
                let parsed =
                    parse::parse_planned(&path, &plan, &kind, &ParseOptions { tz, ingested_at, progress: &bar });
                bar.finish_and_clear();
                Ok((parsed?, ingested_at))
            })
        };
        let parsed = reading.await.map_err(stopped).and_then(|read| read);
        ReadAhead { sha256: Ok(sha256), parsed: Some(parsed) }
    })
}

async fn ingest_file(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    kind: &Kind,
    path: &Path,
    read: ReadAhead,
    options: &IngestOptions,
) -> Result<FileReport> {
    let sha256 = read.sha256?;
    // Checked again at the file's turn: an earlier file of this run may have had the same content.
    let parsed = match read.parsed {
        Some(parsed) if !seen(ctx, kind.name, &sha256).await? => parsed,
        _ => {
            return Ok(FileReport {
                path: path.to_path_buf(),
                rows_read: 0,
                warnings: vec![],
                outcome: FileOutcome::AlreadyIngested,
                days: None,
                export: None,
            });
        }
    };
    let (parsed, ingested_at) = parsed?;

    let rejected = parsed.rejected_rows() as u64;
    if rejected > 0 && !options.quarantine {
        return Ok(FileReport {
            path: path.to_path_buf(),
            rows_read: parsed.rows_read,
            warnings: parsed.warnings,
            outcome: FileOutcome::Refused { problems: parsed.rejects },
            days: None,
            export: None,
        });
    }
    let rejects_file =
        if rejected > 0 { Some(write_rejects(path, &parsed.header, &parsed.rejects, options)?) } else { None };

    // Special-category values leave the row here, under a keyed pseudonym.
    if !parsed.special.is_empty() {
        let key = if parsed.special.iter().any(|s| s.value.is_some()) {
            Some(PseudonymKey::load(warehouse)?)
        } else {
            PseudonymKey::load(warehouse).ok()
        };
        if let Some(key) = key {
            commit_equality(warehouse, ctx, &key, &parsed, ingested_at).await?;
        }
    }

    let staged_rows = parsed.batch.num_rows() as u64;
    let days = match kind.table.name {
        // Read before the merge: a moved session's held day is among them.
        "sessions" | "class_lists" => changed_sessions_days(ctx, kind, &parsed.batch).await?,
        _ => day_range(&parsed.batch).flatten(),
    };
    let added = commit_rows(warehouse, ctx, kind, parsed.batch).await?;
    let log = ingest_log_row(kind.name, path, &sha256, parsed.rows_read, added, rejected, ingested_at)?;
    warehouse.append(&tables::INGEST_LOG, vec![log], "ingest log").await?;
    session::register(ctx, warehouse, &tables::INGEST_LOG).await?;
    Ok(FileReport {
        path: path.to_path_buf(),
        rows_read: parsed.rows_read,
        warnings: parsed.warnings,
        outcome: FileOutcome::Committed {
            added,
            already_held: staged_rows - added.min(staged_rows),
            rejected,
            rejects_file,
        },
        days: days.filter(|_| added > 0 || kind.merge != Merge::InsertNew),
        export: None,
    })
}

impl FileReport {
    /// Whether the file's commit may have changed the table: rows added, or (upserts and
    /// replacements) rows changed in place.
    fn changed(&self, kind: &Kind) -> bool {
        match &self.outcome {
            FileOutcome::Committed { added, .. } => *added > 0 || kind.merge != Merge::InsertNew,
            _ => false,
        }
    }
}

/// The first and last day of the sessions a timetable or class-list file changes (none
/// when it names no session on the timetable).
async fn changed_sessions_days(ctx: &SessionContext, kind: &Kind, staged: &RecordBatch) -> Result<Option<(i32, i32)>> {
    session::register_batches(ctx, "staged", staged.schema(), vec![staged.clone()])?;
    let days = queries::collect(ctx, &format!("ingest/changed_days_{}", kind.table.name), &[]).await?;
    let first = crate::engine::cells::date_at(&days, "first_day")?;
    let last = crate::engine::cells::date_at(&days, "last_day")?;
    Ok(first.zip(last))
}

/// Whether a file with this content was ingested before as this kind or format.
pub(crate) async fn seen(ctx: &SessionContext, kind: &str, sha256: &str) -> Result<bool> {
    let seen = queries::collect(
        ctx,
        "ingest/file_seen",
        &[("kind", ScalarValue::from(kind)), ("sha256", ScalarValue::from(sha256))],
    )
    .await?;
    Ok(crate::engine::cells::int_at(&seen, "times")?.unwrap_or(0) > 0)
}

/// The fewest rows an ingested file's commit gives each of its writers: a small file is
/// written as one file.
const ROWS_PER_PART: usize = 200_000;

/// Commits staged rows (the staged layout, in the table's order: see `order::staged_from`)
/// to the kind's table; returns how many rows are new.
pub(crate) async fn commit_rows(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    kind: &Kind,
    staged: RecordBatch,
) -> Result<u64> {
    let table = kind.table;
    let staged_rows = staged.num_rows() as u64;
    if staged_rows == 0 {
        return Ok(0);
    }
    let operation = format!("ingest {}", kind.name);
    let added = match kind.merge {
        Merge::InsertNew => {
            // A file of new days (the usual export) or new students holds nothing the
            // table has: the rows held are not searched for. Else only the rows the table's
            // files may hold are.
            let held = match possibly_held(warehouse, &table, &staged).await? {
                Some((searched, bounds)) => {
                    session::register_batches(ctx, "staged", searched.schema(), vec![searched])?;
                    queries::collect(ctx, &format!("ingest/held_{}", table.name), &bounds).await?
                }
                None => Vec::new(),
            };
            let rows = without_lines(&staged, &held)?;
            let added = rows.num_rows() as u64;
            if added > 0 {
                // A large file's rows are encoded on every core, a run of them each.
                let parts = (rows.num_rows() / ROWS_PER_PART).clamp(1, ctx.copied_config().target_partitions());
                warehouse.append_in_parts(&table, rows, parts, &operation).await?;
            }
            added
        }
        Merge::Upsert | Merge::ReplaceBySession => {
            session::register_batches(ctx, "staged", staged.schema(), vec![staged.clone()])?;
            let held_before = count_rows(ctx, table.name).await?;
            let query = format!("ingest/merge_{}", table.name);
            let rows = queries::collect(ctx, &query, &[]).await?;
            let after: u64 = rows.iter().map(|b| b.num_rows() as u64).sum();
            warehouse.overwrite(&table, rows, &operation).await?;
            after.saturating_sub(held_before)
        }
    };
    session::register(ctx, warehouse, &table).await?;
    Ok(added)
}

/// The staged rows the table may already hold, by its files' statistics, with their
/// [`staged_bounds`] (`None`: none of them). A file of new days (the usual export) or of
/// new students (a bulk load cut by student group) holds nothing the table has. Of a file
/// cut by size, sharing a student with the file before it, only that student's rows are
/// searched for: the rows whose student lies within the id range of a table's file
/// reaching their days.
async fn possibly_held(
    warehouse: &Warehouse,
    table: &TableDef,
    staged: &RecordBatch,
) -> Result<Option<(RecordBatch, Vec<(&'static str, ScalarValue)>)>> {
    let students = staged_students(staged);
    let every = || Some((staged.clone(), bounds_of(staged, students.as_deref())));
    let Some(Some(days)) = day_range(staged) else { return Ok(every()) };
    let files = warehouse.reaching_students(table, days, students.as_deref()).await?;
    if files.is_empty() {
        return Ok(None);
    }
    let ids = staged.column_by_name("student_id").and_then(|c| c.as_any().downcast_ref::<StringArray>());
    // Every file's id range known: merged into disjoint ranges, in order.
    let (Some(ids), Some(mut ranges)) = (ids, files.into_iter().collect::<Option<Vec<(String, String)>>>()) else {
        return Ok(every());
    };
    ranges.sort_unstable();
    let mut merged: Vec<(String, String)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            Some(previous) if first <= previous.1 => {
                if last > previous.1 {
                    previous.1 = last;
                }
            }
            _ => merged.push((first, last)),
        }
    }
    let within = |id: &str| {
        let at = merged.partition_point(|(_, last)| last.as_str() < id);
        merged.get(at).is_some_and(|(first, _)| first.as_str() <= id)
    };
    let keep: BooleanArray = ids.iter().map(|id| Some(id.is_some_and(within))).collect();
    Ok(match keep.true_count() {
        0 => None,
        n if n == staged.num_rows() => every(),
        _ => {
            let searched = arrow::compute::filter_record_batch(staged, &keep)?;
            let bounds = staged_bounds(&searched);
            Some((searched, bounds))
        }
    })
}

/// The staged rows in the table's layout, without the lines in `held` (batches of one
/// `_line` column). The staged order is kept: it is the table's.
fn without_lines(staged: &RecordBatch, held: &[RecordBatch]) -> Result<RecordBatch> {
    let table_columns: Vec<usize> = (0..staged.num_columns() - 1).collect();
    let rows = staged.project(&table_columns)?;
    let held: HashSet<u64> = held
        .iter()
        .flat_map(|b| b.column(0).as_any().downcast_ref::<UInt64Array>().expect("held lines are UInt64").values())
        .copied()
        .collect();
    if held.is_empty() {
        return Ok(rows);
    }
    let lines = staged
        .column_by_name(parse::LINE_COLUMN)
        .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
        .expect("staged rows carry their line");
    let keep: BooleanArray = lines.values().iter().map(|line| Some(!held.contains(line))).collect();
    Ok(arrow::compute::filter_record_batch(&rows, &keep)?)
}

async fn commit_equality(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    key: &PseudonymKey,
    parsed: &Parsed,
    ingested_at: i64,
) -> Result<()> {
    let def = tables::EQUALITY;
    let pseudonyms: StringArray =
        parsed.special.iter().map(|s| Some(key.pseudonym(EQUALITY_PURPOSE, &s.student_id))).collect();
    let values: StringArray = parsed.special.iter().map(|s| s.value.as_deref()).collect();
    // The day only: no timestamp shared with the students table.
    let day = ingested_at.div_euclid(86_400_000_000) as i32;
    let on = Date32Array::from(vec![day; parsed.special.len()]);
    let batch = crate::warehouse::row::columns(
        &def,
        vec![("pseudonym", Arc::new(pseudonyms)), ("ethnicity", Arc::new(values)), ("ingested_on", Arc::new(on))],
    )?;
    session::register_batches(ctx, "staged", def.schema(), vec![batch])?;
    let rows = queries::collect(ctx, "ingest/merge_equality", &[]).await?;
    warehouse.overwrite(&def, rows, "ingest equality").await?;
    // No previous version stays behind to be compared with this one (a diff would show the
    // pseudonyms added): old files, and the log entries describing them, go at once.
    warehouse.forget_history(&def).await?;
    session::register(ctx, warehouse, &def).await
}

async fn count_rows(ctx: &SessionContext, table: &str) -> Result<u64> {
    let df = ctx.table(table).await.map_err(|e| Error::query(table, e))?;
    Ok(df.count().await.map_err(|e| Error::query(table, e))? as u64)
}

/// The staged rows' day and student ranges, as the `$min_day`, `$max_day`, `$min_student`
/// and `$max_student` parameters of the `ingest/new_*` and `ingest/held_*` queries. Held
/// rows outside both ranges cannot match, and the table's file statistics let the scan
/// skip them: a daily export touches the files of its days, a per-student export those of
/// its students.
pub(crate) fn staged_bounds(batch: &RecordBatch) -> Vec<(&'static str, ScalarValue)> {
    bounds_of(batch, staged_students(batch).as_deref())
}

/// The staged students as [`student_ranges`] (`None` without a text `student_id` column).
fn staged_students(batch: &RecordBatch) -> Option<Vec<(&str, &str)>> {
    let ids = batch.column_by_name("student_id")?.as_any().downcast_ref::<StringArray>()?;
    Some(student_ranges(ids))
}

/// [`staged_bounds`] with the batch's [`staged_students`] already found.
fn bounds_of(batch: &RecordBatch, students: Option<&[(&str, &str)]>) -> Vec<(&'static str, ScalarValue)> {
    let mut params = vec![];
    if let Some(days) = day_range(batch) {
        params.push(("min_day", ScalarValue::Date32(days.map(|d| d.0))));
        params.push(("max_day", ScalarValue::Date32(days.map(|d| d.1))));
    }
    if let Some(ranges) = students {
        params.push(("min_student", ScalarValue::Utf8(ranges.first().map(|r| r.0.to_owned()))));
        params.push(("max_student", ScalarValue::Utf8(ranges.last().map(|r| r.1.to_owned()))));
        for (i, (from, to)) in STUDENT_RANGES.iter().enumerate() {
            // Fewer ranges than parameters: the last range again.
            let range = ranges.get(i).or(ranges.last());
            params.push((from, ScalarValue::Utf8(range.map(|r| r.0.to_owned()))));
            params.push((to, ScalarValue::Utf8(range.map(|r| r.1.to_owned()))));
        }
    }
    params
}

/// The `$student_from_N` and `$student_to_N` parameters: the staged students as a few
/// ranges, so a file holding two groups of students far apart in id order (this year's
/// and a past year's, say) is not taken for one holding every student between them.
const STUDENT_RANGES: [(&str, &str); 8] = [
    ("student_from_1", "student_to_1"),
    ("student_from_2", "student_to_2"),
    ("student_from_3", "student_to_3"),
    ("student_from_4", "student_to_4"),
    ("student_from_5", "student_to_5"),
    ("student_from_6", "student_to_6"),
    ("student_from_7", "student_to_7"),
    ("student_from_8", "student_to_8"),
];

/// The distinct ids, in order, cut into at most [`STUDENT_RANGES`] ranges where
/// neighbouring ids share the shortest prefix (`G1000599` | `S1000000` before
/// `S1000001` | `S1000002`): each range is one group's first and last id.
fn student_ranges(ids: &StringArray) -> Vec<(&str, &str)> {
    // Hashed first: a file holds millions of rows but thousands of students, and staged
    // rows are in the table's order, a student's rows side by side: only the first of
    // each run is hashed (hashing every row was 1.2% of a profile of the activity ingest).
    let mut distinct: HashSet<&str> = HashSet::new();
    let mut last = None;
    for id in ids.iter().flatten() {
        if last != Some(id) {
            distinct.insert(id);
            last = Some(id);
        }
    }
    let mut distinct: Vec<&str> = distinct.into_iter().collect();
    distinct.sort_unstable();
    if distinct.is_empty() {
        return vec![];
    }
    let shared = |a: &str, b: &str| a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    // The neighbours sharing least, as cuts (a cut at i falls between ids i - 1 and i).
    let mut cuts: Vec<(usize, usize)> =
        (1..distinct.len()).map(|i| (shared(distinct[i - 1], distinct[i]), i)).collect();
    cuts.sort_unstable();
    let mut at: Vec<usize> = cuts.iter().take(STUDENT_RANGES.len() - 1).map(|&(_, i)| i).collect();
    at.sort_unstable();
    let mut ranges = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    for cut in at.into_iter().chain([distinct.len()]) {
        ranges.push((distinct[start], distinct[cut - 1]));
        start = cut;
    }
    ranges
}

/// The first and last day of a batch with a `day` column (`None` when it has none; an inner
/// `None` when it has no rows).
fn day_range(batch: &RecordBatch) -> Option<Option<(i32, i32)>> {
    let days = batch.column_by_name("day")?.as_any().downcast_ref::<Date32Array>()?;
    Some(min(days).zip(max(days)))
}

pub(crate) fn ingest_log_row(
    kind: &str,
    path: &Path,
    sha256: &str,
    read: u64,
    added: u64,
    rejected: u64,
    at: i64,
) -> Result<RecordBatch> {
    use crate::warehouse::row;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let log = vec![
        ("ingested_at", row::instant(Some(at))),
        ("kind", row::text(kind)),
        ("file_name", row::text(name)),
        ("sha256", row::text(sha256)),
        ("rows_read", row::int(read as i64)),
        ("rows_added", row::int(added as i64)),
        ("rows_rejected", row::int(rejected as i64)),
        ("os_user", row::text(crate::warehouse::os_user())),
    ];
    row::named(&tables::INGEST_LOG, &[log])
}

pub(crate) fn file_sha256(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Writes the refused rows of a quarantined file: `line`, `problems`, then the file's own
/// columns, so the rows can be corrected and ingested again. `rejects` are in line order.
pub(crate) fn write_rejects(
    path: &Path,
    file_header: &[String],
    rejects: &[Reject],
    options: &IngestOptions,
) -> Result<PathBuf> {
    let name =
        format!("{}.rejects.csv", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    let dir = options.rejects_dir.clone().unwrap_or_else(|| path.parent().map(Path::to_path_buf).unwrap_or_default());
    let target = dir.join(name);
    // A row may have more or fewer fields than the header: written as it was.
    let mut out = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    let mut header = vec!["line".to_string(), "problems".to_string()];
    header.extend(file_header.iter().cloned());
    let failed = |e: csv::Error| Error::io(&target, std::io::Error::other(e.to_string()));
    out.write_record(&header).map_err(failed)?;
    let mut i = 0;
    while i < rejects.len() {
        let line = rejects[i].line;
        let mut problems = Vec::new();
        let mut record = None;
        while i < rejects.len() && rejects[i].line == line {
            let r = &rejects[i];
            problems.push(if r.column.is_empty() { r.reason.clone() } else { format!("{}: {}", r.column, r.reason) });
            record = record.or_else(|| r.record.clone());
            i += 1;
        }
        let mut row = vec![line.to_string(), problems.join("; ")];
        row.extend(record.unwrap_or_else(|| vec![String::new(); file_header.len()]));
        out.write_record(&row).map_err(failed)?;
    }
    let bytes = out.into_inner().map_err(|e| Error::io(&target, std::io::Error::other(e.to_string())))?;
    crate::warehouse::write_atomically(&target, &bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Rejected rows are personal data: readable by the owner only.
        let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600));
    }
    Ok(target)
}

fn progress_bar(enabled: bool, size: u64, path: &Path) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_students_become_a_few_ranges_cut_between_groups() {
        let mut ids: Vec<String> = (0..600).map(|i| format!("G{:07}", 1_000_000 + i)).collect();
        ids.extend((0..1000).map(|i| format!("S{:07}", 1_029_000 + i)));
        ids.extend(["S1029500".to_string(), "G1000001".to_string()]); // repeated ids
        ids.reverse();
        let array = StringArray::from_iter(ids.iter().map(Some).chain([None]));
        let ranges = student_ranges(&array);
        assert!(ranges.len() <= STUDENT_RANGES.len() && ranges.len() > 1, "{ranges:?}");
        // In order, not overlapping, and no range holds both groups.
        assert!(ranges.iter().all(|(from, to)| from <= to && from[..1] == to[..1]), "{ranges:?}");
        assert!(ranges.windows(2).all(|w| w[0].1 < w[1].0), "{ranges:?}");
        // Every id is in a range.
        assert!(ids.iter().all(|id| ranges.iter().any(|(from, to)| *from <= id.as_str() && id.as_str() <= *to)));
        assert_eq!((ranges[0].0, ranges.last().unwrap().1), ("G1000000", "S1029999"));

        assert_eq!(student_ranges(&StringArray::from(vec!["S1"])), vec![("S1", "S1")]);
        assert!(student_ranges(&StringArray::from(vec![None::<&str>])).is_empty());
        // Parameters for every range, the last range repeated when there are fewer.
        let batch =
            RecordBatch::try_from_iter([("student_id", Arc::new(StringArray::from(vec!["S2", "A1"])) as _)]).unwrap();
        let params = staged_bounds(&batch);
        let value = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()).unwrap();
        assert_eq!((value("student_from_1"), value("student_to_1")), ("A1".into(), "A1".into()));
        assert_eq!((value("student_from_2"), value("student_to_2")), ("S2".into(), "S2".into()));
        assert_eq!((value("student_from_8"), value("student_to_8")), ("S2".into(), "S2".into()));
    }

    /// A file cut by size shares its first student with the file before it: only that
    /// student's rows are searched for; students beyond every file's ids are not; a file of
    /// other days is not searched at all.
    #[tokio::test]
    async fn held_rows_are_searched_for_only_among_the_students_the_tables_files_reach() {
        let dir = tempfile::tempdir().unwrap();
        let (warehouse, _) = Warehouse::init(dir.path(), "staged-review").await.unwrap();
        let rows = |students: &[&str], day: u32| -> String {
            let mut text = String::from("student_id,occurred_at,source,count\n");
            for student in students {
                for hour in 8..12 {
                    text.push_str(&format!("{student},2025-10-{day:02}T{hour:02}:00:00,vle,1\n"));
                }
            }
            text
        };
        let first = dir.path().join("activity-1.csv");
        std::fs::write(&first, rows(&["S1", "S2", "S3"], 1)).unwrap();
        let options = IngestOptions::default();
        ingest(&warehouse, &kinds::ACTIVITY, std::slice::from_ref(&first), &options).await.unwrap();

        let staged = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let plan = split::plan(&path).unwrap();
            let progress = ProgressBar::hidden();
            let opts = ParseOptions { tz: chrono_tz::Europe::London, ingested_at: 0, progress: &progress };
            parse::parse_planned(&path, &plan, &kinds::ACTIVITY, &opts).unwrap().batch
        };
        let students_of = |batch: &RecordBatch| -> Vec<String> {
            let ids = batch.column_by_name("student_id").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
            let mut ids: Vec<String> = ids.iter().flatten().map(str::to_owned).collect();
            ids.dedup();
            ids
        };
        let searched = |batch: RecordBatch| {
            let warehouse = &warehouse;
            async move { possibly_held(warehouse, &tables::ACTIVITY, &batch).await.unwrap() }
        };

        let next = staged("activity-2.csv", rows(&["S3", "S4", "S5"], 1));
        let (rows_searched, bounds) = searched(next).await.expect("S3 may be held");
        assert_eq!(students_of(&rows_searched), ["S3"]);
        assert_eq!(rows_searched.num_rows(), 4);
        let bound = |name: &str| bounds.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()).unwrap();
        assert_eq!((bound("min_student"), bound("max_student")), ("S3".into(), "S3".into()));

        assert!(searched(staged("activity-3.csv", rows(&["S4", "S5"], 1))).await.is_none(), "beyond every file");
        assert!(searched(staged("activity-4.csv", rows(&["S1", "S2"], 9))).await.is_none(), "other days");
        // Students on both sides of the table's ids, and within them: only those within.
        let (around, _) = searched(staged("activity-5.csv", rows(&["S0", "S2", "S9"], 1))).await.unwrap();
        assert_eq!(students_of(&around), ["S2"]);
        // Every row within: all of them, as staged.
        let (all, _) = searched(staged("activity-6.csv", rows(&["S1", "S3"], 1))).await.unwrap();
        assert_eq!((students_of(&all), all.num_rows()), (vec!["S1".to_string(), "S3".to_string()], 8));
    }
}
