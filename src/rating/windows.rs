//! The rating's window sums over dense arrays, for runs of any number of days.
//!
//! Each student's daily signals (activity events by source from the daily activity rollup,
//! `rating/activity_signal_rows`, or from the array a full run has just counted it in;
//! sessions expected and attended from the daily attendance rollup,
//! `rating/attendance_signal_rows`) are laid out day by day in one array, then each day's
//! cells made the running totals of the student's days so far, so a day's sums over its
//! trailing window are its totals less those of the day before the window: no grouping by
//! student id, no sort, no join back to the students and days. The students
//! and days to rate (`rating/grid`) then stream through, partition by partition, each row
//! gaining its sums: the view `windowed` that `rating/scores` reads. The sums are
//! `rating/windowed_running`'s (a test compares them); that query stays the path when the
//! array would not fit (past [`BUDGET_BYTES`] or the session's memory limit, or a day's
//! count past a cell's range), with `rating/windowed_join` for a few days.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;

use crate::derive::activity_days::ActivityDays;
use crate::derive::attendance_days::AttendanceDays;
use crate::domain::signal::Signal;
use crate::engine::dense::{StudentCells, TILE};
use crate::engine::strings::{column_ref as column, compact_text, int64_ref as int64, string_views, with_strings};
use crate::error::{Error, Result};
use crate::queries;

/// The sums each rated day gets, in `windowed`'s column order: the seven signals
/// (`Signal::ALL`), then sessions expected and attended.
const SLOTS: usize = 9;
/// The signals' slots come first, in `Signal::ALL`'s order.
const SIGNALS: usize = Signal::ALL.len();
const EXPECTED: usize = 7;
const ATTENDED: usize = 8;
const COLUMNS: [&str; SLOTS] = [
    Signal::Vle.column(),
    Signal::LectureCapture.column(),
    Signal::Library.column(),
    Signal::PcLogin.column(),
    Signal::OnlineMeeting.column(),
    Signal::Submission.column(),
    Signal::RecordsLogin.column(),
    "expected",
    "attended",
];

/// The most memory the day-by-day array may take: 1 GiB holds a 300-day range for about
/// 99,000 students (4 bytes a signal a day). Wider ranges take the SQL path.
pub const BUDGET_BYTES: usize = 1 << 30;

/// The name `rating/scores` reads the rows to rate, with their sums, under.
pub const VIEW: &str = "windowed";

/// Each student's signals, day by day, over the days rated windows reach.
#[derive(Debug)]
pub struct DailySignals {
    /// The first day held, as a day number.
    from: i64,
    /// Days held from `from`.
    days: usize,
    /// Days in a window.
    window: usize,
    /// Each student's days of `SLOTS` cells: one day's count of each signal while the rows
    /// are read, then the totals from the first day held to that day.
    cells: StudentCells,
}

impl DailySignals {
    /// Reads the rollups' rows for the days `from..=hi` (day numbers) into the array, the
    /// activity from `activity` and the attendance from `attendance` when given (the whole
    /// of `daily_activity` and of `daily_attendance`, counted by this run), else from the
    /// tables; `None` if it would take more than `budget` bytes or the
    /// session's memory pool has not the room.
    pub async fn read(
        ctx: &SessionContext,
        params: &[(&str, ScalarValue)],
        (from, hi): (i64, i64),
        window: usize,
        budget: usize,
        activity: Option<&ActivityDays>,
        attendance: Option<&AttendanceDays>,
    ) -> Result<Option<DailySignals>> {
        let days =
            usize::try_from(hi - from + 1).map_err(|_| Error::Internal("rating: an empty range of days".into()))?;
        let cells = StudentCells::new(ctx, "rating window sums", days, SLOTS, budget);
        let mut signals = DailySignals { from, days, window, cells };
        let taken = match activity {
            Some(activity) => signals.add_counted(activity),
            None => queries::each_batch(ctx, "rating/activity_signal_rows", params, |b| signals.add(b)).await?,
        };
        if !taken {
            return Ok(None);
        }
        let taken = match attendance {
            Some(attendance) => signals.add_attendance(attendance),
            None => queries::each_batch(ctx, "rating/attendance_signal_rows", params, |b| signals.add(b)).await?,
        };
        Ok((taken && signals.total()).then_some(signals))
    }

    /// Makes each day's cells the totals of the student's days up to it; false when a
    /// total does not fit a cell (the sums are then the SQL path's).
    fn total(&mut self) -> bool {
        let day = TILE * SLOTS;
        let mut overflow = false;
        for tile in self.cells.tiles_mut() {
            for at in (day..tile.len()).step_by(day) {
                let (before, from) = tile.split_at_mut(at);
                for (cell, &earlier) in from[..day].iter_mut().zip(&before[at - day..]) {
                    let total = cell.wrapping_add(earlier);
                    overflow |= total < earlier;
                    *cell = total;
                }
            }
        }
        !overflow
    }

    /// The days both `self` and an array starting on day `first` with `days` days hold:
    /// (the array's first such day, ours, how many), counted from each's first.
    fn overlap(&self, first: i32, days: usize) -> (usize, usize, usize) {
        let skip = self.from - i64::from(first);
        let (theirs, ours) = if skip >= 0 { (skip as usize, 0) } else { (0, (-skip) as usize) };
        (theirs, ours, days.saturating_sub(theirs).min(self.days.saturating_sub(ours)))
    }

    /// Adds the sessions `attendance` counted on the days held; false when the array would not fit.
    fn add_attendance(&mut self, attendance: &AttendanceDays) -> bool {
        let (first, days) = attendance.range();
        let (theirs, ours, overlap) = self.overlap(first, days);
        for (id, counted) in attendance.students() {
            let Some(place) = self.cells.place_of(id) else { return false };
            for day in 0..overlap {
                if let Some((expected, attended)) = attendance.on(counted, theirs + day) {
                    let cells = self.cells.day_mut(place, ours + day);
                    cells[EXPECTED] = expected;
                    cells[ATTENDED] = attended;
                }
            }
        }
        true
    }

    /// Adds the events `activity` counted on the days held; false when the array would not fit.
    fn add_counted(&mut self, activity: &ActivityDays) -> bool {
        let (first, days) = activity.range();
        let (theirs, ours, overlap) = self.overlap(first, days);
        for (id, counted) in activity.students() {
            let Some(place) = self.cells.place_of(id) else { return false };
            for day in 0..overlap {
                let from = activity.on(counted, theirs + day);
                for (cell, &count) in self.cells.day_mut(place, ours + day)[..SIGNALS].iter_mut().zip(from) {
                    *cell = ActivityDays::events(count);
                }
            }
        }
        true
    }

    /// Adds a batch of `rating/activity_signal_rows` or `rating/attendance_signal_rows`
    /// (student_id, n, source, events, expected, attended); false when the array would not fit.
    fn add(&mut self, batch: &RecordBatch) -> datafusion::error::Result<bool> {
        let n = int64(batch, "n")?;
        let events = int64(batch, "events")?;
        let expected = int64(batch, "expected")?;
        let attended = int64(batch, "attended")?;
        let source = column(batch, "source")?;
        let slots: Vec<Option<usize>> = with_strings(source, |s| {
            (0..s.len()).map(|i| if s.is_null(i) { None } else { slot(s.value(i)) }).collect()
        })?;
        let Some(places) = self.cells.places(column(batch, "student_id")?)? else { return Ok(false) };
        for (i, (&place, &slot)) in places.iter().zip(&slots).enumerate() {
            let day = n.value(i) - self.from;
            if n.is_null(i) || day < 0 || day >= self.days as i64 {
                return Err(DataFusionError::Internal("rating: a signal row outside the days read".into()));
            }
            let cells = self.cells.day_mut(place, day as usize);
            // A count that does not fit a cell leaves the sums to the SQL path.
            let mut put = |slot: usize, value: &Int64Array| -> bool {
                if value.is_null(i) || value.value(i) == 0 {
                    return true;
                }
                match u32::try_from(value.value(i)).ok().and_then(|v| cells[slot].checked_add(v)) {
                    Some(sum) => {
                        cells[slot] = sum;
                        true
                    }
                    None => false,
                }
            };
            let fits = slot.is_none_or(|slot| put(slot, events)) && put(EXPECTED, expected) && put(ATTENDED, attended);
            if !fits {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The sums over the window ending on day number `n` of the student at `place`: the
    /// totals to its last day held less those to the day before its first.
    fn sums(&self, place: Option<u32>, n: i64) -> [i64; SLOTS] {
        let mut sums = [0i64; SLOTS];
        let Some(place) = place else { return sums };
        let last = n - self.from;
        let first = (last - self.window as i64 + 1).max(0);
        if last < 0 || first >= self.days as i64 {
            return sums;
        }
        let last = (last as usize).min(self.days - 1);
        for (sum, &total) in sums.iter_mut().zip(self.cells.day(place, last)) {
            *sum = i64::from(total);
        }
        if first > 0 {
            for (sum, &before) in sums.iter_mut().zip(self.cells.day(place, first as usize - 1)) {
                *sum -= i64::from(before);
            }
        }
        sums
    }

    /// The rows of `grid` (a batch of `rating/grid`) with their sums: `windowed`'s columns.
    fn extend(&self, grid: &RecordBatch, schema: &SchemaRef) -> datafusion::error::Result<RecordBatch> {
        let n = int64(grid, "n")?;
        let mut sums: Vec<Vec<i64>> = (0..SLOTS).map(|_| Vec::with_capacity(grid.num_rows())).collect();
        let ids = string_views(column(grid, "student_id")?)?;
        let (ids, students) = (ids.as_string_view(), self.cells.students());
        // The grid gives a day's students in the order they were read, mostly the order of
        // their places: each row tries the place after the last one found first.
        let (mut last, mut guess): (Option<(u128, Option<u32>)>, u32) = (None, 0);
        for (i, &view) in ids.views().iter().enumerate() {
            let place = match last {
                Some((previous, place)) if previous == view => place,
                _ => students.get_view_from(ids, i, guess),
            };
            if let Some(place) = place {
                guess = place + 1;
            }
            last = Some((view, place));
            for (column, sum) in sums.iter_mut().zip(self.sums(place, n.value(i))) {
                column.push(sum);
            }
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields().iter().take(schema.fields().len() - SLOTS) {
            columns.push(column(grid, field.name())?.clone());
        }
        columns.extend(sums.into_iter().map(|s| Arc::new(Int64Array::from(s)) as ArrayRef));
        // The grid's text comes from whole tables read; each row keeps only its own, which
        // is what the cohort ranks hold until the ratings are written.
        compact_text(&RecordBatch::try_new(schema.clone(), columns)?)
    }
}

/// The query of the students and days to rate.
const GRID: &str = "rating/grid";

/// The physical plan of `rating/grid` with `params`, for [`register`]. It reads none of the
/// rollups, so it can be made while their rows are read.
///
/// Its batches are dealt round the session's partitions as they come: the students the
/// grid crosses with the days come from a join that gives them all as one batch, so the
/// whole grid came out of one partition and its sums, scores and text were made on one
/// thread (2 of `rate --all-days`' 5 seconds at year scale, the other core idle).
pub async fn plan_grid(ctx: &SessionContext, params: &[(&str, ScalarValue)]) -> Result<Arc<dyn ExecutionPlan>> {
    let grid = queries::plan(ctx, GRID, params).await?;
    let grid = grid.create_physical_plan().await.map_err(|e| Error::query(GRID, e))?;
    let partitions = ctx.copied_config().target_partitions();
    let dealt = RepartitionExec::try_new(grid, Partitioning::RoundRobinBatch(partitions));
    Ok(Arc::new(dealt.map_err(|e| Error::query(GRID, e))?))
}

/// Registers `windowed` in `ctx`: the rows of `grid` (`rating/grid`'s plan, from
/// [`plan_grid`]) with the sums `signals` holds, computed as each partition of the grid is read.
pub async fn register(ctx: &SessionContext, grid: Arc<dyn ExecutionPlan>, signals: DailySignals) -> Result<()> {
    let mut fields: Vec<Field> =
        grid.schema().fields().iter().filter(|f| f.name() != "n").map(|f| f.as_ref().clone()).collect();
    fields.extend(COLUMNS.iter().map(|name| Field::new(*name, DataType::Int64, false)));
    let schema = Arc::new(Schema::new(fields));
    let count = grid.properties().output_partitioning().partition_count();
    let held = Arc::new(Held { signals: Mutex::new(Some(Arc::new(signals))), unread: AtomicUsize::new(count) });
    let partitions = (0..count)
        .map(|partition| {
            Arc::new(GridPartition { grid: grid.clone(), partition, held: held.clone(), schema: schema.clone() })
                as Arc<dyn PartitionStream>
        })
        .collect();
    let table = StreamingTable::try_new(schema, partitions).map_err(|e| Error::query(GRID, e))?;
    ctx.deregister_table(VIEW).map_err(|e| Error::query(GRID, e))?;
    ctx.register_table(VIEW, Arc::new(table)).map_err(|e| Error::query(GRID, e))?;
    Ok(())
}

/// The array the grid's partitions read, let go once the last has started (each stream
/// holds it until it ends), so its memory is free before the ratings are sorted and written.
#[derive(Debug)]
struct Held {
    signals: Mutex<Option<Arc<DailySignals>>>,
    unread: AtomicUsize,
}

/// One partition of the grid, extended with its sums as it is read.
#[derive(Debug)]
struct GridPartition {
    grid: Arc<dyn ExecutionPlan>,
    partition: usize,
    held: Arc<Held>,
    schema: SchemaRef,
}

impl PartitionStream for GridPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, task: Arc<TaskContext>) -> SendableRecordBatchStream {
        let signals = self.held.signals.lock().ok().and_then(|mut held| {
            let signals = held.clone();
            if self.held.unread.fetch_sub(1, Ordering::SeqCst) == 1 {
                held.take();
            }
            signals
        });
        let schema = self.schema.clone();
        let rows = match (signals, self.grid.execute(self.partition, task)) {
            (Some(signals), Ok(rows)) => futures::stream::unfold((rows, signals), move |(mut rows, signals)| {
                let schema = schema.clone();
                async move {
                    let batch = rows.next().await?;
                    Some((batch.and_then(|b| signals.extend(&b, &schema)), (rows, signals)))
                }
            })
            .boxed(),
            (None, _) => futures::stream::once(async {
                Err(DataFusionError::Internal("rating: the window sums were already read".into()))
            })
            .boxed(),
            (_, Err(e)) => futures::stream::once(async move { Err(e) }).boxed(),
        };
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), rows))
    }
}

/// The slot of an activity source; `None` for a source the rating does not weigh.
fn slot(source: &str) -> Option<usize> {
    Signal::ALL.iter().position(|s| s.name() == source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cells::date;
    use arrow::array::{Date32Array, StringArray};
    use rand::{Rng, SeedableRng};

    const SOURCES: [&str; 8] =
        ["vle", "lecture-capture", "library", "pc-login", "online-meeting", "submission", "records-login", "printing"];

    fn texts(values: &[String]) -> ArrayRef {
        Arc::new(StringArray::from_iter_values(values))
    }

    /// Random rollups and a grid of students and days, registered as the tables and view
    /// the rating reads.
    fn tables(seed: u64) -> SessionContext {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        // Odd seeds hold their text as string views, as the tables are read.
        let texts = |values: &[String]| match seed % 2 {
            1 => Arc::new(arrow::array::StringViewArray::from_iter_values(values)) as ArrayRef,
            _ => texts(values),
        };
        let ctx = SessionContext::new();
        ctx.register_udwf(crate::engine::udf::trailing_sum::udwf());
        let (mut a_id, mut a_day, mut a_source, mut a_events) = (vec![], vec![], Vec::<String>::new(), vec![]);
        let (mut t_id, mut t_day, mut t_expected, mut t_attended, mut t_excused) =
            (vec![], vec![], vec![], vec![], vec![]);
        for student in 0..40 {
            let id = format!("S{student:03}");
            for day in 80..170 {
                for source in SOURCES {
                    if rng.random_bool(0.15) {
                        a_id.push(id.clone());
                        a_day.push(day);
                        a_source.push(source.to_string());
                        a_events.push(rng.random_range(1..30i64));
                    }
                }
                if rng.random_bool(0.3) {
                    let expected = rng.random_range(0..4i64);
                    t_id.push(id.clone());
                    t_day.push(day);
                    t_expected.push(expected);
                    t_attended.push(rng.random_range(0..=expected));
                    t_excused.push(0i64);
                }
            }
        }
        let activity = RecordBatch::try_from_iter([
            ("student_id", texts(&a_id)),
            ("day", Arc::new(Date32Array::from(a_day)) as ArrayRef),
            ("source", texts(&a_source)),
            ("events", Arc::new(Int64Array::from(a_events)) as ArrayRef),
        ])
        .unwrap();
        // The raw events a rollup counts in memory: the same rows, as `activity` holds them,
        // but for the source outside the signals (a rollup holding one is grouped in SQL).
        let names = ["student_id", "day", "source", "count"];
        let signals = arrow::array::BooleanArray::from_iter(a_source.iter().map(|s| Some(s != "printing")));
        let raw = RecordBatch::try_from_iter(names.into_iter().zip(activity.columns().iter().cloned()))
            .and_then(|raw| arrow::compute::filter_record_batch(&raw, &signals));
        let attendance = RecordBatch::try_from_iter([
            ("student_id", texts(&t_id)),
            ("day", Arc::new(Date32Array::from(t_day)) as ArrayRef),
            ("expected", Arc::new(Int64Array::from(t_expected)) as ArrayRef),
            ("attended", Arc::new(Int64Array::from(t_attended)) as ArrayRef),
            ("excused", Arc::new(Int64Array::from(t_excused)) as ArrayRef),
        ])
        .unwrap();
        // Students 35 to 44 are rated; 40 to 44 have no signals at all. Not every day is rated.
        let (mut g_id, mut g_day) = (vec![], vec![]);
        for student in 35..45 {
            for day in (120..165).filter(|d| d % 7 != 3) {
                g_id.push(format!("S{student:03}"));
                g_day.push(day);
            }
        }
        let rows = g_id.len();
        let same = |v: &str| texts(&vec![v.to_string(); rows]);
        let grid = RecordBatch::try_from_iter([
            ("student_id", texts(&g_id)),
            ("programme_code", same("P1")),
            ("stage", same("1")),
            ("department", same("D")),
            ("mode", same("full-time")),
            ("day", Arc::new(Date32Array::from(g_day.clone())) as ArrayRef),
            ("academic_year", same("2025-26")),
            ("term", same("autumn")),
            ("term_week", Arc::new(Int64Array::from(vec![1i64; rows])) as ArrayRef),
            ("n", Arc::new(Int64Array::from_iter_values(g_day.iter().map(|&d| i64::from(d)))) as ArrayRef),
            ("teaching_days", Arc::new(Int64Array::from(vec![10i64; rows])) as ArrayRef),
        ])
        .unwrap();
        let raw = raw.unwrap();
        for (name, batch) in
            [("activity", raw), ("daily_activity", activity), ("daily_attendance", attendance), ("rating_grid", grid)]
        {
            crate::engine::session::register_batches(&ctx, name, batch.schema(), vec![batch]).unwrap();
        }
        ctx
    }

    /// `windowed`'s rows, sorted, over the grid registered as `rating_grid` and `signals`.
    async fn windowed(ctx: &SessionContext, signals: DailySignals) -> Vec<String> {
        let grid = ctx.table("rating_grid").await.unwrap().create_physical_plan().await.unwrap();
        register(ctx, grid, signals).await.unwrap();
        sorted(ctx.sql("SELECT * FROM windowed").await.unwrap()).await
    }

    async fn sorted(df: datafusion::dataframe::DataFrame) -> Vec<String> {
        let batches = df.collect().await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        let mut lines: Vec<String> = text.lines().filter(|l| l.starts_with("| S")).map(String::from).collect();
        lines.sort();
        lines
    }

    /// The sums over dense arrays are the SQL's (`rating/windowed_running` over
    /// `rating/signals`) for every student and day rated, with a window reaching before
    /// the first day held, students without any signal and a source the rating does not
    /// weigh, the ids read as strings and as string views.
    #[tokio::test]
    async fn dense_window_sums_are_the_trailing_sums_of_the_sql() {
        for (seed, window) in [(1, 14i64), (2, 21), (3, 1)] {
            let ctx = tables(seed);
            let (lo, hi) = (120i32, 164i32);
            let params = vec![
                ("from", crate::engine::cells::date(lo - window as i32 + 1)),
                ("hi", crate::engine::cells::date(hi)),
                ("window", ScalarValue::Int64(Some(window))),
            ];
            let statement =
                queries::compose(&[("daily_signals", "rating/signals")], "rating/windowed_running").unwrap();
            let expected = sorted(queries::plan_text(&ctx, "sql", &statement, &params).await.unwrap()).await;
            let reach = (i64::from(lo) - window + 1, i64::from(hi));
            let signals = DailySignals::read(&ctx, &params, reach, window as usize, BUDGET_BYTES, None, None)
                .await
                .unwrap()
                .unwrap();
            let dense = windowed(&ctx, signals).await;
            assert_eq!(dense.len(), 10 * (120..165).filter(|d| d % 7 != 3).count(), "every row of the grid");
            assert_eq!(dense, expected, "seed {seed}, window {window}");
        }
    }

    /// The activity counted in memory by a full run gives the sums reading the stored
    /// rollup gives, whether the days it holds start before, at or after the first day a
    /// window reaches.
    #[tokio::test]
    async fn sums_from_the_counted_rollup_are_the_sums_from_the_table() {
        let ctx = tables(5);
        let (lo, hi) = (120i32, 164i32);
        // A 21-day window reaches back to day 100, a 50-day one to day 71, before any event.
        for window in [21i64, 50] {
            let reach = (i64::from(lo) - window + 1, i64::from(hi));
            let params = vec![
                ("from", crate::engine::cells::date(reach.0 as i32)),
                ("hi", crate::engine::cells::date(hi)),
                ("window", ScalarValue::Int64(Some(window))),
            ];
            let stored =
                DailySignals::read(&ctx, &params, reach, window as usize, BUDGET_BYTES, None, None).await.unwrap();
            let stored = windowed(&ctx, stored.unwrap()).await;
            assert!(stored.iter().any(|row| !row.contains("| 0  | 0  | 0")), "some rows have signals");
            // Every event lies in days 80 to 169.
            for counted_days in [(80, 169), (60, 200), (80, 175)] {
                let counted = ActivityDays::read(&ctx, counted_days, BUDGET_BYTES).await.unwrap().unwrap();
                let signals =
                    DailySignals::read(&ctx, &params, reach, window as usize, BUDGET_BYTES, Some(&counted), None);
                assert_eq!(windowed(&ctx, signals.await.unwrap().unwrap()).await, stored, "{window} {counted_days:?}");
            }
        }
    }

    /// The attendance counted in memory by a full run gives the sums reading the stored
    /// rollup gives, whether the days it holds start before, at or after the first day a
    /// window reaches.
    #[tokio::test]
    async fn sums_from_the_counted_attendance_are_the_sums_from_the_table() {
        let ctx = tables(6);
        // Sessions on days 95 to 129, of students S000 to S079, stored as the rollup of days
        // 95 to 130; a 30-day window reaches back to day 91, a 21-day one to day 100.
        crate::derive::attendance_days::tests::university_into(&ctx, 6);
        let excusing = ScalarValue::from("authorised");
        let params = [("lo", date(95)), ("hi", date(130)), ("excusing", excusing)];
        let rollup = queries::plan(&ctx, "derive/daily_attendance", &params).await.unwrap().collect().await.unwrap();
        ctx.deregister_table("daily_attendance").unwrap();
        crate::engine::session::register_batches(&ctx, "daily_attendance", rollup[0].schema(), rollup).unwrap();
        let (lo, hi) = (120i32, 164i32);
        for window in [21i64, 30] {
            let reach = (i64::from(lo) - window + 1, i64::from(hi));
            let params =
                vec![("from", date(reach.0 as i32)), ("hi", date(hi)), ("window", ScalarValue::Int64(Some(window)))];
            let stored = DailySignals::read(&ctx, &params, reach, window as usize, BUDGET_BYTES, None, None);
            let stored = windowed(&ctx, stored.await.unwrap().unwrap()).await;
            let attended =
                stored.iter().filter(|row| row.split('|').nth(ATTENDED + 12).is_some_and(|c| c.trim() != "0"));
            assert!(attended.count() > 50, "some rows have sessions attended");
            for counted_days in [(95, 130), (80, 175), (91, 130)] {
                let counted = AttendanceDays::read(&ctx, counted_days, "authorised", BUDGET_BYTES).await.unwrap();
                let signals =
                    DailySignals::read(&ctx, &params, reach, window as usize, BUDGET_BYTES, None, counted.as_ref());
                assert_eq!(windowed(&ctx, signals.await.unwrap().unwrap()).await, stored, "{window} {counted_days:?}");
            }
        }
    }

    /// Counts that each fit a cell but whose running total would not leave the sums to the
    /// SQL path; just under the limit, the sums are exact.
    #[tokio::test]
    async fn totals_past_a_cell_leave_the_sums_to_the_sql() {
        for (events, fits) in [(3_000_000_000i64, false), (2_000_000_000, true)] {
            let ctx = SessionContext::new();
            let activity = RecordBatch::try_from_iter([
                ("student_id", texts(&["S1".into(), "S1".into(), "S2".into()])),
                ("day", Arc::new(Date32Array::from(vec![100, 101, 101])) as ArrayRef),
                ("source", texts(&["vle".into(), "vle".into(), "library".into()])),
                ("events", Arc::new(Int64Array::from(vec![events, events, 5])) as ArrayRef),
            ])
            .unwrap();
            let attendance = RecordBatch::try_from_iter([
                ("student_id", texts(&["S2".into()])),
                ("day", Arc::new(Date32Array::from(vec![100])) as ArrayRef),
                ("expected", Arc::new(Int64Array::from(vec![2i64])) as ArrayRef),
                ("attended", Arc::new(Int64Array::from(vec![1i64])) as ArrayRef),
            ])
            .unwrap();
            for (name, batch) in [("daily_activity", activity), ("daily_attendance", attendance)] {
                crate::engine::session::register_batches(&ctx, name, batch.schema(), vec![batch]).unwrap();
            }
            let params = vec![("from", date(99)), ("hi", date(102))];
            let read = DailySignals::read(&ctx, &params, (99, 102), 2, BUDGET_BYTES, None, None).await.unwrap();
            assert_eq!(read.is_some(), fits, "{events} events a day");
            let Some(signals) = read else { continue };
            let (s1, s2) = (signals.cells.students().get("S1"), signals.cells.students().get("S2"));
            assert_eq!(signals.sums(s1, 101)[0], 2 * events, "two days in the window");
            assert_eq!(signals.sums(s1, 102)[0], events, "the window has moved past day 100");
            assert_eq!(signals.sums(s1, 99), [0; SLOTS]);
            assert_eq!(signals.sums(s2, 101)[2..], [5, 0, 0, 0, 0, 2, 1]);
            assert_eq!(signals.sums(s2, 102)[EXPECTED], 0);
            assert_eq!(signals.sums(s2, 105)[..], [0; SLOTS], "past the days held");
            assert_eq!(signals.sums(None, 101), [0; SLOTS]);
        }
    }

    /// Past the memory budget the array is not built (the rating takes the SQL path).
    #[tokio::test]
    async fn an_array_past_the_budget_is_not_built() {
        let ctx = tables(4);
        let params = vec![("from", crate::engine::cells::date(80)), ("hi", crate::engine::cells::date(169))];
        let one_student = 90 * SLOTS * size_of::<u32>();
        let block = crate::engine::dense::BLOCK * one_student;
        let read = DailySignals::read(&ctx, &params, (80, 169), 14, block - 1, None, None).await.unwrap();
        assert!(read.is_none());
        let read = DailySignals::read(&ctx, &params, (80, 169), 14, block, None, None).await.unwrap().unwrap();
        assert_eq!(read.cells.students().ids().len(), 40);
    }
}
