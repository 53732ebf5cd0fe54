//! The sink an event adapter hands rows to: see the module documentation of `adapters`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use chrono_tz::Tz;
use datafusion::prelude::SessionContext;

use crate::config::FormatsConfig;
use crate::domain::time::LocalClock;
use crate::engine::session::{self};
use crate::error::{Error, Result};
use crate::ingest::kinds::{self, SOURCES};
use crate::ingest::parse::Reject;
use crate::queries;
use crate::warehouse::{DeltaTable, StagedFiles, Warehouse, row, tables};

use super::{AdapterFileReport, Identities, Session};

/// An activity key: instant (UTC microseconds, whole seconds), student index, source index.
type Key = (i64, u32, u8);
/// Events at a key and their summed duration.
type Tally = (i64, Option<i64>);

/// Distinct activity keys held before a chunk is written out (about 100 MiB); the
/// environment variable `ROLLCALL_CHUNK_KEYS` changes it (smaller uses less memory and
/// writes more, smaller files).
fn chunk_keys() -> usize {
    crate::config::env::positive(crate::config::env::CHUNK_KEYS, 1 << 20) as usize
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
    files: StagedFiles,
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
    /// A sink for one file, writing activity through `writer`.
    pub fn new(
        warehouse: &'a Warehouse,
        ctx: &'a SessionContext,
        tz: Tz,
        identities: &'a Identities,
        sessions: &'a [Session],
        files: StagedFiles,
        path: &Path,
    ) -> Sink<'a> {
        Sink {
            warehouse,
            ctx,
            tz,
            settings: &warehouse.config().formats,
            identities,
            sessions,
            ingested_at: crate::ingest::ingest_stamp(),
            files,
            pending: HashMap::new(),
            late: HashMap::new(),
            flushed: None,
            last_at: i64::MIN,
            chunk_keys: chunk_keys(),
            attendance: Vec::new(),
            report: AdapterFileReport { path: path.to_path_buf(), ..Default::default() },
            header: Vec::new(),
        }
    }

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
        let params = crate::ingest::staged_bounds(&batch);
        let rows = if late && !self.files.is_empty() {
            let paths = self.files.paths();
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
        self.files.write(rows).await
    }

    fn activity_batch(&self, keys: Vec<(Key, Tally)>) -> Result<RecordBatch> {
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
        row::columns(
            &tables::ACTIVITY,
            vec![
                ("student_id", Arc::new(ids.finish())),
                ("occurred_at", Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC"))),
                ("day", Arc::new(Date32Array::from(days))),
                ("source", Arc::new(sources.finish())),
                ("count", Arc::new(Int64Array::from(counts))),
                ("duration_s", Arc::new(Int64Array::from(durations))),
                ("ingested_at", ingested),
            ],
        )
    }

    /// Writes what is left, then commits the file's activity in one commit and its
    /// attendance through the swipes path.
    pub(super) async fn finish(&mut self, table: &mut DeltaTable, operation: &str) -> Result<()> {
        tokio::task::block_in_place(|| {
            self.write_chunk(true)?;
            self.write_late()
        })?;
        if self.files.commit(table, operation).await? {
            session::register_loaded(self.ctx, &tables::ACTIVITY, table).await?;
        }
        if !self.attendance.is_empty() {
            let batch = crate::ingest::order::staged_from(&kinds::SWIPES, self.swipes_batch()?)?;
            self.report.attendance_added +=
                crate::ingest::commit_rows(self.warehouse, self.ctx, &kinds::SWIPES, batch).await?;
        }
        Ok(())
    }

    fn swipes_batch(&mut self) -> Result<RecordBatch> {
        let mut rows = std::mem::take(&mut self.attendance);
        // One attendance per student, room and instant.
        rows.sort_unstable();
        rows.dedup();
        let n = rows.len();
        let mut clock = LocalClock::new(self.tz);
        row::columns(
            &tables::SWIPES,
            vec![
                (
                    "student_id",
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| self.identities.student_id(r.0).to_string()),
                    )),
                ),
                ("room", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1.clone())))),
                (
                    "swiped_at",
                    Arc::new(
                        TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.2)).with_timezone("UTC"),
                    ),
                ),
                ("day", Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| clock.local_day(r.2))))),
                ("reader_id", Arc::new(StringArray::from(vec![Some("online"); n]))),
                (
                    "ingested_at",
                    Arc::new(TimestampMicrosecondArray::from(vec![self.ingested_at; n]).with_timezone("UTC")),
                ),
            ],
        )
    }

    /// Removes the files written for a refused file (they were never committed).
    pub(super) fn discard(&mut self) {
        self.files.discard();
        self.pending.clear();
        self.late.clear();
        self.attendance.clear();
    }
}
