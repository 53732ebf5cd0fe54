//! The console's index of students: what a list or a student's page shows about every
//! student that would otherwise be read from the year's day-ordered tables on each page
//! (a student's ratings are spread over every file of `ratings`, their attendance over
//! every file of `swipe_outcomes`). It is read once for each state of the tables it comes
//! from and kept in memory, keyed by student: each student's record, their rating on
//! every rated day, and their attendance by module. Pages then find a student in constant
//! time and read the tables only for the rows they print (a page of ratings: the files of
//! those days only).
//!
//! Built when the console starts and again on the first request after one of its tables
//! has a new commit (a daily `rate`, a student list ingested); requests wait for a build
//! under way rather than read half of one. At 30,000 students and a year rated it holds
//! about 4 million (day, rating) pairs: some 40 MB.

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
    /// The latest day rated, for anyone (days since 1970).
    latest_day: Option<i32>,
}

/// One student as the console shows them.
pub(super) struct Student {
    /// Display text by column, as `console/index_students` gives it.
    pub record: BTreeMap<String, String>,
    /// (day, rating's position in [`RATINGS`]) of every rated day, oldest first.
    pub ratings: Vec<(i32, u8)>,
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
        let mut found: Vec<_> =
            self.students.values().filter(|s| s.in_scope(scope)).map(|s| (s, s.rating_since(since))).collect();
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
            students.insert(id, Student { record, ratings: Vec::new(), modules: Vec::new() });
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
        Ok(Index { students, latest_day })
    }
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
