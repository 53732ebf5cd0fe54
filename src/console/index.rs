//! The console's index of students: what a list or a student's page shows about every
//! student that would otherwise be read from the year's day-ordered tables on each page
//! (a student's ratings are spread over every file of `ratings`, their attendance over
//! every file of `swipe_outcomes`). It is read once for each state of the tables it comes
//! from and kept in memory, keyed by student: each student's record, their rating on
//! every rated day with the figures of their first page of ratings (the newest
//! [`RATINGS_PER_PAGE`] days), their attendance by module, and the students of each tutor
//! and department. Pages then find a student in constant time; a later page of ratings
//! reads the table's files of its days only.
//!
//! Built when the console starts and again once one of its tables has a new commit (a
//! daily `rate`, a student list ingested); requests wait for a build under way rather than
//! read half of one. At 30,000 students and a year rated it holds about 4 million (day,
//! rating) pairs and 1.5 million days with their figures (56 bytes each).

use std::collections::{BTreeMap, HashMap};

use arrow::array::Array;
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use serde::Serialize;

use crate::config::RATINGS;
use crate::domain::time::{date_to_days, days_to_date};
use crate::engine::cells;
use crate::error::{Error, Result};
use crate::queries;

/// The tables the index is read from: a commit to any of them builds it again.
pub(super) const TABLES: &[&str] = &["students", "ratings", "class_lists", "sessions", "swipe_outcomes"];

/// Every student the console can show, by student id.
pub(super) struct Index {
    students: HashMap<String, Student>,
    /// Student ids by personal tutor and by department, for the lists of tutees and of a
    /// department (a list never walks every student).
    by_tutor: HashMap<String, Vec<String>>,
    by_department: HashMap<String, Vec<String>>,
    /// The latest day rated, for anyone (days since 1970).
    latest_day: Option<i32>,
}

/// Rated days on a page of a student's ratings.
pub(super) const RATINGS_PER_PAGE: usize = 50;

/// How far before the latest day rated the index holds ratings with their figures: a
/// student whose first page of ratings reaches further back has it read from the table.
const RECENT_DAYS: i32 = 120;

/// The count columns of a rated day a page prints, in [`Rated::counts`] order.
const COUNTS: [&str; 10] = [
    "window_days",
    "expected",
    "attended",
    "vle",
    "lecture_capture",
    "library",
    "pc_login",
    "online_meeting",
    "submission",
    "records_login",
];

/// A count [`Rated`] holds as null.
const NO_COUNT: u32 = u32::MAX;

/// One rated day with the figures a student's page prints (56 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rated {
    day: i32,
    band: u8,
    /// The score in hundredths, as the page prints it (two places).
    score: Option<i32>,
    /// The columns of [`COUNTS`]; [`NO_COUNT`] for null.
    counts: [u32; 10],
}

impl Rated {
    /// The row as `console/student_ratings` gives it, as display text.
    pub fn row(&self) -> BTreeMap<String, String> {
        let mut row = BTreeMap::from([
            ("day".to_string(), days_to_date(self.day).to_string()),
            ("rating".to_string(), RATINGS[self.band as usize].to_string()),
            ("score".to_string(), self.score.map(hundredths).unwrap_or_default()),
        ]);
        for (name, count) in COUNTS.iter().zip(self.counts) {
            row.insert(name.to_string(), if count == NO_COUNT { String::new() } else { count.to_string() });
        }
        row
    }
}

/// A score to two places, in hundredths, as display text ("0.82", "-0.05").
fn hundredths(value: i32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", value.unsigned_abs() / 100, value.unsigned_abs() % 100)
}

/// A score as the page prints it (two places, as `format!("{:.2}")` rounds), in hundredths.
fn score_hundredths(value: f64) -> Option<i32> {
    let shown = format!("{value:.2}");
    let negative = shown.starts_with('-');
    let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
    let n: i32 = digits.parse().ok()?;
    Some(if negative { -n } else { n })
}

/// One student as the console shows them.
pub(super) struct Student {
    /// Display text by column, as `console/index_students` gives it.
    pub record: BTreeMap<String, String>,
    /// (day, rating's position in [`RATINGS`]) of every rated day, oldest first.
    pub ratings: Vec<(i32, u8)>,
    /// The newest rated days with their figures (at most [`RATINGS_PER_PAGE`]), oldest first.
    recent: Vec<Rated>,
    /// In-person attendance by module, by module code.
    pub modules: Vec<Module>,
}

/// Sessions timetabled in one module up to the latest day rated, and attended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Module {
    pub module_code: String,
    pub timetabled: i64,
    pub attended: i64,
    /// Attended as a whole per cent of timetabled, rounded half away from zero.
    pub percent: i64,
}

/// Who a member of staff may see: (staff id, the department they lead or empty, everyone).
pub(super) type Scope = (String, String, bool);

impl Student {
    fn field(&self, name: &str) -> &str {
        self.record.get(name).map(String::as_str).unwrap_or("")
    }

    /// Whether a member of staff with `scope` may open this student's page: their tutee, in
    /// the department they lead, or anyone for the progress team.
    pub fn in_scope(&self, scope: &Scope) -> bool {
        let (staff_id, department, everyone) = scope;
        *everyone
            || self.field("personal_tutor") == staff_id
            || (!department.is_empty() && self.field("department") == department)
    }

    /// The rating on the latest rated day on or after `since`, with that day.
    pub fn rating_since(&self, since: i32) -> Option<(i32, &'static str)> {
        self.ratings.last().filter(|(day, _)| *day >= since).map(|(day, band)| (*day, RATINGS[*band as usize]))
    }

    /// The first page of ratings, newest first, when the index holds it whole (it does for
    /// every student whose first page is within [`RECENT_DAYS`] of the latest day rated).
    pub fn first_page(&self) -> Option<impl Iterator<Item = &Rated>> {
        let page = &self.ratings[self.ratings.len() - self.ratings.len().min(RATINGS_PER_PAGE)..];
        let whole = self.recent.len() == page.len() && self.recent.iter().zip(page).all(|(r, (day, _))| r.day == *day);
        whole.then(|| self.recent.iter().rev())
    }

    /// The rated days, newest first.
    pub fn days_newest_first(&self) -> impl Iterator<Item = i32> + '_ {
        self.ratings.iter().rev().map(|(day, _)| *day)
    }

    /// The rating over time as a chart (empty when never rated).
    pub fn chart(&self) -> String {
        let points: Vec<(String, usize)> =
            self.ratings.iter().map(|(day, band)| (days_to_date(*day).to_string(), *band as usize)).collect();
        crate::report::rating_chart::svg(&points)
    }
}

impl Index {
    /// One student, if there is one with this id.
    pub fn student(&self, student_id: &str) -> Option<&Student> {
        self.students.get(student_id)
    }

    /// The latest day rated for anyone.
    pub fn latest_day(&self) -> Option<i32> {
        self.latest_day
    }

    /// The students in `scope`, each with their rating of the latest rated day on or after
    /// `since`: lowest rating first (not rated last), then by student id.
    pub fn in_scope(&self, scope: &Scope, since: i32) -> Vec<(&Student, Option<(i32, &'static str)>)> {
        let (staff_id, department, everyone) = scope;
        let students: Vec<&Student> = if *everyone {
            self.students.values().collect()
        } else {
            let mut ids: Vec<&String> = self.by_tutor.get(staff_id).into_iter().flatten().collect();
            if !department.is_empty() {
                ids.extend(self.by_department.get(department).into_iter().flatten());
            }
            ids.sort_unstable();
            ids.dedup();
            ids.into_iter().filter_map(|id| self.students.get(id)).collect()
        };
        let mut found: Vec<_> = students.into_iter().map(|s| (s, s.rating_since(since))).collect();
        let rank = |rating: &Option<(i32, &str)>| {
            rating.and_then(|(_, r)| RATINGS.iter().position(|b| *b == r)).unwrap_or(RATINGS.len())
        };
        found.sort_by(|a, b| {
            rank(&a.1).cmp(&rank(&b.1)).then_with(|| a.0.field("student_id").cmp(b.0.field("student_id")))
        });
        found
    }

    /// Reads the index from the tables of `ctx`; attendance by module counts sessions up to
    /// the latest day rated (up to `today` before any rating).
    pub async fn build(ctx: &SessionContext, today: NaiveDate) -> Result<Index> {
        let mut students = HashMap::new();
        for record in super::pages::rows(&queries::collect(ctx, "console/index_students", &[]).await?) {
            let id = record.get("student_id").cloned().unwrap_or_default();
            students.insert(id, Student { record, ratings: Vec::new(), recent: Vec::new(), modules: Vec::new() });
        }

        let mut latest_day = None;
        let mut stream = queries::plan(ctx, "console/index_ratings", &[])
            .await?
            .execute_stream()
            .await
            .map_err(|e| Error::query("console/index_ratings", e))?;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| Error::query("console/index_ratings", e))?;
            let (ids, days, ratings) =
                (cells::texts(&batch, "student_id")?, cells::days(&batch, "day")?, cells::texts(&batch, "rating")?);
            for row in 0..batch.num_rows() {
                if ids.is_null(row) || days.is_null(row) || ratings.is_null(row) {
                    continue;
                }
                let Some(band) = RATINGS.iter().position(|b| *b == ratings.value(row)) else { continue };
                let day = days.value(row);
                latest_day = latest_day.max(Some(day));
                if let Some(student) = students.get_mut(ids.value(row)) {
                    student.ratings.push((day, band as u8));
                }
            }
        }
        for student in students.values_mut() {
            student.ratings.sort_unstable();
            student.ratings.shrink_to_fit();
        }
        if let Some(latest) = latest_day {
            read_recent(ctx, &mut students, latest).await?;
        }

        let until = latest_day.unwrap_or_else(|| date_to_days(today));
        let params = [("until", cells::date(until))];
        for batch in queries::collect(ctx, "console/index_modules", &params).await? {
            let (ids, codes) = (cells::texts(&batch, "student_id")?, cells::texts(&batch, "module_code")?);
            let (timetabled, attended) = (cells::ints(&batch, "timetabled")?, cells::ints(&batch, "attended")?);
            for row in 0..batch.num_rows() {
                if let Some(student) = students.get_mut(ids.value(row)) {
                    let (t, a) = (timetabled.value(row), attended.value(row));
                    student.modules.push(Module {
                        module_code: codes.value(row).to_string(),
                        timetabled: t,
                        attended: a,
                        percent: if t == 0 { 0 } else { (100.0 * a as f64 / t as f64).round() as i64 },
                    });
                }
            }
        }
        for student in students.values_mut() {
            student.modules.sort_by(|a, b| a.module_code.cmp(&b.module_code));
        }
        let (mut by_tutor, mut by_department): (HashMap<String, Vec<String>>, HashMap<String, Vec<String>>) =
            (HashMap::new(), HashMap::new());
        for (id, student) in &students {
            for (key, map) in [("personal_tutor", &mut by_tutor), ("department", &mut by_department)] {
                let value = student.field(key);
                if !value.is_empty() {
                    map.entry(value.to_string()).or_default().push(id.clone());
                }
            }
        }
        Ok(Index { students, by_tutor, by_department, latest_day })
    }
}

/// Reads the figures of each student's first page of ratings: from the oldest day on any
/// student's first page, but no further back than [`RECENT_DAYS`] before `latest`.
async fn read_recent(ctx: &SessionContext, students: &mut HashMap<String, Student>, latest: i32) -> Result<()> {
    let first_page_from = |s: &Student| s.ratings.len().checked_sub(RATINGS_PER_PAGE.min(s.ratings.len()));
    let since = students
        .values()
        .filter_map(|s| first_page_from(s).and_then(|i| s.ratings.get(i)).map(|(day, _)| *day))
        .min()
        .unwrap_or(latest)
        .max(latest - RECENT_DAYS);
    let query = "console/index_recent_ratings";
    let mut stream = queries::plan(ctx, query, &[("since", cells::date(since))])
        .await?
        .execute_stream()
        .await
        .map_err(|e| Error::query(query, e))?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| Error::query(query, e))?;
        let (ids, days, ratings) =
            (cells::texts(&batch, "student_id")?, cells::days(&batch, "day")?, cells::texts(&batch, "rating")?);
        let scores = cells::floats(&batch, "score")?;
        let counts = COUNTS.iter().map(|c| cells::ints(&batch, c)).collect::<Result<Vec<_>>>()?;
        for row in 0..batch.num_rows() {
            if ids.is_null(row) || days.is_null(row) || ratings.is_null(row) {
                continue;
            }
            let Some(student) = students.get_mut(ids.value(row)) else { continue };
            let Some(band) = RATINGS.iter().position(|b| *b == ratings.value(row)) else { continue };
            let mut rated = Rated { day: days.value(row), band: band as u8, score: None, counts: [NO_COUNT; 10] };
            if scores.is_valid(row) {
                // Held only where it prints back the same ("-0.00", NaN: left to the table).
                let value = scores.value(row);
                match score_hundredths(value).filter(|h| hundredths(*h) == format!("{value:.2}")) {
                    Some(h) => rated.score = Some(h),
                    None => rated.day = i32::MIN,
                }
            }
            for (held, column) in rated.counts.iter_mut().zip(&counts) {
                if column.is_valid(row) {
                    // A count beyond what the index holds leaves the page to the table.
                    match u32::try_from(column.value(row)).ok().filter(|c| *c != NO_COUNT) {
                        Some(c) => *held = c,
                        None => rated.day = i32::MIN,
                    }
                }
            }
            student.recent.push(rated);
        }
    }
    for student in students.values_mut() {
        student.recent.sort_unstable_by_key(|r| r.day);
        // Only the first page's days. A day with an unheld count (day MIN) sorts first: cut
        // off, it leaves a day of the page missing, which sends the page to the table.
        let keep = student.ratings.len().min(RATINGS_PER_PAGE);
        let cut = student.recent.len().saturating_sub(keep);
        student.recent.drain(..cut);
        student.recent.shrink_to_fit();
    }
    Ok(())
}

/// The parameters of a page of one student's ratings: the days from the oldest to the
/// newest on page `page` (from 1) of `per_page` days, newest first; `None` past the end.
pub(super) fn ratings_page(
    student: &Student,
    page: usize,
    per_page: usize,
) -> Option<[(&'static str, ScalarValue); 2]> {
    let days: Vec<i32> = student.days_newest_first().skip((page - 1) * per_page).take(per_page).collect();
    let (newest, oldest) = (days.first()?, days.last()?);
    Some([("from", cells::date(*oldest)), ("to", cells::date(*newest))])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    /// Ratings rows: (student, day, rating, score, counts: window, expected, attended, then
    /// the seven signals; `None` for null).
    type Row = (&'static str, i32, &'static str, Option<f64>, [Option<i64>; 10]);

    fn ratings_table(rows: &[Row]) -> SessionContext {
        let mut fields = vec![
            Field::new("student_id", DataType::Utf8, false),
            Field::new("day", DataType::Date32, false),
            Field::new("rating", DataType::Utf8, false),
            Field::new("score", DataType::Float64, true),
            Field::new("attendance_rate", DataType::Float64, true),
        ];
        fields.extend(COUNTS.iter().map(|c| Field::new(*c, DataType::Int64, true)));
        let schema = Arc::new(Schema::new(fields));
        let mut columns: Vec<arrow::array::ArrayRef> = vec![
            Arc::new(rows.iter().map(|r| Some(r.0)).collect::<StringArray>()),
            Arc::new(rows.iter().map(|r| Some(r.1)).collect::<Date32Array>()),
            Arc::new(rows.iter().map(|r| Some(r.2)).collect::<StringArray>()),
            Arc::new(rows.iter().map(|r| r.3).collect::<Float64Array>()),
            Arc::new(rows.iter().map(|_| None::<f64>).collect::<Float64Array>()),
        ];
        for c in 0..COUNTS.len() {
            columns.push(Arc::new(rows.iter().map(|r| r.4[c]).collect::<Int64Array>()));
        }
        let ctx = SessionContext::new();
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        crate::engine::session::register_batches(&ctx, "ratings", schema, vec![batch]).unwrap();
        ctx
    }

    fn student(ratings: &[Row]) -> Student {
        let band = |r: &str| RATINGS.iter().position(|b| *b == r).unwrap() as u8;
        Student {
            record: BTreeMap::new(),
            ratings: ratings.iter().map(|r| (r.1, band(r.2))).collect(),
            recent: Vec::new(),
            modules: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_first_page_held_in_memory_prints_as_the_table_does_and_a_far_one_is_left_to_the_table() {
        let latest = 20_600;
        let counts =
            |n: i64| [Some(28), Some(10), Some(n), Some(n * 3), Some(0), Some(1), None, Some(2), Some(0), Some(4)];
        let band = |d: i32| RATINGS[(d % RATINGS.len() as i32) as usize];
        // Rated every day for 60 days: the first page is the newest 50.
        let mut a: Vec<Row> =
            (0..60).map(|i| ("A", latest - 59 + i, band(i), Some(0.01 * f64::from(i)), counts(i64::from(i)))).collect();
        // Scores on the edge of two places, a null score and null counts.
        let scores = [Some(0.125), Some(0.8200000000000001), Some(-0.05), Some(0.675), None, Some(1.0)];
        // A score printed "-0.00" is left to the table.
        let d: Vec<Row> = vec![("D", latest, "Low", Some(-0.004), counts(1))];
        let b: Vec<Row> = scores
            .iter()
            .enumerate()
            .map(|(i, s)| ("B", latest - 10 + i as i32, "Low", *s, if i == 4 { [None; 10] } else { counts(7) }))
            .collect();
        // Rated long ago and on the latest day: its first page reaches past what is held.
        let c: Vec<Row> =
            vec![("C", latest - 200, "High", Some(0.9), counts(1)), ("C", latest, "High", Some(0.9), counts(1))];
        a.sort_by_key(|r| std::cmp::Reverse(r.1));
        let all: Vec<Row> = a.iter().chain(&b).chain(&c).chain(&d).cloned().collect();
        let ctx = ratings_table(&all);
        let mut students: HashMap<String, Student> = [("A", &a), ("B", &b), ("C", &c), ("D", &d)]
            .into_iter()
            .map(|(id, rows)| (id.to_string(), student(rows)))
            .collect();
        for s in students.values_mut() {
            s.ratings.sort_unstable();
        }
        read_recent(&ctx, &mut students, latest).await.unwrap();

        for id in ["A", "B"] {
            let found = &students[id];
            let held: Vec<BTreeMap<String, String>> = found.first_page().expect("held").map(Rated::row).collect();
            let [from, to] = ratings_page(found, 1, RATINGS_PER_PAGE).unwrap();
            let params = [("student_id", ScalarValue::from(id)), from, to];
            let table =
                crate::console::pages::rows(&queries::collect(&ctx, "console/student_ratings", &params).await.unwrap());
            assert_eq!(held.len(), if id == "A" { 50 } else { 6 });
            assert_eq!(held.len(), table.len());
            for (h, t) in held.iter().zip(&table) {
                for (key, value) in h {
                    assert_eq!(Some(value), t.get(key), "{id} {key} on {}", h["day"]);
                }
            }
        }
        assert_eq!(
            students["B"].first_page().unwrap().map(|r| r.row()["score"].clone()).collect::<Vec<_>>(),
            ["1.00", "", "0.68", "-0.05", "0.82", "0.12"]
        );
        assert!(students["C"].first_page().is_none(), "read from the table");
        assert!(students["D"].first_page().is_none(), "read from the table");
        assert_eq!(students["A"].recent.len(), RATINGS_PER_PAGE);
    }
}
