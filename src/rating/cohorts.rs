//! Cohort ranks in Rust, for runs of any number of days: each scored student-day's share
//! of their cohort (programme and stage, that day) scoring no higher, and the cohort's
//! size: `rating/cohort_ranks`' columns, which a test compares with this.
//!
//! The query ranks with window functions, which sort every scored row, all its columns, by
//! day, cohort and score, then sort them all again by day and student for the ratings'
//! order. Here the rows are put in their days, then only keys are sorted, a day at a time
//! and the days shared among threads: a cohort number, a score and a row number per row for
//! the ranks, a student number and a row number for the order. The view `ranked` serves
//! the rows in day and student order and says so, so `rating/ratings` sorts nothing: runs
//! of rows already in that order in a scored batch (the grid gives a day's students at a
//! time) as slices of it, the rest gathered, as they are written.
//!
//! The scored rows are held in memory while the view is read (their text compacted by the
//! window sums, `rating::windows`); this path is not taken under a memory limit
//! (`engine.memory_limit_mib`), where the query ranks within it.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::{DataFusionError, HashMap};
use datafusion::dataframe::DataFrame;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SessionContext, col};

use crate::engine::dense::Places;
use crate::engine::strings::{column_ref as column, int64_ref as int64, string_views, with_strings};
use crate::engine::threads::on_threads;
use crate::error::{Error, Result};

/// The name `rating/ratings` reads the ranked rows under.
pub const VIEW: &str = "ranked";

/// Rows a batch of `ranked` holds.
const BATCH_ROWS: usize = 8192;

/// The fewest rows following one another in a scored batch that are served as a slice of
/// it, without a copy; shorter runs are gathered.
const MIN_SLICE: usize = 256;

/// Ranks the rows of `scored` (`rating/scores`, planned) within their cohorts and
/// registers them, with `cohort_share` and `cohort_size`, as `ranked` in `ctx`.
///
/// The view has a partition for each of up to the session's `target_partitions` runs of
/// days with about as many rows each, the runs in day order: written to the ratings side
/// by side ([`crate::warehouse::Warehouse::replace_in_parts`]), or merged back in order.
pub async fn register(ctx: &SessionContext, scored: DataFrame) -> Result<()> {
    const NAME: &str = "rating/cohort_ranks";
    let parts = ctx.copied_config().target_partitions().max(1);
    let fields = scored.schema().as_arrow().clone();
    let batches = scored.collect().await.map_err(|e| Error::query("rating/scores", e))?;
    let ranked = Arc::new(Ranked::new(batches, &fields, parts).map_err(|e| Error::query(NAME, e))?);
    let schema = ranked.schema.clone();
    let order = ["day", "student_id"].map(|c| col(c).sort(true, false)).to_vec();
    let partitions: Vec<Arc<dyn PartitionStream>> =
        (0..ranked.parts.len()).map(|part| Arc::new(Rows { ranked: ranked.clone(), part }) as _).collect();
    let table = StreamingTable::try_new(schema, partitions).map_err(|e| Error::query(NAME, e))?.with_sort_order(order);
    ctx.deregister_table(VIEW).map_err(|e| Error::query(NAME, e))?;
    ctx.register_table(VIEW, Arc::new(table)).map_err(|e| Error::query(NAME, e))?;
    Ok(())
}

/// The scored rows with their ranks, and the order to serve them in.
#[derive(Debug)]
struct Ranked {
    batches: Vec<RecordBatch>,
    /// `ranked`'s columns: `scored`'s, then cohort_share and cohort_size.
    schema: SchemaRef,
    /// Where each batch's rows start among the scored rows (batches one after another),
    /// then the number of rows.
    starts: Vec<usize>,
    /// Every row with its rank, in day and student order.
    served: Vec<Served>,
    /// The batches served, as runs of `served`, each a slice of one scored batch or not.
    pieces: Vec<(std::ops::Range<usize>, bool)>,
    /// The view's partitions: each a run of days, as a run of `pieces`.
    parts: Vec<std::ops::Range<usize>>,
}

/// A scored row (its number, batches one after another) and its rank: `at` rows of its
/// cohort of `n` that day score no higher (its cohort share is `at / n`, its cohort size
/// `n`). Twelve bytes a row: at year scale the rows' keys and ranks are a few hundred MB
/// of fresh memory, whose pages cost more to map than the ranking costs to compute.
#[derive(Debug, Clone, Copy, Default)]
struct Served {
    row: u32,
    at: u32,
    n: u32,
}

impl Ranked {
    /// `batches` of rows of `scored`'s columns, ranked, to serve in up to `parts` runs of
    /// days.
    fn new(batches: Vec<RecordBatch>, scored: &Schema, parts: usize) -> datafusion::error::Result<Ranked> {
        let mut fields: Vec<Field> = scored.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new("cohort_share", DataType::Float64, true));
        fields.push(Field::new("cohort_size", DataType::Int64, false));
        let schema = Arc::new(Schema::new(fields));
        let mut starts = Vec::with_capacity(batches.len() + 1);
        starts.push(0);
        for batch in &batches {
            starts.push(starts[starts.len() - 1] + batch.num_rows());
        }
        let rows = starts[batches.len()];
        if u32::try_from(rows).is_err() {
            return Err(DataFusionError::Internal("rating: too many rows to rank at once".into()));
        }
        let keys = Keys::read(&batches, rows)?;

        // Cohorts are ranked within a day and rows served in day order, so the rows are
        // first put in their days (a counting sort, each day's rows in the order read);
        // each day is then ranked and ordered on its own, in an array small enough to stay
        // in cache, and the days are shared among threads.
        let days = by_day(&keys.day);
        let mut rank = vec![0u32; keys.students.ids().len()];
        for (k, place) in keys.students.in_id_order().into_iter().enumerate() {
            rank[place as usize] = k as u32;
        }
        // Each thread ranks a run of days into its own stretch of the served rows.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
        let mut served: Vec<Served> = crate::allocator::zeroed_writable(rows);
        let mut stretches = Vec::new();
        let mut rest = served.as_mut_slice();
        for share in split_evenly(&days, threads) {
            let (stretch, after) = rest.split_at_mut(share.iter().map(Vec::len).sum());
            stretches.push((share, std::sync::Mutex::new(stretch)));
            rest = after;
        }
        on_threads(&stretches, |(share, stretch)| {
            let mut stretch = stretch.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut from = 0;
            for day in *share {
                rank_day(&keys, &rank, day, &mut stretch[from..from + day.len()]);
                from += day.len();
            }
        });
        drop(stretches);

        // Each part's rows are cut into pieces of their own, so no piece spans two parts.
        let locate = |row: u32| locate(&starts, row);
        let (mut pieces, mut parts_served, mut from) = (Vec::new(), Vec::new(), 0);
        for share in split_evenly(&days, parts) {
            let to = from + share.iter().map(Vec::len).sum::<usize>();
            let first = pieces.len();
            let part = &served[from..to];
            pieces.extend(
                self::pieces(part.len(), |i| locate(part[i].row))
                    .into_iter()
                    .map(|(rows, slice)| (rows.start + from..rows.end + from, slice)),
            );
            parts_served.push(first..pieces.len());
            from = to;
        }
        Ok(Ranked { batches, schema, starts, served, pieces, parts: parts_served })
    }

    /// The `piece`th batch served.
    fn chunk(&self, piece: usize) -> datafusion::error::Result<RecordBatch> {
        let (rows, slice) = self.pieces[piece].clone();
        let served = &self.served[rows];
        let scored = if slice {
            let (batch, row) = locate(&self.starts, served[0].row);
            self.batches[batch].slice(row, served.len())
        } else {
            let sources: Vec<&RecordBatch> = self.batches.iter().collect();
            let rows: Vec<(usize, usize)> = served.iter().map(|s| locate(&self.starts, s.row)).collect();
            arrow::compute::interleave_record_batch(&sources, &rows)?
        };
        let mut columns = scored.columns().to_vec();
        let share = Float64Array::from_iter_values(served.iter().map(|s| s.at as f64 / s.n as f64));
        columns.push(Arc::new(share) as ArrayRef);
        columns.push(Arc::new(Int64Array::from_iter_values(served.iter().map(|s| i64::from(s.n)))) as ArrayRef);
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// The (batch, row) of scored row `row`, given where each batch's rows start.
fn locate(starts: &[usize], row: u32) -> (usize, usize) {
    let row = row as usize;
    let batch = starts.partition_point(|&start| start <= row) - 1;
    (batch, row - starts[batch])
}

/// The `len` rows to serve, the `i`th being row `order(i)` (batch, row), cut into the
/// batches to serve: each run of at least [`MIN_SLICE`] rows that follow one another in one
/// scored batch (up to [`BATCH_ROWS`]) is a slice of that batch (true); the rows between are
/// gathered, up to [`BATCH_ROWS`] at a time (false). The grid gives each day's students in
/// runs (its rows are a day's students, batch by batch), so at year scale nearly every row
/// is served without a copy.
fn pieces(len: usize, order: impl Fn(usize) -> (usize, usize)) -> Vec<(std::ops::Range<usize>, bool)> {
    let mut pieces = Vec::new();
    let gather = |pieces: &mut Vec<_>, rows: std::ops::Range<usize>| {
        for from in rows.clone().step_by(BATCH_ROWS) {
            pieces.push((from..(from + BATCH_ROWS).min(rows.end), false));
        }
    };
    let (mut at, mut gathered) = (0, 0);
    while at < len {
        let (batch, row) = order(at);
        let mut end = at + 1;
        while end < len && end - at < BATCH_ROWS && order(end) == (batch, row + (end - at)) {
            end += 1;
        }
        if end - at >= MIN_SLICE {
            gather(&mut pieces, gathered..at);
            pieces.push((at..end, true));
            gathered = end;
        }
        at = end;
    }
    gather(&mut pieces, gathered..len);
    pieces
}

/// What ranking and ordering read of each row, by row number (batches one after another).
struct Keys {
    day: Vec<i32>,
    /// A number per cohort (programme and stage, as the query partitions them), shifted
    /// left a place, the row's score being null in the place freed.
    cohort: Vec<u32>,
    /// The score as a key in the query's order (`score_key`; 0 when null).
    score: Vec<u64>,
    /// Each row's student's place in `students`.
    student: Vec<u32>,
    students: Places,
}

/// A cohort: its programme and stage (either may be null, a cohort of its own).
type Cohort = (Option<Box<str>>, Option<i64>);

/// The number of `cohort` among `cohorts`, numbered in the order they are met.
fn cohort_number(cohorts: &mut HashMap<Cohort, u32>, cohort: &Cohort) -> datafusion::error::Result<u32> {
    match cohorts.get(cohort) {
        Some(&number) => Ok(number),
        None if cohorts.len() < 1 << 31 => {
            let number = cohorts.len() as u32;
            cohorts.insert(cohort.clone(), number);
            Ok(number)
        }
        None => Err(DataFusionError::Internal("rating: too many cohorts to rank".into())),
    }
}

impl Keys {
    /// The keys of `rows` rows in `batches`.
    ///
    /// The grid gives a day's students at a time, in the same order each day: each row's
    /// student is tried first at the place after the last row's (their ids' views compared)
    /// and their cohort taken from the last row of theirs read, when its programme and stage
    /// are this row's; a hash lookup only for the rest. Hashing every row's student id and
    /// encoding and hashing its cohort's columns took most of the ranking's one-core stretch.
    fn read(batches: &[RecordBatch], rows: usize) -> datafusion::error::Result<Keys> {
        let mut keys = Keys {
            day: Vec::with_capacity(rows),
            cohort: Vec::with_capacity(rows),
            score: Vec::with_capacity(rows),
            student: Vec::with_capacity(rows),
            students: Places::default(),
        };
        let mut cohorts: HashMap<Cohort, u32> = HashMap::default();
        // Each student's cohort when last read, by place.
        let mut last: Vec<Option<(Cohort, u32)>> = Vec::new();
        let mut next = 0u32;
        for batch in batches {
            let days = column(batch, "day")?.as_primitive_opt::<Date32Type>().ok_or_else(|| internal("day"))?;
            let scores = column(batch, "score")?.as_primitive_opt::<Float64Type>().ok_or_else(|| internal("score"))?;
            if days.null_count() > 0 {
                return Err(internal("day"));
            }
            keys.day.extend(days.values().iter().copied());
            keys.score
                .extend((0..scores.len()).map(|i| if scores.is_null(i) { 0 } else { score_key(scores.value(i)) }));

            let ids = string_views(column(batch, "student_id")?)?;
            let ids = ids.as_string_view();
            if ids.null_count() > 0 {
                return Err(internal("student_id"));
            }
            let stages = int64(batch, "stage")?;
            with_strings(column(batch, "programme_code")?, |programmes| {
                for i in 0..ids.len() {
                    let place = match keys.students.get_view_from(ids, i, next) {
                        Some(place) => place,
                        None => keys.students.get_or_add(ids.value(i)).ok_or_else(|| internal("student_id"))?,
                    };
                    next = place + 1;
                    keys.student.push(place);
                    let programme = (!programmes.is_null(i)).then(|| programmes.value(i));
                    let stage = (!stages.is_null(i)).then(|| stages.value(i));
                    if last.len() <= place as usize {
                        last.resize(place as usize + 1, None);
                    }
                    let held = &mut last[place as usize];
                    let number = match held {
                        Some(((p, s), number)) if p.as_deref() == programme && *s == stage => *number,
                        _ => {
                            let cohort: Cohort = (programme.map(Into::into), stage);
                            let number = cohort_number(&mut cohorts, &cohort)?;
                            *held = Some((cohort, number));
                            number
                        }
                    };
                    keys.cohort.push(number << 1 | u32::from(scores.is_null(i)));
                }
                Ok::<(), DataFusionError>(())
            })??;
        }
        Ok(keys)
    }
}

/// The row numbers of each day, days in order (from the earliest), each day's rows in the
/// order read: a counting sort on the day.
fn by_day(day: &[i32]) -> Vec<Vec<u32>> {
    let Some(&first) = day.iter().min() else { return Vec::new() };
    let last = day.iter().max().copied().unwrap_or(first);
    let mut days: Vec<Vec<u32>> = vec![Vec::new(); last.abs_diff(first) as usize + 1];
    let mut counts = vec![0usize; days.len()];
    for &d in day {
        counts[d.abs_diff(first) as usize] += 1;
    }
    for (rows, count) in days.iter_mut().zip(counts) {
        rows.reserve_exact(count);
    }
    for (r, &d) in day.iter().enumerate() {
        days[d.abs_diff(first) as usize].push(r as u32);
    }
    days
}

/// `days` in at most `parts` runs of consecutive days with about as many rows each (one,
/// empty, when there are no days).
fn split_evenly(days: &[Vec<u32>], parts: usize) -> Vec<&[Vec<u32>]> {
    let rows: usize = days.iter().map(Vec::len).sum();
    let mut shares = Vec::with_capacity(parts);
    let (mut from, mut taken) = (0, 0);
    for (d, day) in days.iter().enumerate() {
        taken += day.len();
        if taken * parts >= rows * (shares.len() + 1) && shares.len() + 1 < parts {
            shares.push(&days[from..=d]);
            from = d + 1;
        }
    }
    if from < days.len() || shares.is_empty() {
        shares.push(&days[from..]);
    }
    shares
}

/// Ranks one day's rows (`rows`, row numbers) within their cohorts and writes them to
/// `served` (as long as `rows`) in student order, each with its rank. Rows are sorted by
/// cohort, whether the score is null, and the score; tied scores share the rank of the
/// last of them.
fn rank_day(keys: &Keys, rank: &[u32], rows: &[u32], served: &mut [Served]) {
    let mut by_score: Vec<(u32, u64, u32)> =
        rows.iter().enumerate().map(|(at, &r)| (keys.cohort[r as usize], keys.score[r as usize], at as u32)).collect();
    by_score.sort_unstable();
    let mut ranked = vec![(0u32, 0u32); rows.len()];
    for cohort in by_score.chunk_by(|a, b| a.0 >> 1 == b.0 >> 1) {
        let n = cohort.len() as u32;
        let mut at = 0;
        for peers in cohort.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            at += peers.len() as u32;
            for &(_, _, k) in peers {
                ranked[k as usize] = (at, n);
            }
        }
    }
    let mut by_student: Vec<(u32, u32)> =
        rows.iter().enumerate().map(|(at, &r)| (rank[keys.student[r as usize] as usize], at as u32)).collect();
    by_student.sort_unstable();
    for (slot, (_, k)) in served.iter_mut().zip(by_student) {
        let (at, n) = ranked[k as usize];
        *slot = Served { row: rows[k as usize], at, n };
    }
}

fn internal(column: &str) -> DataFusionError {
    DataFusionError::Internal(format!("rating: a scored row without a valid '{column}'"))
}

/// A score as a key that sorts as the query does (`ORDER BY score`: ascending, doubles in
/// their total order; nulls last, by the null flag beside the cohort).
fn score_key(score: f64) -> u64 {
    let bits = score.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
}

/// `ranked`, served in order.
#[derive(Debug)]
struct Rows {
    ranked: Arc<Ranked>,
    /// Which of the ranked rows' parts.
    part: usize,
}

impl PartitionStream for Rows {
    fn schema(&self) -> &SchemaRef {
        &self.ranked.schema
    }

    fn execute(&self, _: Arc<TaskContext>) -> SendableRecordBatchStream {
        let ranked = self.ranked.clone();
        let pieces = ranked.parts[self.part].clone();
        let batches = futures::stream::iter(pieces.map(move |piece| ranked.chunk(piece)));
        Box::pin(RecordBatchStreamAdapter::new(self.ranked.schema.clone(), batches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, StringArray};
    use rand::{Rng, SeedableRng};

    /// Scored rows in several batches, in no particular order (or, `ordered`, in day and
    /// student order): cohorts of different sizes (some without a programme or a stage),
    /// students changing cohort, tied scores, a few without a score.
    fn scored(seed: u64, ordered: bool) -> Vec<RecordBatch> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        // Student id, programme, stage, day, score and another column.
        type Row = (String, Option<&'static str>, Option<i64>, i32, Option<f64>, i64);
        let mut rows: Vec<Row> = Vec::new();
        for student in 0..70 {
            for day in 200..212 {
                // Every seventh student moves to the next stage and programme halfway through.
                let moved = student % 7 == 0 && day >= 206;
                let programme = [Some("P1"), Some("P2"), None][(student + usize::from(moved)) % 3];
                let stage = [Some(1), Some(2), None][(student % 5 / 2 + usize::from(moved)) % 3];
                if rng.random_bool(0.85) {
                    let score = [Some(0.0), Some(0.25), Some(0.5), Some(0.6), Some(1.0), None][rng.random_range(0..6)];
                    let score = if rng.random_bool(0.5) { score.map(|_| rng.random::<f64>()) } else { score };
                    rows.push((format!("S{:03}", (student * 37) % 70), programme, stage, day, score, student as i64));
                }
            }
        }
        for i in (1..rows.len()).rev() {
            rows.swap(i, rng.random_range(0..=i));
        }
        if ordered {
            rows.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0)));
        }
        // Ordered, the batches hold runs long enough to be served as slices, and a shorter one.
        let per_batch = if ordered { MIN_SLICE + 44 } else { 97 };
        // A text column longer than a view holds inline, every batch a slice of one array
        // (sharing its text, as columns read from a table do).
        let departments: ArrayRef = Arc::new(arrow::array::StringViewArray::from_iter_values(
            rows.iter().map(|r| format!("Department of {}", r.5 % 7)),
        ));
        rows.chunks(per_batch)
            .enumerate()
            .map(|(k, chunk)| {
                RecordBatch::try_from_iter([
                    (
                        "student_id",
                        Arc::new(StringArray::from_iter_values(chunk.iter().map(|r| r.0.clone()))) as ArrayRef,
                    ),
                    ("programme_code", Arc::new(StringArray::from_iter(chunk.iter().map(|r| r.1))) as ArrayRef),
                    ("stage", Arc::new(Int64Array::from_iter(chunk.iter().map(|r| r.2))) as ArrayRef),
                    ("day", Arc::new(Date32Array::from_iter_values(chunk.iter().map(|r| r.3))) as ArrayRef),
                    ("score", Arc::new(Float64Array::from_iter(chunk.iter().map(|r| r.4))) as ArrayRef),
                    ("other", Arc::new(Int64Array::from_iter_values(chunk.iter().map(|r| r.5))) as ArrayRef),
                    ("department", departments.slice(k * per_batch, chunk.len())),
                ])
                .unwrap()
            })
            .collect()
    }

    fn lines(batches: &[RecordBatch]) -> Vec<String> {
        let text = arrow::util::pretty::pretty_format_batches(batches).unwrap().to_string();
        text.lines().filter(|l| l.starts_with("| S")).map(String::from).collect()
    }

    /// The ranks are `rating/cohort_ranks`' for every row, and the rows come in day and
    /// student order, as the view declares, in each of its partitions: runs of days, in
    /// day order.
    #[tokio::test]
    async fn ranks_in_rust_are_the_ranks_of_the_query_in_day_and_student_order() {
        for (seed, ordered, parts) in [(1, false, 1), (2, false, 3), (3, false, 2), (4, true, 1), (5, true, 2)] {
            let batches = scored(seed, ordered);
            let fields = batches[0].schema().as_ref().clone();
            let pieces = Ranked::new(batches.clone(), &fields, parts).unwrap().pieces;
            let sliced = pieces.iter().filter(|(_, slice)| *slice).count();
            assert_eq!(sliced > 0, ordered, "seed {seed}: {pieces:?}");
            let config = datafusion::prelude::SessionConfig::new().with_target_partitions(parts);
            let ctx = SessionContext::new_with_config(config);
            crate::engine::session::register_batches(&ctx, "scored", batches[0].schema(), batches.clone()).unwrap();
            let query = crate::queries::plan(&ctx, "rating/cohort_ranks", &[]).await.unwrap();
            let query = query.sort(["day", "student_id"].map(|c| col(c).sort(true, false)).to_vec()).unwrap();
            let expected = lines(&query.collect().await.unwrap());
            assert!(expected.len() > 600);
            register(&ctx, ctx.table("scored").await.unwrap()).await.unwrap();
            let ranked = lines(&ctx.table(VIEW).await.unwrap().collect().await.unwrap());
            assert_eq!(ranked, expected, "seed {seed}, ordered {ordered}");
            let plan = ctx.sql("SELECT * FROM ranked ORDER BY day, student_id").await.unwrap();
            let plan = plan.create_physical_plan().await.unwrap();
            let plan = datafusion::physical_plan::displayable(plan.as_ref()).indent(true).to_string();
            assert!(!plan.contains("SortExec"), "the view's order is known: {plan}");

            // Each partition on its own: rows in day and student order, its days after the
            // previous partition's.
            let view = ctx.table(VIEW).await.unwrap().create_physical_plan().await.unwrap();
            let parted = datafusion::physical_plan::collect_partitioned(view, ctx.task_ctx()).await.unwrap();
            assert_eq!(parted.len(), parts, "seed {seed}: a partition for each run of days");
            let mut last_day = i32::MIN;
            for (part, batches) in parted.iter().enumerate() {
                let mut keys = Vec::new();
                for batch in batches {
                    let days = column(batch, "day").unwrap().as_primitive::<Date32Type>().clone();
                    let ids = arrow::compute::cast(column(batch, "student_id").unwrap(), &DataType::Utf8).unwrap();
                    let ids = ids.as_string::<i32>();
                    keys.extend((0..batch.num_rows()).map(|i| (days.value(i), ids.value(i).to_string())));
                }
                assert!(!keys.is_empty(), "seed {seed}: part {part} has rows");
                assert!(keys.windows(2).all(|w| w[0] < w[1]), "seed {seed}: part {part} in order");
                assert!(keys[0].0 > last_day, "seed {seed}: part {part} starts after the last part's days");
                last_day = keys[keys.len() - 1].0;
            }
        }
    }

    /// Runs of rows that follow one another in a batch are served as slices of it, up to a
    /// batch's rows; the rows between are gathered, up to a batch's rows at a time.
    #[test]
    fn runs_of_a_batch_are_served_as_slices_and_the_rest_gathered() {
        let mut order: Vec<(usize, usize)> = (0..300).map(|r| (0, r)).collect();
        order.extend([(1, 5), (1, 7), (2, 0)]);
        order.extend((0..BATCH_ROWS + 10).map(|r| (3, r)));
        order.extend((0..MIN_SLICE - 1).map(|r| (4, r)));
        let run = 303 + BATCH_ROWS;
        let expected = vec![(0..300, true), (300..303, false), (303..run, true), (run..order.len(), false)];
        assert_eq!(pieces(order.len(), |i| order[i]), expected);
        let scattered: Vec<(usize, usize)> = (0..20_000).map(|r| (r % 2, r)).collect();
        let expected =
            vec![(0..BATCH_ROWS, false), (BATCH_ROWS..2 * BATCH_ROWS, false), (2 * BATCH_ROWS..20_000, false)];
        assert_eq!(pieces(scattered.len(), |i| scattered[i]), expected);
        assert!(pieces(0, |_| unreachable!()).is_empty());
    }

    /// Days are shared among threads in runs that cover each day once, in order, whatever
    /// the number of threads; the runs hold about as many rows each.
    #[test]
    fn days_are_shared_in_runs_of_about_equal_rows() {
        let day = [5, 3, 3, 9, 5, 3, 4, 9, 9, 9, 3];
        let days = by_day(&day);
        let rows: Vec<Vec<u32>> = days.iter().filter(|d| !d.is_empty()).cloned().collect();
        assert_eq!(rows, vec![vec![1, 2, 5, 10], vec![6], vec![0, 4], vec![3, 7, 8, 9]]);
        assert_eq!(days.len(), 7, "days 3 to 9, some without rows");
        for parts in 1..10 {
            let shares = split_evenly(&days, parts);
            assert!(shares.len() <= parts && shares.iter().all(|s| !s.is_empty()), "{parts} parts");
            let joined: Vec<Vec<u32>> = shares.iter().flat_map(|s| s.iter().cloned()).collect();
            assert_eq!(joined, days, "{parts} parts");
        }
        let halves = split_evenly(&days, 2);
        let rows = |share: &[Vec<u32>]| share.iter().map(Vec::len).sum::<usize>();
        assert_eq!((rows(halves[0]), rows(halves[1])), (7, 4));
        assert!(by_day(&[]).is_empty() && split_evenly(&[], 3).len() == 1);
    }

    /// No scored rows: an empty view.
    #[tokio::test]
    async fn no_rows_rank_to_none() {
        let ctx = SessionContext::new();
        let empty = RecordBatch::new_empty(scored(1, false)[0].schema());
        crate::engine::session::register_batches(&ctx, "scored", empty.schema(), vec![]).unwrap();
        register(&ctx, ctx.table("scored").await.unwrap()).await.unwrap();
        assert_eq!(ctx.table(VIEW).await.unwrap().count().await.unwrap(), 0);
    }
}
