//! The daily attendance rollup counted in a dense array: the sessions on the days rolled up
//! (`derive/session_days`), the students sessions are expected of
//! (`derive/students_expected`), every class-list row (`derive/class_list_rows`), the
//! sessions students attended (`derive/attended_sessions`) and the absences that excuse
//! (`derive/excusing_absences`) are read once each; each class-list row of a session in the
//! range and a student expected at it is one expected session, marked attended or excused
//! and counted in one cell per student and day, and the cells holding sessions are written
//! out day by day, students in id order: `derive/daily_attendance`'s rows in its order,
//! without joining 8 million class-list rows to the sessions and students or grouping 13
//! million marks by their text keys. A test compares the two. The query stays the path for
//! a range whose array would not fit the budget or the session's memory.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Int64Array, RecordBatch, StringArray, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::SchemaRef;
use datafusion::common::DataFusionError;
use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use crate::engine::cells::date;
use crate::engine::dense::{self, DayRows, Places, StudentCells};
use crate::engine::strings::{column_ref as column, int64_ref as int64, string_views, with_strings};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::tables;

/// Cells a student has a day: sessions expected of them (before excusing), attended,
/// excused (expected, not attended, covered by an excusing absence).
const CELLS: usize = 3;
const SESSIONS: usize = 0;
const ATTENDED: usize = 1;
const EXCUSED: usize = 2;

/// Sessions expected, attended and excused per student and day over a range of days.
#[derive(Debug)]
pub struct AttendanceDays {
    /// The first day held, as a day number.
    from: i32,
    /// Days held from `from`.
    days: usize,
    /// Each student's days of `CELLS` cells, a day with no session expected being all 0
    /// (and no row of the rollup).
    cells: StudentCells,
}

/// The sessions met while reading, by place: their days and the students expected at and
/// attending each.
#[derive(Debug, Default)]
struct Sessions {
    places: Places,
    days: Vec<i64>,
    expected: Vec<Vec<u32>>,
    attended: Vec<Vec<u32>>,
    /// The session views met in the batch being read.
    met: Met,
}

impl Sessions {
    /// Adds a batch of `derive/session_days` (session_id, n), the days `lo..=hi` read.
    fn add(&mut self, batch: &RecordBatch, (lo, hi): (i32, i32)) -> datafusion::error::Result<bool> {
        let n = int64(batch, "n")?;
        with_strings(column(batch, "session_id")?, |ids| {
            for i in (0..ids.len()).filter(|&i| !ids.is_null(i)) {
                let day = n.value(i);
                if n.is_null(i) || day < i64::from(lo) || day > i64::from(hi) {
                    return Err(DataFusionError::Internal("rollup: a session outside the days read".into()));
                }
                let place = self
                    .places
                    .get_or_add(ids.value(i))
                    .ok_or_else(|| DataFusionError::Internal("rollup: more sessions than can be counted".into()))?
                    as usize;
                if place == self.days.len() {
                    self.days.push(day);
                    self.expected.push(Vec::new());
                    self.attended.push(Vec::new());
                }
                // A session listed twice counts once, on its latest day (as the query's
                // grouping by student and session has it).
                self.days[place] = self.days[place].max(day);
            }
            Ok(true)
        })?
    }
}

impl AttendanceDays {
    /// Counts the sessions of the days `lo..=hi` (day numbers) into the array, the absence
    /// kinds `excusing` (comma-separated) excusing what they cover; `None` if it would take
    /// more than `budget` bytes or the session's memory pool has not the room.
    pub async fn read(
        ctx: &SessionContext,
        (lo, hi): (i32, i32),
        excusing: &str,
        budget: usize,
    ) -> Result<Option<AttendanceDays>> {
        let params = [("lo", date(lo)), ("hi", date(hi))];
        let days =
            usize::try_from(hi - lo + 1).map_err(|_| Error::Internal("rollup: an empty range of days".into()))?;
        let cells = StudentCells::new(ctx, "daily attendance rollup", days, CELLS, budget);
        let mut held = AttendanceDays { from: lo, days, cells };
        let mut sessions = Sessions::default();
        queries::each_batch(ctx, "derive/session_days", &params, |b| sessions.add(b, (lo, hi))).await?;
        let mut expected = Places::default();
        queries::each_batch(ctx, "derive/students_expected", &[], |batch| {
            with_strings(column(batch, "student_id")?, |ids| {
                for i in (0..ids.len()).filter(|&i| !ids.is_null(i)) {
                    expected.get_or_add(ids.value(i));
                }
            })?;
            Ok(true)
        })
        .await?;
        let taken =
            queries::each_batch(ctx, "derive/class_list_rows", &[], |b| held.expect(&mut sessions, &expected, b))
                .await?;
        if !taken {
            return Ok(None);
        }
        queries::each_batch(ctx, "derive/attended_sessions", &params, |b| held.attend(&mut sessions, b)).await?;
        // Each student's excusing absences, by place.
        let mut absences: Vec<Vec<(i64, i64)>> = vec![Vec::new(); held.cells.students().ids().len()];
        let kinds = [("excusing", ScalarValue::from(excusing))];
        queries::each_batch(ctx, "derive/excusing_absences", &kinds, |batch| {
            let (first, last) = (int64(batch, "first")?, int64(batch, "last")?);
            with_strings(column(batch, "student_id")?, |ids| {
                for i in 0..batch.num_rows() {
                    // An absence without both days covers no session (as in the query's join).
                    let place = if ids.is_null(i) { None } else { held.cells.students().get(ids.value(i)) };
                    if let (Some(place), false, false) = (place, first.is_null(i), last.is_null(i)) {
                        absences[place as usize].push((first.value(i), last.value(i)));
                    }
                }
            })?;
            Ok(true)
        })
        .await?;
        held.count(sessions, &absences);
        Ok(Some(held))
    }

    /// Adds a batch of `derive/class_list_rows` (session_id, student_id): the rows of a
    /// session on the days read and a student sessions are expected of (`expected`); false
    /// when the array would not fit.
    fn expect(
        &mut self,
        sessions: &mut Sessions,
        expected: &Places,
        batch: &RecordBatch,
    ) -> datafusion::error::Result<bool> {
        let places = session_places(column(batch, "session_id")?, &mut sessions.met, |id| sessions.places.get(id))?;
        let ids = string_views(column(batch, "student_id")?)?;
        let ids = ids.as_string_view();
        // The class lists come by student: a run of one student's rows (equal views being
        // equal ids) is looked up once.
        let mut last: Option<(u128, Option<u32>)> = None;
        for (i, session) in places.into_iter().enumerate() {
            let Some(session) = session else { continue };
            if ids.is_null(i) {
                continue;
            }
            let view = ids.views()[i];
            let student = match last {
                Some((held, student)) if held == view => student,
                _ => {
                    let student = match expected.get_view(ids, i) {
                        Some(_) => match self.cells.place_of(ids.value(i)) {
                            Some(place) => Some(place),
                            None => return Ok(false),
                        },
                        None => None,
                    };
                    last = Some((view, student));
                    student
                }
            };
            if let Some(student) = student {
                sessions.expected[session as usize].push(student);
            }
        }
        Ok(true)
    }

    /// Adds a batch of `derive/attended_sessions` (student_id, session_id): the marks of
    /// sessions expected of the student (others count for nothing).
    fn attend(&self, sessions: &mut Sessions, batch: &RecordBatch) -> datafusion::error::Result<bool> {
        let places = session_places(column(batch, "session_id")?, &mut sessions.met, |id| sessions.places.get(id))?;
        // Students are found by their ids' views, trying the place after the last one's
        // first: rows that come in the order the students were given their places (the
        // class lists' order, by student) are found without a hash.
        let ids = string_views(column(batch, "student_id")?)?;
        let ids = ids.as_string_view();
        let students = self.cells.students();
        let (mut last, mut next): (Option<(u128, u32)>, u32) = (None, 0);
        for (i, session) in places.into_iter().enumerate() {
            let Some(session) = session else { continue };
            if ids.is_null(i) {
                continue;
            }
            // Equal views in one array are equal ids: a student's run of rows is one lookup.
            let view = ids.views()[i];
            let student = match last {
                Some((held, place)) if held == view => Some(place),
                _ => students.get_view_from(ids, i, next),
            };
            if let Some(student) = student {
                sessions.attended[session as usize].push(student);
                (last, next) = (Some((view, student)), student + 1);
            }
        }
        Ok(true)
    }

    /// Counts each session expected of each student once: attended, or else excused when
    /// an excusing absence of theirs covers its day.
    fn count(&mut self, mut sessions: Sessions, absences: &[Vec<(i64, i64)>]) {
        let from = i64::from(self.from);
        for (s, expected) in sessions.expected.iter_mut().enumerate() {
            let session_day = sessions.days[s];
            let attended = &mut sessions.attended[s];
            // A class list names a student once, and a counted swipe marks a session once;
            // should either repeat, the session still counts once, as the query's grouping has it.
            expected.sort_unstable();
            expected.dedup();
            attended.sort_unstable();
            let day = (session_day - from) as usize;
            for &student in expected.iter() {
                let came = attended.binary_search(&student).is_ok();
                let excused =
                    !came && absences[student as usize].iter().any(|&(a, b)| a <= session_day && session_day <= b);
                let cells = self.cells.day_mut(student, day);
                cells[SESSIONS] += 1;
                cells[ATTENDED] += u32::from(came);
                cells[EXCUSED] += u32::from(excused);
            }
        }
    }

    /// The first day held (a day number) and the number of days held.
    pub fn range(&self) -> (i32, usize) {
        (self.from, self.days)
    }

    /// Each student expected at a session, with their place; [`AttendanceDays::on`] reads a day's.
    pub fn students(&self) -> impl Iterator<Item = (&str, u32)> {
        self.cells.each()
    }

    /// The sessions expected (not excused) and attended on day `day` (counted from the
    /// first held) by the student at `place`; `None` when no session was expected of them
    /// that day.
    pub fn on(&self, place: u32, day: usize) -> Option<(u32, u32)> {
        let cells = self.cells.day(place, day);
        (cells[SESSIONS] > 0).then(|| (cells[SESSIONS] - cells[EXCUSED], cells[ATTENDED]))
    }

    /// The rollup's rows as a frame to write: day by day, students in id order
    /// (`derive/daily_attendance`'s columns and order), made as they are written. The
    /// array stays with the caller (a full run's rating reads it again).
    pub fn frame(self: &Arc<Self>, ctx: &SessionContext) -> Result<DataFrame> {
        let students = self.cells.students().in_id_order();
        let ids = self.cells.students().id_column(&students);
        let rows = Rows { held: self.clone(), students, ids };
        let order = ["day", "student_id"];
        dense::day_by_day(ctx, "derive/daily_attendance", tables::DAILY_ATTENDANCE.schema(), Arc::new(rows), &order)
    }
}

/// Each row's session's place by `place` (given the session id), looked up once for each
/// view met in the batch (as far as `met`'s slots hold them); `None` for a session `place`
/// does not give one.
///
/// Equal views are equal ids (inline, or the same bytes of the same buffer), and a column
/// read through a dictionary page gives every row of one session the same view: the class
/// lists, stored by student, repeat a session's view for each of its students in a batch,
/// so most rows are found by comparing the view's 16 bytes in a slot picked by the view,
/// rather than by hashing the id's text. (Hashing every row's view into a map instead took
/// a third more of a one-day rate's loop over the year's class lists.)
fn session_places(
    ids: &ArrayRef,
    met: &mut Met,
    mut place: impl FnMut(&str) -> Option<u32>,
) -> datafusion::error::Result<Vec<Option<u32>>> {
    let ids = string_views(ids)?;
    let ids = ids.as_string_view();
    let batch = met.next_batch();
    let mut places = Vec::with_capacity(ids.len());
    for (i, &view) in ids.views().iter().enumerate() {
        if ids.is_null(i) {
            places.push(None);
            continue;
        }
        let slot = &mut met.slots[met_slot(view)];
        let found = match *slot {
            (filled, held, found) if filled == batch && held == view => found,
            _ => {
                let found = place(ids.value(i));
                *slot = (batch, view, found);
                found
            }
        };
        places.push(found);
    }
    Ok(places)
}

/// Slots of views [`session_places`] remembers per batch: a year's class lists hold about
/// 150,000 sessions, a batch's 8,192 rows a few hundred to a few thousand of them.
const MET: usize = 1 << 12;

/// The session views met while reading, by slot ([`met_slot`]): each slot holds the batch
/// it was filled in (a view means the same id only within its own array), the view and its
/// session's place. Made once for a read and kept across its batches: made afresh for each
/// batch, its 128 KiB came as new pages from the system each time.
#[derive(Debug)]
struct Met {
    /// The batch being read, counted from 1 (a slot of batch 0 was never filled).
    batch: u32,
    slots: Vec<(u32, u128, Option<u32>)>,
}

impl Default for Met {
    fn default() -> Met {
        Met { batch: 0, slots: vec![(0, 0, None); MET] }
    }
}

impl Met {
    /// The number of the next batch, whose rows find no slot filled before.
    fn next_batch(&mut self) -> u32 {
        self.batch = match self.batch.checked_add(1) {
            Some(batch) => batch,
            None => {
                self.slots.fill((0, 0, None));
                1
            }
        };
        self.batch
    }
}

/// The slot of `view` among [`MET`]: its bits mixed (a dictionary's views differ in their
/// offset, inline ones in their bytes) and the top twelve taken.
fn met_slot(view: u128) -> usize {
    let mixed = (view as u64 ^ (view >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> (64 - MET.trailing_zeros())) as usize
}

/// The rollup's rows, made a day at a time as they are written: the array and the
/// students in id order with their ids (a day's ids are taken from them by number).
#[derive(Debug)]
struct Rows {
    held: Arc<AttendanceDays>,
    students: Vec<u32>,
    ids: StringArray,
}

impl DayRows for Rows {
    fn days(&self) -> usize {
        self.held.days
    }

    fn day(&self, day: usize, schema: &SchemaRef) -> datafusion::error::Result<RecordBatch> {
        let held = &self.held;
        let mut who = Vec::new();
        let (mut expected, mut attended, mut excused) = (Vec::new(), Vec::new(), Vec::new());
        for (k, &place) in self.students.iter().enumerate() {
            let cells = held.cells.day(place, day);
            if cells[SESSIONS] > 0 {
                who.push(k as u32);
                expected.push(i64::from(cells[SESSIONS] - cells[EXCUSED]));
                attended.push(i64::from(cells[ATTENDED]));
                excused.push(i64::from(cells[EXCUSED]));
            }
        }
        let rows = expected.len();
        let columns: Vec<ArrayRef> = vec![
            take(&self.ids, &UInt32Array::from(who), None)?,
            Arc::new(Date32Array::from(vec![held.from + day as i32; rows])),
            Arc::new(Int64Array::from(expected)),
            Arc::new(Int64Array::from(attended)),
            Arc::new(Int64Array::from(excused)),
        ];
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn texts(values: Vec<Option<String>>) -> ArrayRef {
        Arc::new(StringArray::from(values))
    }

    fn dates(values: Vec<Option<i32>>) -> ArrayRef {
        Arc::new(Date32Array::from(values))
    }

    fn register(ctx: &SessionContext, name: &str, columns: Vec<(&str, ArrayRef)>) {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        crate::engine::session::register_batches(ctx, name, batch.schema(), vec![batch]).unwrap();
    }

    /// Random students (some inactive, some distance learners, some without a mode),
    /// sessions on days in and around the range, class lists naming some students twice
    /// and some unknown students and sessions, attendance on the session's day or a day
    /// off, and absences of excusing and other kinds, some open-ended; sessions fall on
    /// days 95 to 129.
    pub(crate) fn university(seed: u64) -> SessionContext {
        let ctx = SessionContext::new();
        university_into(&ctx, seed);
        ctx
    }

    /// [`university`]'s tables, registered in `ctx`.
    pub(crate) fn university_into(ctx: &SessionContext, seed: u64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let id = |i: usize| Some(format!("S{i:03}"));
        let (students, sessions) = (80, 120);
        let statuses = ["active", "active", "active", "withdrawn"];
        let modes = [Some("full-time"), Some("part-time"), Some("distance"), None];
        register(
            ctx,
            "students",
            vec![
                ("student_id", texts((0..students).map(id).collect())),
                ("status", texts((0..students).map(|_| Some(statuses[rng.random_range(0..4)].into())).collect())),
                ("mode", texts((0..students).map(|_| modes[rng.random_range(0..4)].map(Into::into)).collect())),
            ],
        );
        let days: Vec<i32> = (0..sessions).map(|_| rng.random_range(95..130)).collect();
        register(
            ctx,
            "sessions",
            vec![
                ("session_id", texts((0..sessions).map(|s| Some(format!("X{s}"))).collect())),
                ("day", dates(days.iter().map(|d| Some(*d)).collect())),
            ],
        );
        let (mut lists, mut members) = (vec![], vec![]);
        for _ in 0..3_000 {
            lists.push(Some(format!("X{}", rng.random_range(0..sessions + 5))));
            members.push(id(rng.random_range(0..students + 5)));
        }
        register(
            ctx,
            "class_lists",
            vec![("session_id", texts(lists.clone())), ("student_id", texts(members.clone()))],
        );
        let (mut present, mut at, mut on) = (vec![], vec![], vec![]);
        for i in 0..2_000 {
            // Half the marks are of a listed student, the rest of anyone.
            let (session, student) = if i % 2 == 0 {
                let k = rng.random_range(0..lists.len());
                (lists[k].clone(), members[k].clone())
            } else {
                (Some(format!("X{}", rng.random_range(0..sessions))), id(rng.random_range(0..students)))
            };
            let s: usize = session.as_deref().unwrap()[1..].parse().unwrap();
            let day = days.get(s).copied().unwrap_or(100) + rng.random_range(-2..=2);
            present.push(student);
            at.push(session);
            on.push(Some(day));
        }
        register(
            ctx,
            "attendance",
            vec![("student_id", texts(present)), ("session_id", texts(at)), ("day", dates(on))],
        );
        let kinds = ["authorised", "sickness", "unauthorised"];
        let (mut who, mut starts, mut ends, mut kind) = (vec![], vec![], vec![], vec![]);
        for _ in 0..60 {
            let start = rng.random_range(90..130);
            who.push(id(rng.random_range(0..students)));
            starts.push(Some(start));
            ends.push(if rng.random_bool(0.1) { None } else { Some(start + rng.random_range(0..6)) });
            kind.push(Some(kinds[rng.random_range(0..3)].to_string()));
        }
        register(
            ctx,
            "absences",
            vec![
                ("student_id", texts(who)),
                ("starts_on", dates(starts)),
                ("ends_on", dates(ends)),
                ("kind", texts(kind)),
            ],
        );
    }

    /// Each row's session is found by its view's slot as by its id, whether the views are
    /// inline, share a dictionary's bytes or hold their own, with more views than slots
    /// (each met again after others took its slot) and nulls among them.
    #[test]
    fn sessions_found_by_their_views_are_the_sessions_of_their_ids() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let known: Places = {
            let mut places = Places::default();
            for s in (0..3 * MET).step_by(2) {
                places.get_or_add(&format!("SESSION-{s:06}-LONG"));
            }
            places.get_or_add("X1");
            places
        };
        let values: Vec<String> = (0..3 * MET).map(|s| format!("SESSION-{s:06}-LONG")).chain(["X1".into()]).collect();
        let keys: Vec<Option<u32>> = (0..40_000)
            .map(|_| match rng.random_range(0..20) {
                0 => None,
                1 => Some(values.len() as u32 - 1),
                _ => Some(rng.random_range(0..3 * MET) as u32),
            })
            .collect();
        let ids: Vec<Option<String>> = keys.iter().map(|k| k.map(|k| values[k as usize].clone())).collect();
        let expected: Vec<Option<u32>> = ids.iter().map(|id| id.as_deref().and_then(|id| known.get(id))).collect();
        let own = Arc::new(arrow::array::StringViewArray::from(ids.clone())) as ArrayRef;
        // Read through a dictionary, the rows of one value share a view.
        let dictionary = arrow::array::DictionaryArray::new(
            arrow::array::UInt32Array::from(keys),
            Arc::new(StringArray::from(values)),
        );
        let shared = arrow::compute::cast(&dictionary, &arrow::datatypes::DataType::Utf8View).unwrap();
        let views: std::collections::HashSet<u128> = shared.as_string_view().views().iter().copied().collect();
        assert!(views.len() < 3 * MET + 2, "{}", views.len());
        // One set of slots for every column, as a read keeps them across its batches.
        let mut met = Met::default();
        for column in [own, shared.clone(), texts(ids), shared] {
            assert_eq!(session_places(&column, &mut met, |id| known.get(id)).unwrap(), expected);
        }
        assert!(expected.iter().flatten().count() > 15_000);
    }

    async fn text(df: DataFrame) -> String {
        let batches = df.collect().await.unwrap();
        arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
    }

    /// The dense count gives `derive/daily_attendance`'s rows, in its order.
    #[tokio::test]
    async fn the_dense_rollup_is_the_grouped_query_row_for_row() {
        let excusing = "authorised,sickness";
        for seed in [1, 2, 3] {
            let ctx = university(seed);
            let (lo, hi) = (100, 120);
            let params = [("lo", date(lo)), ("hi", date(hi)), ("excusing", ScalarValue::from(excusing))];
            let grouped = queries::plan(&ctx, "derive/daily_attendance", &params).await.unwrap();
            let grouped = grouped.collect().await.unwrap();
            let excused: i64 = grouped.iter().map(|b| int64(b, "excused").unwrap().iter().flatten().sum::<i64>()).sum();
            let attended: i64 =
                grouped.iter().map(|b| int64(b, "attended").unwrap().iter().flatten().sum::<i64>()).sum();
            assert!(excused > 5 && attended > 100, "excused {excused}, attended {attended}");
            let grouped = arrow::util::pretty::pretty_format_batches(&grouped).unwrap().to_string();
            let dense = AttendanceDays::read(&ctx, (lo, hi), excusing, 1 << 20).await.unwrap().unwrap();
            let dense = Arc::new(dense);
            let plan = dense.frame(&ctx).unwrap().create_physical_plan().await.unwrap();
            let shown = datafusion::physical_plan::displayable(plan.as_ref()).indent(true).to_string();
            assert!(!shown.contains("Sort") && !shown.contains("Repartition"), "{shown}");
            let dense = text(dense.frame(&ctx).unwrap()).await;
            assert!(grouped.lines().count() > 200, "{}", grouped.lines().count());
            assert_eq!(dense, grouped, "seed {seed}");
        }
    }

    /// An array past the budget leaves the rollup to the query.
    #[tokio::test]
    async fn what_does_not_fit_is_left_to_the_query() {
        let ctx = university(4);
        let block = dense::BLOCK * 21 * CELLS * size_of::<u32>();
        assert!(AttendanceDays::read(&ctx, (100, 120), "authorised", block - 1).await.unwrap().is_none());
        assert!(AttendanceDays::read(&ctx, (100, 120), "authorised", block).await.unwrap().is_some());
    }
}
