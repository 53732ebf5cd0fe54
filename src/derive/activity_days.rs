//! The daily activity rollup counted in a dense array: the raw events of the days rolled up
//! (`derive/activity_rows`) are added, as they are read, into one cell per student, day and
//! source, then the cells holding events are written out day by day, students in id order
//! and sources in name order: `derive/daily_activity`'s rows in its order, without
//! grouping or sorting 59 million rows by their text keys. A test compares the two. The
//! query stays the path for a range whose array would not fit the budget, a count that
//! would not fit a cell, or a source outside the seven signals.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Int64Array, RecordBatch, StringArray, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::SchemaRef;
use datafusion::common::DataFusionError;
use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;

use crate::domain::signal::Signal;
use crate::engine::dense::{self, DayRows, StudentCells};
use crate::engine::strings::{column_ref as column, int64_ref as int64, string_views};
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
        let sources = source_slots(column(batch, "source")?)?;
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
        let names = StringArray::from_iter_values(sources.iter().map(|s| Signal::ALL[*s].name()));
        let students = self.cells.students().in_id_order();
        let ids = self.cells.students().id_column(&students);
        let rows = Rows { held: self.clone(), students, ids, sources, names };
        let order = ["day", "student_id", "source"];
        dense::day_by_day(ctx, "derive/daily_activity", tables::DAILY_ACTIVITY.schema(), Arc::new(rows), &order)
    }
}

/// The rollup's rows, made a day at a time as they are written: the array, the students
/// in id order with their ids, and the sources in name order with their names. A day's
/// text columns are taken from the ids and names by number, not built value by value.
#[derive(Debug)]
struct Rows {
    held: Arc<ActivityDays>,
    students: Vec<u32>,
    ids: StringArray,
    sources: Vec<usize>,
    names: StringArray,
}

impl DayRows for Rows {
    fn days(&self) -> usize {
        self.held.days
    }

    fn day(&self, day: usize, schema: &SchemaRef) -> datafusion::error::Result<RecordBatch> {
        let held = &self.held;
        let (mut who, mut what, mut events) = (Vec::new(), Vec::new(), Vec::new());
        for (k, &place) in self.students.iter().enumerate() {
            let cells = held.cells.day(place, day);
            for (n, &source) in self.sources.iter().enumerate() {
                let cell = cells[source];
                if cell != 0 {
                    who.push(k as u32);
                    what.push(n as u32);
                    events.push(i64::from(cell - 1));
                }
            }
        }
        let rows = events.len();
        let columns: Vec<ArrayRef> = vec![
            take(&self.ids, &UInt32Array::from(who), None)?,
            Arc::new(Date32Array::from(vec![held.from + day as i32; rows])),
            take(&self.names, &UInt32Array::from(what), None)?,
            Arc::new(Int64Array::from(events)),
        ];
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

/// Each row's source's place in `Signal::ALL` (`None` for another source, or none).
///
/// The names are read by their string views: equal views are equal names (held inline, or
/// the same bytes of the same buffer), and a column decoded from a dictionary page repeats
/// one view for each of its values, so a batch's rows are matched to the few views met in
/// it rather than comparing each row's text with the signals' names.
fn source_slots(names: &ArrayRef) -> datafusion::error::Result<Vec<Option<usize>>> {
    /// Views remembered per batch: more would mean the views do not repeat, and the text
    /// is compared instead.
    const MET: usize = 32;
    let names = string_views(names)?;
    let names = names.as_string_view();
    let mut met: Vec<(u128, Option<usize>)> = Vec::with_capacity(MET);
    let mut slots = Vec::with_capacity(names.len());
    for (i, &view) in names.views().iter().enumerate() {
        if names.is_null(i) {
            slots.push(None);
            continue;
        }
        let slot = match met.iter().find(|(held, _)| *held == view) {
            Some(&(_, slot)) => slot,
            None => {
                let name = names.value(i);
                let slot = Signal::ALL.iter().position(|signal| signal.name() == name);
                if met.len() < MET {
                    met.push((view, slot));
                }
                slot
            }
        };
        slots.push(slot);
    }
    Ok(slots)
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
