//! Dense per-student arrays for a stage's own code over the rows a query streams to it:
//! each student met gets a place (a small integer, in the order met) and a zeroed run of
//! cells, so counting per student and day is an index, not a grouping by text keys.
//!
//! Each student has the same number of days, and each day the same number of cells. Within
//! a block, students lie in tiles of [`TILE`], a tile's days one after another and each
//! day's cells of its students side by side: rows read day by day, students in order (the
//! rollups' order), write to neighbouring cells, and one student's days are a short stride
//! apart. With each student's days in one run instead, every student-day row read day by
//! day landed on another cache line: at year scale, reading the rollups into the rating's
//! window array spent 92% of its time waiting on those loads.
//!
//! Students' cells come in blocks of [`BLOCK`] students, allocated zeroed and mapped
//! writable at once (`allocator::zeroed_writable`: counting reads a cell before writing
//! it, and pages mapped on first touch cost two faults and a flush of the other cores'
//! address caches each) and never moved. Each
//! block is taken from the session's memory pool (`engine.memory_limit_mib`) and counted
//! against a fixed budget; a block that does not fit ends the array, and the caller takes
//! its SQL path instead.

use std::sync::Arc;

use arrow::array::builder::make_view;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, StringViewArray};
use arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
// The engine's hash map (foldhash): a student id is looked up once per row read, tens of
// millions of times a run, where the standard library's SipHash costs several times more.
use datafusion::common::{DataFusionError, HashMap};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::provider_as_source;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{LogicalPlanBuilder, SortExpr};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SessionContext, col};
use futures::StreamExt;

use super::strings::string_views;
use crate::error::{Error, Result};

/// Students per block.
pub const BLOCK: usize = 1024;

/// Students per tile: a tile's days lie one after another, each holding the cells of its
/// students side by side.
pub const TILE: usize = 16;

/// Students' places: a small integer per student id, in the order first met.
#[derive(Debug, Default)]
pub struct Places {
    places: HashMap<Box<str>, u32>,
    /// The places of ids of 12 bytes or fewer by their string view (length and bytes, held
    /// inline): a column read as views is looked up without reading its text.
    inline: HashMap<u128, u32>,
    /// Each place's id as an inline view (0, which no view is, for a longer id).
    views: Vec<u128>,
    ids: Vec<Box<str>>,
}

impl Places {
    /// The place of a student met, if met.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.places.get(id).copied()
    }

    /// The place of the student in row `i` of `ids`, if met, trying the place `guess`
    /// first: rows that come in the order the places were given (the next row's student
    /// at the place after the last one's) find each without a lookup.
    pub fn get_view_from(&self, ids: &StringViewArray, i: usize, guess: u32) -> Option<u32> {
        match self.views.get(guess as usize) {
            Some(&view) if view == ids.views()[i] => Some(guess),
            _ => self.get_view(ids, i),
        }
    }

    /// The place of the student in row `i` of `ids`, if met.
    pub fn get_view(&self, ids: &StringViewArray, i: usize) -> Option<u32> {
        let view = ids.views()[i];
        match self.inline.get(&view) {
            Some(&place) => Some(place),
            // A longer id, or one whose view is not laid out as this one's.
            None => self.get(ids.value(i)),
        }
    }

    /// The place of `id`, giving a student not met before the next place; `None` past
    /// `u32::MAX` students.
    pub fn get_or_add(&mut self, id: &str) -> Option<u32> {
        match self.get(id) {
            Some(place) => Some(place),
            None => self.add(id),
        }
    }

    /// A new student's place (the next one).
    fn add(&mut self, id: &str) -> Option<u32> {
        let place = u32::try_from(self.ids.len()).ok()?;
        self.places.insert(id.into(), place);
        let view = if id.len() <= 12 { make_view(id.as_bytes(), 0, 0) } else { 0 };
        if view != 0 {
            self.inline.insert(view, place);
        }
        self.views.push(view);
        self.ids.push(id.into());
        Some(place)
    }

    /// The ids of the students met, by place.
    pub fn ids(&self) -> &[Box<str>] {
        &self.ids
    }

    /// The places, their students in id order.
    pub fn in_id_order(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        order.sort_unstable_by(|a, b| self.ids[*a as usize].cmp(&self.ids[*b as usize]));
        order
    }

    /// The ids of the students at `places`, in that order, as a column: a stage's rows take
    /// their ids from it by number rather than copying each id as it goes.
    pub fn id_column(&self, places: &[u32]) -> StringArray {
        StringArray::from_iter_values(places.iter().map(|p| &self.ids[*p as usize]))
    }
}

/// Cells per student and day, for every student met.
#[derive(Debug)]
pub struct StudentCells {
    days: usize,
    per_day: usize,
    budget: usize,
    places: Places,
    blocks: Vec<Vec<u32>>,
    memory: MemoryReservation,
    /// The place after the last one found: the student [`StudentCells::place_of`] tries first.
    next: u32,
}

impl StudentCells {
    /// An empty array of `days` days of `per_day` cells a student, at most `budget` bytes,
    /// its memory taken from `ctx`'s pool under `name`.
    pub fn new(ctx: &SessionContext, name: &str, days: usize, per_day: usize, budget: usize) -> StudentCells {
        let memory = MemoryConsumer::new(name).register(&ctx.runtime_env().memory_pool);
        StudentCells { days, per_day, budget, places: Places::default(), blocks: Vec::new(), memory, next: 0 }
    }

    /// Each row's student's place, giving students not met before the next places; `None`
    /// when a new block would not fit. A null id is an error (the tables require one).
    pub fn places(&mut self, ids: &ArrayRef) -> datafusion::error::Result<Option<Vec<u32>>> {
        let ids = string_views(ids)?;
        let ids = ids.as_string_view();
        if ids.null_count() > 0 {
            return Err(DataFusionError::Internal("a row without a student id".into()));
        }
        // The rows of a run of one student share a view, and a view looks up its place
        // without reading its text.
        let mut places = Vec::with_capacity(ids.len());
        let mut last: Option<(u128, u32)> = None;
        for (i, &view) in ids.views().iter().enumerate() {
            let place = match last {
                // Equal views are equal ids (inline, or the same bytes of the same buffer).
                Some((previous, place)) if previous == view => place,
                _ => match self.places.get_view_from(ids, i, self.next).or_else(|| self.place_of(ids.value(i))) {
                    Some(place) => place,
                    None => return Ok(None),
                },
            };
            last = Some((view, place));
            self.next = place + 1;
            places.push(place);
        }
        Ok(Some(places))
    }

    /// The place of the student `id`, giving a student not met before the next place;
    /// `None` when a new block would not fit.
    pub fn place_of(&mut self, id: &str) -> Option<u32> {
        // Rows read in student order meet the students in the order they were given their
        // places (most rows come so: a rollup's day, a month's activity), so the place
        // after the last one found is tried first, with one comparison instead of a hash.
        let next = self.next;
        let place = match self.places.ids().get(next as usize) {
            Some(held) if **held == *id => Some(next),
            _ => self.places.get(id),
        };
        if let Some(place) = place {
            self.next = place + 1;
            return Some(place);
        }
        // A new student: the first of a block brings the block.
        if self.places.ids().len().is_multiple_of(BLOCK) {
            let cells = BLOCK * self.days * self.per_day;
            let bytes = cells * size_of::<u32>();
            if (self.blocks.len() + 1) * bytes > self.budget || self.memory.try_grow(bytes).is_err() {
                return None;
            }
            self.blocks.push(crate::allocator::zeroed_writable(cells));
        }
        let place = self.places.add(id)?;
        self.next = place + 1;
        Some(place)
    }

    /// The students met and their places.
    pub fn students(&self) -> &Places {
        &self.places
    }

    /// Each student met, with their place.
    pub fn each(&self) -> impl Iterator<Item = (&str, u32)> {
        self.places.ids().iter().zip(0..).map(|(id, place)| (&**id, place))
    }

    /// The cells of day `day` (counted from the first held) of the student at `place`.
    pub fn day(&self, place: u32, day: usize) -> &[u32] {
        let (block, at) = self.at(place, day);
        &self.blocks[block][at..at + self.per_day]
    }

    /// The cells of day `day` of the student at `place`, to change.
    pub fn day_mut(&mut self, place: u32, day: usize) -> &mut [u32] {
        let (block, at) = self.at(place, day);
        &mut self.blocks[block][at..at + self.per_day]
    }

    /// The block and the offset in it of day `day` of the student at `place`.
    fn at(&self, place: u32, day: usize) -> (usize, usize) {
        assert!(day < self.days, "a day past the days held");
        let (block, in_block) = (place as usize / BLOCK, place as usize % BLOCK);
        let tile = (in_block / TILE * self.days + day) * TILE;
        (block, (tile + in_block % TILE) * self.per_day)
    }

    /// Every tile, to change: `days` runs of [`TILE`] x `per_day` cells, a day's cells of
    /// the tile's students side by side (the places of a block's tiles follow one another;
    /// a tile past the students met holds zeros).
    pub fn tiles_mut(&mut self) -> impl Iterator<Item = &mut [u32]> {
        let tile = self.days * TILE * self.per_day;
        self.blocks.iter_mut().flat_map(move |block| block.chunks_exact_mut(tile))
    }
}

/// A table's rows that a stage's own code makes from its arrays a day at a time, as they
/// are written (a rollup counted in a dense array).
pub trait DayRows: std::fmt::Debug + Send + Sync + 'static {
    /// Days held.
    fn days(&self) -> usize;
    /// The rows of one day (counted from the first held), in `schema`'s columns; empty
    /// when the day has none.
    fn day(&self, day: usize, schema: &SchemaRef) -> datafusion::error::Result<RecordBatch>;
}

/// `rows` as a frame to write under the query name `name`: day after day, in the order the
/// columns `order` name (ascending, the first being the day), which the rows come in.
///
/// The view declares that order and is planned in one partition, so the plan keeps the rows
/// as they come and the written files keep their order: spread over the session's
/// partitions they would be merged back in any order, and sorting them again costs seconds
/// at year scale.
pub fn day_by_day(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    rows: Arc<dyn DayRows>,
    order: &[&str],
) -> Result<DataFrame> {
    let order: Vec<SortExpr> = order.iter().map(|c| col(*c).sort(true, false)).collect();
    let stream = Days { rows, schema: schema.clone() };
    let table = StreamingTable::try_new(schema, vec![Arc::new(stream)])
        .map_err(|e| Error::query(name, e))?
        .with_sort_order(order.clone());
    let mut state = ctx.state();
    state.config_mut().options_mut().execution.target_partitions = 1;
    let plan = LogicalPlanBuilder::scan(name, provider_as_source(Arc::new(table)), None)
        .and_then(|scan| scan.sort(order))
        .and_then(LogicalPlanBuilder::build)
        .map_err(|e| Error::query(name, e))?;
    Ok(DataFrame::new(state, plan))
}

/// The stream of [`day_by_day`]'s rows: each day's, made when the writer asks for it.
#[derive(Debug)]
struct Days {
    rows: Arc<dyn DayRows>,
    schema: SchemaRef,
}

impl PartitionStream for Days {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (rows, schema) = (self.rows.clone(), self.schema.clone());
        let days = futures::stream::iter(0..rows.days())
            .map(move |day| rows.day(day, &schema))
            .filter(|batch| futures::future::ready(batch.as_ref().map_or(true, |b| b.num_rows() > 0)));
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), days))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use arrow::array::StringArray;
    use datafusion::execution::memory_pool::GreedyMemoryPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::prelude::SessionConfig;

    fn ids(values: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn students_get_places_in_the_order_met_and_keep_them_across_batches() {
        let ctx = SessionContext::new();
        let mut cells = StudentCells::new(&ctx, "test", 1, 3, 1 << 30);
        assert_eq!(cells.places(&ids(&["b", "b", "a", "b"])).unwrap(), Some(vec![0, 0, 1, 0]));
        assert_eq!(cells.places(&ids(&["a", "c"])).unwrap(), Some(vec![1, 2]));
        cells.day_mut(2, 0)[1] = 7;
        assert_eq!(cells.day(2, 0), [0, 7, 0]);
        assert_eq!(cells.day(1, 0), [0, 0, 0]);
        assert_eq!(cells.students().get("c"), Some(2));
        assert_eq!(cells.students().get("d"), None);
        assert_eq!(cells.students().ids().len(), 3);
        let null: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        assert!(cells.places(&null).is_err());
    }

    /// Every student's every day has cells of its own, across tiles and blocks, and a tile
    /// holds its students' days day by day, each day's students side by side.
    #[test]
    fn each_student_day_has_its_own_cells_laid_out_by_tile() {
        let ctx = SessionContext::new();
        let (students, days, per_day) = (BLOCK + 20, 5, 3);
        let mut cells = StudentCells::new(&ctx, "test", days, per_day, 1 << 30);
        let value = |place: usize, day: usize, k: usize| (((place * days) + day) * per_day + k + 1) as u32;
        for place in 0..students {
            assert_eq!(cells.place_of(&format!("S{place:05}")), Some(place as u32));
            for day in 0..days {
                for (k, cell) in cells.day_mut(place as u32, day).iter_mut().enumerate() {
                    *cell = value(place, day, k);
                }
            }
        }
        for place in (0..students).step_by(7) {
            for day in 0..days {
                let expected: Vec<u32> = (0..per_day).map(|k| value(place, day, k)).collect();
                assert_eq!(cells.day(place as u32, day), expected, "student {place}, day {day}");
            }
        }
        let tiles: Vec<Vec<u32>> = cells.tiles_mut().map(|t| t.to_vec()).collect();
        assert_eq!(tiles.len(), 2 * BLOCK / TILE, "two blocks of tiles");
        for (t, tile) in tiles.iter().enumerate() {
            assert_eq!(tile.len(), days * TILE * per_day);
            for (at, &cell) in tile.iter().enumerate() {
                let (day, student, k) = (at / (TILE * per_day), at / per_day % TILE, at % per_day);
                let place = t * TILE + student;
                let expected = if place < students { value(place, day, k) } else { 0 };
                assert_eq!(cell, expected, "tile {t}, cell {at}");
            }
        }
    }

    /// A column of string views finds the places a column of strings finds: short ids by
    /// their inline view, longer ones by their text, across batches of either kind.
    #[test]
    fn string_views_find_the_places_strings_find() {
        let ctx = SessionContext::new();
        let mut cells = StudentCells::new(&ctx, "test", 1, 1, 1 << 30);
        let long = "a-student-id-past-twelve-bytes";
        let first: ArrayRef = Arc::new(StringViewArray::from(vec!["S1", "S1", long, "S2", long, "S123456789ab"]));
        assert_eq!(cells.places(&first).unwrap(), Some(vec![0, 0, 1, 2, 1, 3]));
        assert_eq!(cells.places(&ids(&["S2", long, "S3", "S123456789ab"])).unwrap(), Some(vec![2, 1, 4, 3]));
        let again: ArrayRef = Arc::new(StringViewArray::from(vec!["S3", long, "S1", "S4", "S123456789ab"]));
        assert_eq!(cells.places(&again).unwrap(), Some(vec![4, 1, 0, 5, 3]));
        let views = again.as_string_view();
        assert_eq!(cells.students().get_view(views, 3), Some(5));
        for guess in [0, 4, 5, 6, 99] {
            assert_eq!(cells.students().get_view_from(views, 3, guess), Some(5), "guess {guess}");
            assert_eq!(cells.students().get_view_from(views, 1, guess), Some(1), "guess {guess}");
        }
        assert_eq!(cells.students().get_view(views, 1), Some(1));
        let unmet = StringViewArray::from(vec!["S5", "another-student-id-past-twelve"]);
        assert_eq!((cells.students().get_view(&unmet, 0), cells.students().get_view(&unmet, 1)), (None, None));
        let null: ArrayRef = Arc::new(StringViewArray::from(vec![Some("S1"), None]));
        assert!(cells.places(&null).is_err());
    }

    /// The place after the last one found is only tried first: students met in order, with
    /// gaps, backwards or again keep the places they were first given.
    #[test]
    fn students_keep_their_places_in_any_order() {
        let ctx = SessionContext::new();
        let mut cells = StudentCells::new(&ctx, "test", 1, 1, 1 << 30);
        let met: Vec<String> = (0..50).map(|i| format!("S{i:03}")).collect();
        for (i, id) in met.iter().enumerate() {
            assert_eq!(cells.place_of(id), Some(i as u32));
        }
        let orders: [Vec<usize>; 4] =
            [(0..50).collect(), (0..50).step_by(3).collect(), (0..50).rev().collect(), vec![7, 7, 8, 8, 2, 3, 49, 0]];
        for order in orders {
            for i in order {
                assert_eq!(cells.place_of(&met[i]), Some(i as u32), "{}", met[i]);
            }
        }
        assert_eq!(cells.place_of("S999"), Some(50), "a new student after the last place");
        assert_eq!(cells.place_of(&met[0]), Some(0));
        assert_eq!(cells.places(&ids(&["S001", "S002", "S999", "S000"])).unwrap(), Some(vec![1, 2, 50, 0]));
    }

    /// A block past the budget, or past the session's memory limit, ends the array.
    #[test]
    fn a_block_that_does_not_fit_ends_the_array() {
        let ctx = SessionContext::new();
        // One day of two cells a student.
        let block = BLOCK * 2 * size_of::<u32>();
        let many: Vec<String> = (0..=BLOCK).map(|i| format!("S{i}")).collect();
        let many = ids(&many.iter().map(String::as_str).collect::<Vec<_>>());
        let mut cells = StudentCells::new(&ctx, "test", 1, 2, block);
        assert_eq!(cells.places(&many).unwrap(), None, "the second block passes the budget");
        let mut cells = StudentCells::new(&ctx, "test", 1, 2, 2 * block);
        assert!(cells.places(&many).unwrap().is_some());

        let runtime = RuntimeEnvBuilder::new().with_memory_pool(Arc::new(GreedyMemoryPool::new(block))).build_arc();
        let limited = SessionContext::new_with_config_rt(SessionConfig::new(), runtime.unwrap());
        let mut cells = StudentCells::new(&limited, "test", 1, 2, 1 << 30);
        assert_eq!(cells.places(&many).unwrap(), None, "the pool holds one block");
        drop(cells);
        let mut cells = StudentCells::new(&limited, "test", 1, 2, 1 << 30);
        assert!(cells.places(&ids(&["a"])).unwrap().is_some(), "a dropped array gives its memory back");
    }
}
