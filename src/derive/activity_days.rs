//! The daily activity rollup counted in a dense array: the raw events of the days rolled up
//! (`derive/activity_rows`) are added, as they are read, into one cell per student, day and
//! source, then the cells holding events are written out day by day, students in id order
//! and sources in name order: `derive/daily_activity`'s rows in its order, without
//! grouping or sorting 59 million rows by their text keys. A test compares the two. The
//! query stays the path for a range whose array would not fit the budget, a count that
//! would not fit a cell, or a source outside the seven signals.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Date32Array, Int64Array, RecordBatch, StringBuilder};
use arrow::datatypes::SchemaRef;
use datafusion::common::DataFusionError;
use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;

use crate::domain::signal::Signal;
use crate::engine::dense::{self, DayRows, StudentCells};
use crate::engine::strings::{column_ref as column, int64_ref as int64, with_strings};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::tables;

const SOURCES: usize = Signal::ALL.len();

/// Events per student, day and source over a range of days.
#[derive(Debug)]
pub struct ActivityDays {
    /// The first day held, as a day number.
    from: i32,
    /// Days held from `from`.
    days: usize,
    /// Each student's days of `SOURCES` cells, a source's 0 when the student has no event
    /// of it that day, else the events plus one (a row of count 0 is a row).
    cells: StudentCells,
}

impl ActivityDays {
    /// Reads the events of the days `lo..=hi` (day numbers) into the array; `None` if it
    /// would take more than `budget` bytes, a day's events would not fit a cell, or a
    /// source is not one of the signals.
    pub async fn read(ctx: &SessionContext, (lo, hi): (i32, i32), budget: usize) -> Result<Option<ActivityDays>> {
        const NAME: &str = "derive/activity_rows";
        let params = [("lo", crate::engine::cells::date(lo)), ("hi", crate::engine::cells::date(hi))];
        let days =
            usize::try_from(hi - lo + 1).map_err(|_| Error::Internal("rollup: an empty range of days".into()))?;
        let cells = StudentCells::new(ctx, "daily activity rollup", days, SOURCES, budget);
        let mut held = ActivityDays { from: lo, days, cells };
        let taken = queries::each_batch(ctx, NAME, &params, |batch| held.add(batch)).await?;
        Ok(taken.then_some(held))
    }

    /// Adds a batch of `derive/activity_rows` (student_id, n, source, events); false when
    /// it does not fit (see [`ActivityDays::read`]).
    fn add(&mut self, batch: &RecordBatch) -> datafusion::error::Result<bool> {
        let n = int64(batch, "n")?;
        let count = int64(batch, "events")?;
        let sources = with_strings(column(batch, "source")?, |s| {
            let mut slots = Vec::with_capacity(s.len());
            let mut last: Option<(&str, Option<usize>)> = None;
            for i in 0..s.len() {
                let name = if s.is_null(i) { "" } else { s.value(i) };
                let slot = match last {
                    Some((previous, slot)) if previous == name => slot,
                    _ => Signal::ALL.iter().position(|signal| signal.name() == name),
                };
                last = Some((name, slot));
                slots.push(slot);
            }
            slots
        })?;
        let Some(places) = self.cells.places(column(batch, "student_id")?)? else { return Ok(false) };
        for (i, (place, source)) in places.into_iter().zip(sources).enumerate() {
            let Some(source) = source else { return Ok(false) };
            let day = n.value(i) - i64::from(self.from);
            if n.is_null(i) || count.is_null(i) || day < 0 || day >= self.days as i64 {
                return Err(DataFusionError::Internal("rollup: an activity row outside the days read".into()));
            }
            let cell = &mut self.cells.day_mut(place, day as usize)[source];
            match u32::try_from(count.value(i)).ok().and_then(|more| (*cell).max(1).checked_add(more)) {
                Some(sum) => *cell = sum,
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// The first day held (a day number) and the number of days held.
    pub fn range(&self) -> (i32, usize) {
        (self.from, self.days)
    }

    /// Each student met, with their place; [`ActivityDays::on`] reads their days.
    pub fn students(&self) -> impl Iterator<Item = (&str, u32)> {
        self.cells.each()
    }

    /// The cells of day `day` (counted from the first held) of the student at `place`, the
    /// sources in `Signal::ALL`'s order; [`ActivityDays::events`] reads a cell.
    pub fn on(&self, place: u32, day: usize) -> &[u32] {
        self.cells.day(place, day)
    }

    /// The events a cell of [`ActivityDays::on`] counts.
    pub fn events(cell: u32) -> u32 {
        cell.saturating_sub(1)
    }

    /// The rollup's rows as a frame to write: day by day, students in id order, sources
    /// in name order (`derive/daily_activity`'s columns and order), made as they are read.
    /// The array stays with the caller (a full run's rating reads it again).
    pub fn frame(self: &Arc<Self>, ctx: &SessionContext) -> Result<DataFrame> {
        let mut sources: Vec<usize> = (0..SOURCES).collect();
        sources.sort_by_key(|s| Signal::ALL[*s].name());
        let rows = Rows { held: self.clone(), students: self.cells.students().in_id_order(), sources };
        let order = ["day", "student_id", "source"];
        dense::day_by_day(ctx, "derive/daily_activity", tables::DAILY_ACTIVITY.schema(), Arc::new(rows), &order)
    }
}

/// The rollup's rows, made a day at a time as they are written: the array, the students'
/// order and the sources' order.
#[derive(Debug)]
struct Rows {
    held: Arc<ActivityDays>,
    students: Vec<u32>,
    sources: Vec<usize>,
}

impl DayRows for Rows {
    fn days(&self) -> usize {
        self.held.days
    }

    fn day(&self, day: usize, schema: &SchemaRef) -> datafusion::error::Result<RecordBatch> {
        let held = &self.held;
        let (mut ids, mut names, mut events) = (StringBuilder::new(), StringBuilder::new(), Vec::new());
        for &place in &self.students {
            let cells = held.cells.day(place, day);
            for &source in &self.sources {
                let cell = cells[source];
                if cell != 0 {
                    ids.append_value(&held.cells.students().ids()[place as usize]);
                    names.append_value(Signal::ALL[source].name());
                    events.push(i64::from(cell - 1));
                }
            }
        }
        let rows = events.len();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ids.finish()),
            Arc::new(Date32Array::from(vec![held.from + day as i32; rows])),
            Arc::new(names.finish()),
            Arc::new(Int64Array::from(events)),
        ];
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Random events (repeated keys, events of count 0, days outside the range rolled up)
    /// as the `activity` table.
    fn activity(seed: u64, sources: &[&str]) -> SessionContext {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (mut ids, mut days, mut names, mut counts) = (vec![], vec![], vec![], vec![]);
        for _ in 0..5_000 {
            ids.push(format!("S{:03}", rng.random_range(0..60)));
            days.push(rng.random_range(95..130));
            names.push(sources[rng.random_range(0..sources.len())].to_string());
            counts.push(if rng.random_bool(0.1) { 0 } else { rng.random_range(1..5i64) });
        }
        let batch = RecordBatch::try_from_iter([
            ("student_id", Arc::new(arrow::array::StringArray::from(ids)) as ArrayRef),
            ("day", Arc::new(Date32Array::from(days)) as ArrayRef),
            ("source", Arc::new(arrow::array::StringArray::from(names)) as ArrayRef),
            ("count", Arc::new(Int64Array::from(counts)) as ArrayRef),
        ])
        .unwrap();
        let ctx = SessionContext::new();
        crate::engine::session::register_batches(&ctx, "activity", batch.schema(), vec![batch]).unwrap();
        ctx
    }

    async fn text(df: DataFrame) -> String {
        let batches = df.collect().await.unwrap();
        arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
    }

    /// The dense count gives `derive/daily_activity`'s rows, in its order.
    #[tokio::test]
    async fn the_dense_rollup_is_the_grouped_query_row_for_row() {
        let names: Vec<&str> = Signal::ALL.iter().map(|s| s.name()).collect();
        for seed in [1, 2, 3] {
            let ctx = activity(seed, &names);
            let (lo, hi) = (100, 120);
            let params = [("lo", crate::engine::cells::date(lo)), ("hi", crate::engine::cells::date(hi))];
            let grouped = queries::plan(&ctx, "derive/daily_activity", &params).await.unwrap().collect().await.unwrap();
            let none = grouped.iter().any(|b| int64(b, "events").unwrap().values().contains(&0));
            assert!(none, "a row of no events is kept");
            let grouped = arrow::util::pretty::pretty_format_batches(&grouped).unwrap().to_string();
            let dense = Arc::new(ActivityDays::read(&ctx, (lo, hi), 1 << 20).await.unwrap().unwrap());
            // One partition in order, without a sort (the writer stores it as it comes).
            let plan = dense.frame(&ctx).unwrap().create_physical_plan().await.unwrap();
            assert_eq!(plan.properties().output_partitioning().partition_count(), 1);
            let shown = datafusion::physical_plan::displayable(plan.as_ref()).indent(true).to_string();
            assert!(!shown.contains("Sort") && !shown.contains("Repartition"), "{shown}");
            let dense = text(dense.frame(&ctx).unwrap()).await;
            assert!(grouped.lines().count() > 1_000, "{}", grouped.lines().count());
            assert_eq!(dense, grouped, "seed {seed}");
        }
    }

    /// A source outside the signals, or an array past the budget, leaves the rollup to the query.
    #[tokio::test]
    async fn what_does_not_fit_is_left_to_the_query() {
        let ctx = activity(4, &["vle", "printing"]);
        assert!(ActivityDays::read(&ctx, (100, 120), 1 << 20).await.unwrap().is_none());
        let ctx = activity(4, &["vle"]);
        let block = crate::engine::dense::BLOCK * 21 * SOURCES * size_of::<u32>();
        assert!(ActivityDays::read(&ctx, (100, 120), block - 1).await.unwrap().is_none());
        assert!(ActivityDays::read(&ctx, (100, 120), block).await.unwrap().is_some());
    }
}
