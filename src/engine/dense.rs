//! Dense per-student arrays for a stage's own code over the rows a query streams to it:
//! each student met gets a place (a small integer, in the order met) and a zeroed run of
//! cells, so counting per student and day is an index, not a grouping by text keys.
//!
//! Students' cells come in blocks of [`BLOCK`] students, allocated zeroed (the operating
//! system hands out zero pages, so untouched cells cost nothing) and never moved. Each
//! block is taken from the session's memory pool (`engine.memory_limit_mib`) and counted
//! against a fixed budget; a block that does not fit ends the array, and the caller takes
//! its SQL path instead.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
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

use super::strings::with_strings;
use crate::error::{Error, Result};

/// Students per block.
pub const BLOCK: usize = 1024;

/// Students' places: a small integer per student id, in the order first met.
#[derive(Debug, Default)]
pub struct Places {
    places: HashMap<Box<str>, u32>,
    ids: Vec<Box<str>>,
}

impl Places {
    /// The place of a student met, if met.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.places.get(id).copied()
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
}

/// Cells per student, for every student met.
#[derive(Debug)]
pub struct StudentCells {
    per_student: usize,
    budget: usize,
    places: Places,
    blocks: Vec<Vec<u32>>,
    memory: MemoryReservation,
    /// The place after the last one found: the student [`StudentCells::place_of`] tries first.
    next: u32,
}

impl StudentCells {
    /// An empty array of `per_student` cells a student, at most `budget` bytes, its memory
    /// taken from `ctx`'s pool under `name`.
    pub fn new(ctx: &SessionContext, name: &str, per_student: usize, budget: usize) -> StudentCells {
        let memory = MemoryConsumer::new(name).register(&ctx.runtime_env().memory_pool);
        StudentCells { per_student, budget, places: Places::default(), blocks: Vec::new(), memory, next: 0 }
    }

    /// Each row's student's place, giving students not met before the next places; `None`
    /// when a new block would not fit. A null id is an error (the tables require one).
    pub fn places(&mut self, ids: &ArrayRef) -> datafusion::error::Result<Option<Vec<u32>>> {
        with_strings(ids, |ids| {
            let mut places = Vec::with_capacity(ids.len());
            let mut last: Option<(&str, u32)> = None;
            for i in 0..ids.len() {
                if ids.is_null(i) {
                    return Err(DataFusionError::Internal("a row without a student id".into()));
                }
                let id = ids.value(i);
                let place = match last {
                    Some((previous, place)) if previous == id => place,
                    _ => match self.place_of(id) {
                        Some(place) => place,
                        None => return Ok(None),
                    },
                };
                last = Some((id, place));
                places.push(place);
            }
            Ok(Some(places))
        })?
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
            let bytes = BLOCK * self.per_student * size_of::<u32>();
            if (self.blocks.len() + 1) * bytes > self.budget || self.memory.try_grow(bytes).is_err() {
                return None;
            }
            self.blocks.push(vec![0; BLOCK * self.per_student]);
        }
        let place = self.places.add(id)?;
        self.next = place + 1;
        Some(place)
    }

    /// The students met and their places.
    pub fn students(&self) -> &Places {
        &self.places
    }

    /// Each student met, by place, with their cells.
    pub fn each(&self) -> impl Iterator<Item = (&str, &[u32])> {
        let ids = self.places.ids();
        (0..ids.len()).map(|place| (&*ids[place], self.cells(place as u32)))
    }

    /// The cells of the student at `place`.
    pub fn cells(&self, place: u32) -> &[u32] {
        let (block, at) = (place as usize / BLOCK, place as usize % BLOCK * self.per_student);
        &self.blocks[block][at..at + self.per_student]
    }

    /// The cells of the student at `place`, to change.
    pub fn cells_mut(&mut self, place: u32) -> &mut [u32] {
        let (block, at) = (place as usize / BLOCK, place as usize % BLOCK * self.per_student);
        &mut self.blocks[block][at..at + self.per_student]
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
        let mut cells = StudentCells::new(&ctx, "test", 3, 1 << 30);
        assert_eq!(cells.places(&ids(&["b", "b", "a", "b"])).unwrap(), Some(vec![0, 0, 1, 0]));
        assert_eq!(cells.places(&ids(&["a", "c"])).unwrap(), Some(vec![1, 2]));
        cells.cells_mut(2)[1] = 7;
        assert_eq!(cells.cells(2), [0, 7, 0]);
        assert_eq!(cells.cells(1), [0, 0, 0]);
        assert_eq!(cells.students().get("c"), Some(2));
        assert_eq!(cells.students().get("d"), None);
        assert_eq!(cells.students().ids().len(), 3);
        let null: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        assert!(cells.places(&null).is_err());
    }

    /// The place after the last one found is only tried first: students met in order, with
    /// gaps, backwards or again keep the places they were first given.
    #[test]
    fn students_keep_their_places_in_any_order() {
        let ctx = SessionContext::new();
        let mut cells = StudentCells::new(&ctx, "test", 1, 1 << 30);
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
        let block = BLOCK * 2 * size_of::<u32>();
        let many: Vec<String> = (0..=BLOCK).map(|i| format!("S{i}")).collect();
        let many = ids(&many.iter().map(String::as_str).collect::<Vec<_>>());
        let mut cells = StudentCells::new(&ctx, "test", 2, block);
        assert_eq!(cells.places(&many).unwrap(), None, "the second block passes the budget");
        let mut cells = StudentCells::new(&ctx, "test", 2, 2 * block);
        assert!(cells.places(&many).unwrap().is_some());

        let runtime = RuntimeEnvBuilder::new().with_memory_pool(Arc::new(GreedyMemoryPool::new(block))).build_arc();
        let limited = SessionContext::new_with_config_rt(SessionConfig::new(), runtime.unwrap());
        let mut cells = StudentCells::new(&limited, "test", 2, 1 << 30);
        assert_eq!(cells.places(&many).unwrap(), None, "the pool holds one block");
        drop(cells);
        let mut cells = StudentCells::new(&limited, "test", 2, 1 << 30);
        assert!(cells.places(&ids(&["a"])).unwrap().is_some(), "a dropped array gives its memory back");
    }
}
