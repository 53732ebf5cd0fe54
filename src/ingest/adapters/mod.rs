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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::SchemaRef;
use chrono_tz::Tz;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use super::kinds::{self, SOURCES};
use super::parse::Reject;
use super::time::LocalClock;
use super::{IngestOptions, attendance};
use crate::config::FormatsConfig;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::{Warehouse, tables};

/// An activity key: instant (UTC microseconds, whole seconds), student index, source index.
type Key = (i64, u32, u8);
/// Events at a key and their summed duration.
type Tally = (i64, Option<i64>);

/// Distinct activity keys held before a chunk is written out (about 100 MiB); the
/// environment variable `ROLLCALL_CHUNK_KEYS` changes it (smaller uses less memory and
/// writes more, smaller files).
fn chunk_keys() -> usize {
    std::env::var("ROLLCALL_CHUNK_KEYS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(1 << 20)
}

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

/// The report of one run over exported files.
#[derive(Debug)]
pub struct AdapterReport {
    /// The format read.
    pub format: &'static str,
    /// One entry per file.
    pub files: Vec<AdapterFileReport>,
    /// Swipe outcomes after reconciliation, when attendance was added.
    pub attendance: Option<attendance::OutcomeCounts>,
    /// Wall time.
    pub elapsed: std::time::Duration,
}

impl AdapterReport {
    /// Files refused.
    pub fn refused(&self) -> usize {
        self.files.iter().filter(|f| f.refused).count()
    }
    /// Data rows read.
    pub fn rows_read(&self) -> u64 {
        self.files.iter().map(|f| f.rows_read).sum()
    }
}

/// Students' identities in other systems: (domain, identifier) and email to student.
pub struct Identities {
    by_key: HashMap<(String, String), u32>,
    ids: Vec<String>,
}

impl Identities {
    /// Loads the identity map and students' emails.
    pub async fn load(ctx: &SessionContext) -> Result<Identities> {
        let mut ids: Vec<String> = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut by_key = HashMap::new();
        for batch in queries::collect(ctx, "ingest/identities", &[]).await? {
            let domain = text_column(&batch, 0)?;
            let identifier = text_column(&batch, 1)?;
            let student = text_column(&batch, 2)?;
            for row in 0..batch.num_rows() {
                let id = student.value(row);
                let next = ids.len() as u32;
                let n = *index.entry(id.to_string()).or_insert_with(|| {
                    ids.push(id.to_string());
                    next
                });
                by_key.insert((domain.value(row).to_string(), identifier.value(row).to_string()), n);
            }
        }
        Ok(Identities { by_key, ids })
    }

    /// The student an identifier in `domain` belongs to; an email address is also looked
    /// up among students' emails.
    pub fn resolve(&self, domain: &str, identifier: &str) -> Option<u32> {
        let identifier = identifier.trim().to_lowercase();
        if identifier.is_empty() {
            return None;
        }
        self.by_key.get(&(domain.to_string(), identifier.clone())).copied().or_else(|| {
            identifier.contains('@').then(|| self.by_key.get(&("email".to_string(), identifier)).copied()).flatten()
        })
    }

    /// The student id of an index `resolve` returned.
    pub fn student_id(&self, index: u32) -> &str {
        &self.ids[index as usize]
    }
}

fn text_column(batch: &RecordBatch, i: usize) -> Result<StringArray> {
    let column = arrow::compute::cast(batch.column(i), &arrow::datatypes::DataType::Utf8)?;
    column
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| Error::Internal("a query returned a non-text column".into()))
}

/// A timetabled session, for matching online meetings and attendance statements.
#[derive(Debug, Clone)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Module code.
    pub module: String,
    /// Start (UTC microseconds).
    pub starts_at: i64,
    /// End (UTC microseconds).
    pub ends_at: i64,
    /// Delivery (`online`, `in-person`, ...).
    pub delivery: String,
    /// The room attendance is recorded in (`online:SESSION` when the session has none).
    pub room: String,
}

/// Receives one file's rows as events; see the module documentation.
pub struct Sink<'a> {
    warehouse: &'a Warehouse,
    ctx: &'a SessionContext,
    /// The warehouse's time zone, for local times in exports.
    pub tz: Tz,
    /// Format settings (`[formats]`).
    pub settings: &'a FormatsConfig,
    identities: &'a Identities,
    sessions: &'a [Session],
    ingested_at: i64,
    writer: RecordBatchWriter,
    adds: Vec<Add>,
    pending: HashMap<Key, Tally>,
    late: HashMap<Key, Tally>,
    flushed: Option<(i64, i64)>,
    last_at: i64,
    chunk_keys: usize,
    attendance: Vec<(u32, String, i64)>,
    /// The file's report, filled as rows arrive.
    pub report: AdapterFileReport,
    /// Raw fields of rejected rows, for the rejects file.
    pub header: Vec<String>,
}

impl<'a> Sink<'a> {
    /// A data row was read.
    pub fn read_row(&mut self) {
        self.report.rows_read += 1;
    }

    /// A row is deliberately left out.
    pub fn drop_row(&mut self, reason: &'static str) {
        *self.report.dropped.entry(reason).or_default() += 1;
    }

    /// A row is malformed: named by line and field, never by value.
    pub fn reject(&mut self, line: u64, column: &str, reason: impl Into<String>, record: Vec<String>) {
        self.report.problems.push(Reject {
            line,
            column: column.to_string(),
            reason: reason.into(),
            record: Some(record),
        });
    }

    /// Maps a user to a student, counting it as unmapped in `domain` when nobody matches.
    pub fn student(&mut self, domain: &str, identifier: &str) -> Option<u32> {
        self.student_any(&[(domain, identifier)])
    }

    /// Maps a user by the first (domain, identifier) that matches; when none does, counts
    /// it as unmapped in the first domain.
    pub fn student_any(&mut self, tries: &[(&str, &str)]) -> Option<u32> {
        let found = tries.iter().find_map(|(domain, identifier)| self.identities.resolve(domain, identifier));
        if found.is_none()
            && let Some((domain, _)) = tries.first()
        {
            *self.report.unmapped.entry(domain.to_string()).or_default() += 1;
        }
        found
    }

    /// The timetable, for matching meetings and attendance.
    pub fn sessions(&self) -> &[Session] {
        self.sessions
    }

    /// One event of a student at a UTC instant (microseconds; stored to the second).
    pub fn activity(
        &mut self,
        student: u32,
        at_us: i64,
        source: &str,
        count: i64,
        duration_s: Option<i64>,
    ) -> Result<()> {
        let source = SOURCES.iter().position(|s| *s == source).expect("a known source") as u8;
        let at = at_us.div_euclid(1_000_000) * 1_000_000;
        self.report.kept += 1;
        let late = self.flushed.is_some_and(|(lo, hi)| at >= lo && at <= hi);
        let map = if late { &mut self.late } else { &mut self.pending };
        let entry = map.entry((at, student, source)).or_insert((0, None));
        entry.0 += count;
        if let Some(d) = duration_s {
            entry.1 = Some(entry.1.unwrap_or(0) + d);
        }
        if !late {
            self.last_at = at;
        }
        if self.pending.len() >= self.chunk_keys {
            self.write_chunk(false)?;
        }
        if self.late.len() >= self.chunk_keys {
            self.write_late()?;
        }
        Ok(())
    }

    /// A student attended a timetabled session (recorded as a swipe in its room at `at_us`).
    /// An instant outside the session is moved to its nearer end: the statement or report
    /// names the session, so the attendance belongs to it.
    pub fn attended(&mut self, student: u32, session: usize, at_us: i64) {
        self.report.kept += 1;
        let s = &self.sessions[session];
        let at_us = at_us.clamp(s.starts_at, s.ends_at);
        let room = s.room.clone();
        self.attendance.push((student, room, at_us));
    }

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Handle::current().block_on(future)
    }

    /// Writes the pending keys: all of them at the end; otherwise those behind the latest
    /// row in the file's time order (either direction), which later rows of an ordered
    /// export cannot add to. Pending keys left inside the time range already written go
    /// the late way, so a key is never written twice.
    fn write_chunk(&mut self, all: bool) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let last = self.last_at;
        let (min, max) = self.pending.keys().fold((i64::MAX, i64::MIN), |(lo, hi), k| (lo.min(k.0), hi.max(k.0)));
        let ascending = last.saturating_sub(min) >= max.saturating_sub(last);
        let behind = |at: i64| if ascending { at < last } else { at > last };
        let keys: Vec<_> = if all || !self.pending.keys().any(|k| behind(k.0)) {
            self.pending.drain().collect()
        } else {
            let (out, keep): (Vec<_>, Vec<_>) = self.pending.drain().partition(|(k, _)| behind(k.0));
            self.pending = keep.into_iter().collect();
            out
        };
        if keys.is_empty() {
            return Ok(());
        }
        let (lo, hi) = keys.iter().fold((i64::MAX, i64::MIN), |(lo, hi), (k, _)| (lo.min(k.0), hi.max(k.0)));
        let (lo, hi) = match self.flushed {
            Some((a, b)) => (a.min(lo), b.max(hi)),
            None => (lo, hi),
        };
        self.flushed = Some((lo, hi));
        Self::block_on(self.write_keys(keys, false))?;
        let inside: Vec<Key> = self.pending.keys().filter(|k| k.0 >= lo && k.0 <= hi).copied().collect();
        for key in inside {
            if let Some(tally) = self.pending.remove(&key) {
                let entry = self.late.entry(key).or_insert((0, None));
                entry.0 += tally.0;
                if let Some(d) = tally.1 {
                    entry.1 = Some(entry.1.unwrap_or(0) + d);
                }
            }
        }
        Ok(())
    }

    /// Writes out-of-order events, which may meet keys this file has already written.
    fn write_late(&mut self) -> Result<()> {
        let keys: Vec<_> = self.late.drain().collect();
        if keys.is_empty() {
            return Ok(());
        }
        Self::block_on(self.write_keys(keys, true))
    }

    async fn write_keys(&mut self, keys: Vec<(Key, Tally)>, late: bool) -> Result<()> {
        let batch = self.activity_batch(keys)?;
        let staged = batch.num_rows() as u64;
        session::register_batches(self.ctx, "staged", batch.schema(), vec![batch.clone()])?;
        let params = super::staged_bounds(&batch);
        let rows = if late && !self.adds.is_empty() {
            let paths: Vec<String> = self
                .adds
                .iter()
                .map(|a| self.warehouse.table_dir(tables::ACTIVITY.name).join(&a.path).to_string_lossy().into_owned())
                .collect();
            let written = self
                .ctx
                .read_parquet(paths, Default::default())
                .await
                .map_err(|e| Error::query("ingest/new_activity_late", e))?;
            self.ctx.deregister_table("written").map_err(|e| Error::query("written", e))?;
            self.ctx.register_table("written", written.into_view()).map_err(|e| Error::query("written", e))?;
            queries::collect(self.ctx, "ingest/new_activity_late", &params).await?
        } else {
            queries::collect(self.ctx, "ingest/new_activity", &params).await?
        };
        let added: u64 = rows.iter().map(|b| b.num_rows() as u64).sum();
        self.report.activity_added += added;
        self.report.activity_held += staged - added;
        for batch in rows {
            if batch.num_rows() > 0 {
                self.writer.write(batch).await.map_err(|e| Error::table(tables::ACTIVITY.name, e))?;
            }
        }
        let adds = self.writer.flush().await.map_err(|e| Error::table(tables::ACTIVITY.name, e))?;
        self.adds.extend(adds);
        Ok(())
    }

    fn activity_batch(&self, keys: Vec<(Key, Tally)>) -> Result<RecordBatch> {
        let schema: SchemaRef = tables::ACTIVITY.schema();
        let mut ids = StringBuilder::new();
        let mut at = Vec::with_capacity(keys.len());
        let mut days = Vec::with_capacity(keys.len());
        let mut sources = StringBuilder::new();
        let mut counts = Vec::with_capacity(keys.len());
        let mut durations = Vec::with_capacity(keys.len());
        let mut clock = LocalClock::new(self.tz);
        for ((t, student, source), (count, duration)) in keys {
            ids.append_value(self.identities.student_id(student));
            at.push(t);
            days.push(clock.local_day(t));
            sources.append_value(SOURCES[source as usize]);
            counts.push(count);
            durations.push(duration);
        }
        let n = at.len();
        let ingested: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(vec![self.ingested_at; n]).with_timezone("UTC"));
        let by_name: HashMap<&str, ArrayRef> = HashMap::from([
            ("student_id", Arc::new(ids.finish()) as ArrayRef),
            ("occurred_at", Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC"))),
            ("day", Arc::new(Date32Array::from(days))),
            ("source", Arc::new(sources.finish())),
            ("count", Arc::new(Int64Array::from(counts))),
            ("duration_s", Arc::new(Int64Array::from(durations))),
        ]);
        // In the table's column order; `ingested_at` is the only other column.
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| by_name.get(f.name().as_str()).cloned().unwrap_or_else(|| ingested.clone()))
            .collect();
        Ok(RecordBatch::try_new(schema, columns)?)
    }

    /// Writes what is left, then commits the file's activity in one commit and its
    /// attendance through the swipes path.
    async fn finish(&mut self, table: &mut deltalake::DeltaTable, operation: &str) -> Result<()> {
        tokio::task::block_in_place(|| {
            self.write_chunk(true)?;
            self.write_late()
        })?;
        if !self.adds.is_empty() {
            let metadata: HashMap<String, serde_json::Value> =
                HashMap::from([("rollcall.operation".to_string(), operation.into())]);
            let actions: Vec<Action> = self.adds.drain(..).map(Action::Add).collect();
            let snapshot = table.snapshot().map_err(|e| Error::table(tables::ACTIVITY.name, e))?;
            let op = DeltaOperation::Write { mode: SaveMode::Append, partition_by: None, predicate: None };
            CommitBuilder::from(CommitProperties::default().with_metadata(metadata))
                .with_actions(actions)
                .build(Some(snapshot), table.log_store(), op)
                .await
                .map_err(|e| Error::table(tables::ACTIVITY.name, e))?;
            table.update_state().await.map_err(|e| Error::table(tables::ACTIVITY.name, e))?;
            session::register_loaded(self.ctx, &tables::ACTIVITY, table).await?;
        }
        if !self.attendance.is_empty() {
            let batch = super::parse::staged_from(&kinds::SWIPES, self.swipes_batch()?)?;
            self.report.attendance_added += super::commit_rows(self.warehouse, self.ctx, &kinds::SWIPES, batch).await?;
        }
        Ok(())
    }

    fn swipes_batch(&mut self) -> Result<RecordBatch> {
        let mut rows = std::mem::take(&mut self.attendance);
        // One attendance per student, room and instant.
        rows.sort_unstable();
        rows.dedup();
        let n = rows.len();
        let schema = tables::SWIPES.schema();
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                match f.name().as_str() {
                    "student_id" => Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| self.identities.student_id(r.0).to_string()),
                    )),
                    "room" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1.clone()))),
                    "swiped_at" => Arc::new(
                        TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.2)).with_timezone("UTC"),
                    ),
                    "day" => {
                        let mut clock = LocalClock::new(self.tz);
                        Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| clock.local_day(r.2))))
                    }
                    "reader_id" => Arc::new(StringArray::from(vec![Some("online"); n])),
                    _ => Arc::new(TimestampMicrosecondArray::from(vec![self.ingested_at; n]).with_timezone("UTC")),
                }
            })
            .collect();
        Ok(RecordBatch::try_new(schema, columns)?)
    }

    /// Removes the files written for a refused file (they were never committed).
    fn discard(&mut self) {
        for add in self.adds.drain(..) {
            let _ = std::fs::remove_file(self.warehouse.table_dir(tables::ACTIVITY.name).join(&add.path));
        }
        self.pending.clear();
        self.late.clear();
        self.attendance.clear();
    }
}

/// Ingests exported files of `format`.
pub async fn ingest(
    warehouse: &Warehouse,
    format: &Format,
    files: &[PathBuf],
    options: &IngestOptions,
) -> Result<AdapterReport> {
    let started = Instant::now();
    let _lock = warehouse.lock()?;
    warehouse.create_missing_tables().await?;
    let ctx = session::build(warehouse, Access::Internal { with_equality: false }).await?;
    let tz = warehouse.config().tz().map_err(Error::Usage)?;
    let identities = Identities::load(&ctx).await?;
    let sessions = load_sessions(&ctx).await?;
    let mut reports = Vec::new();
    // The activity table stays open across the run (brought up to date after each commit),
    // and the run's ingest-log rows are written once at the end: a file's activity is
    // committed before its log row, so a run stopped in between leaves files whose rows
    // are all held, which the next run finds and adds nothing for.
    let mut table = warehouse.table(&tables::ACTIVITY).await?;
    let mut logs = Vec::new();
    // Every file ingested before as this format, read once; this run's files join it.
    let mut seen = std::collections::HashSet::new();
    for batch in queries::collect(&ctx, "ingest/files_seen", &[("kind", ScalarValue::from(format.name))]).await? {
        let hashes = text_column(&batch, 0)?;
        seen.extend(hashes.iter().flatten().map(String::from));
    }
    for path in files {
        let sha256 = super::file_sha256(path)?;
        if !seen.insert(sha256.clone()) {
            reports.push(AdapterFileReport { path: path.clone(), already_ingested: true, ..Default::default() });
            continue;
        }
        let writer = RecordBatchWriter::for_table(&table).map_err(|e| Error::table(tables::ACTIVITY.name, e))?;
        let mut sink = Sink {
            warehouse,
            ctx: &ctx,
            tz,
            settings: &warehouse.config().formats,
            identities: &identities,
            sessions: &sessions,
            ingested_at: chrono::Utc::now().timestamp_micros(),
            writer,
            adds: Vec::new(),
            pending: HashMap::new(),
            late: HashMap::new(),
            flushed: None,
            last_at: i64::MIN,
            chunk_keys: chunk_keys(),
            attendance: Vec::new(),
            report: AdapterFileReport { path: path.clone(), ..Default::default() },
            header: Vec::new(),
        };
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
            chrono::Utc::now().timestamp_micros(),
        )?;
        logs.push(log);
        reports.push(report);
    }
    if !logs.is_empty() {
        warehouse.append(&tables::INGEST_LOG, logs, "ingest log").await?;
    }
    let attendance = if reports.iter().any(|r| r.attendance_added > 0) || attendance::is_stale(warehouse).await? {
        Some(attendance::refresh(warehouse, &ctx, None).await?)
    } else {
        None
    };
    Ok(AdapterReport { format: format.name, files: reports, attendance, elapsed: started.elapsed() })
}

/// The timetable, for matching meetings and attendance statements to sessions.
pub async fn load_sessions(ctx: &SessionContext) -> Result<Vec<Session>> {
    let mut out = Vec::new();
    for batch in queries::collect(ctx, "ingest/adapter_sessions", &[]).await? {
        let id = text_column(&batch, 0)?;
        let module = text_column(&batch, 1)?;
        let starts = micros_column(&batch, 2)?;
        let ends = micros_column(&batch, 3)?;
        let delivery = text_column(&batch, 4)?;
        let room = text_column(&batch, 5)?;
        for row in 0..batch.num_rows() {
            out.push(Session {
                id: id.value(row).to_string(),
                module: module.value(row).to_string(),
                starts_at: starts.value(row),
                ends_at: ends.value(row),
                delivery: if delivery.is_null(row) { String::new() } else { delivery.value(row).to_lowercase() },
                room: room.value(row).to_string(),
            });
        }
    }
    Ok(out)
}

fn micros_column(batch: &RecordBatch, i: usize) -> Result<&TimestampMicrosecondArray> {
    batch
        .column(i)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .ok_or_else(|| Error::Internal("session query returned a non-timestamp column".into()))
}

/// A CSV reader over a decoded export.
pub type CsvReader = csv::Reader<Box<dyn std::io::BufRead + Send>>;

/// Opens an exported CSV file (any byte-order mark skipped) and reads its header, trimmed;
/// the header is kept on the sink for the rejects file.
pub fn open_csv(path: &Path, sink: &mut Sink) -> Result<(CsvReader, Vec<String>)> {
    let (reader, _) = text::open(path)?;
    let mut csv = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(reader);
    let header: Vec<String> = csv
        .headers()
        .map_err(|e| Error::Rejected { summary: format!("{}:1: the header cannot be read: {e}", path.display()) })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    sink.header = header.clone();
    Ok((csv, header))
}

/// Reads records, handing each well-shaped one to `row`; a record with the wrong number of
/// fields (a trailing empty field is allowed) or invalid text is rejected by line.
pub fn each_record(
    path: &Path,
    csv: &mut CsvReader,
    width: usize,
    sink: &mut Sink,
    mut row: impl FnMut(&csv::StringRecord, u64, &mut Sink) -> Result<()>,
) -> Result<()> {
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                line = record.position().map(|p| p.line()).unwrap_or(line + 1);
                sink.read_row();
                let trailing_empty =
                    record.len() == width + 1 && record.get(width).is_some_and(|f| f.trim().is_empty());
                if record.len() != width && !trailing_empty {
                    let reason = format!("has {} fields, the header has {width}", record.len());
                    sink.reject(line, "", reason, record.iter().map(String::from).collect());
                    continue;
                }
                row(&record, line, sink)?;
            }
            Err(e) => {
                let at = e.position().map(|p| p.line()).unwrap_or(line + 1);
                match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        sink.read_row();
                        sink.reject(at, "", "is not valid UTF-8 text", Vec::new());
                        line = at;
                    }
                    csv::ErrorKind::Io(_) => {
                        return Err(Error::io(path, std::io::Error::other(e.to_string())));
                    }
                    _ => {
                        sink.read_row();
                        sink.reject(at, "", format!("cannot be read as CSV: {e}"), Vec::new());
                        line = at;
                    }
                }
            }
        }
    }
}

/// The value of a field by header name, trimmed, with database NULL spellings as empty.
pub fn field(record: &csv::StringRecord, index: Option<usize>) -> &str {
    match index.and_then(|i| record.get(i)).map(str::trim) {
        Some("NULL") | Some("\\N") | None => "",
        Some(v) => v,
    }
}

/// Finds each wanted column in a header, case-insensitively and ignoring spaces and
/// underscores (`a|b` accepts either name); returns the missing required ones as an error naming the file.
pub fn locate(
    path: &Path,
    header: &[String],
    wanted: &[(&'static str, bool)],
) -> Result<HashMap<&'static str, Option<usize>>> {
    let norm = |s: &str| s.chars().filter(|c| !matches!(c, ' ' | '_' | '-')).collect::<String>().to_lowercase();
    let normalised: Vec<String> = header.iter().map(|h| norm(h)).collect();
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for (name, required) in wanted {
        let pos = name.split('|').find_map(|alt| normalised.iter().position(|h| *h == norm(alt)));
        if pos.is_none() && *required {
            missing.push(name.split('|').next().unwrap_or(name));
        }
        out.insert(*name, pos);
    }
    if !missing.is_empty() {
        return Err(Error::Rejected {
            summary: format!("{}:1: missing column(s) {}", path.display(), missing.join(", ")),
        });
    }
    Ok(out)
}
