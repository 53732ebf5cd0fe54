//! `rollcall review`: the escalation ladder, as data from `rollcall.toml`, turned into
//! cases for staff.
//!
//! The ladder's rungs become a small table (`rungs`) that the review queries join
//! against, so a preset is only data. Every action raised is recorded in `cases` once per
//! student, action and episode; staff record outcomes with `rollcall case record`. Lists
//! are recommendations: no job changes a student's status.

pub mod decisions;
pub mod mail;
pub mod procedure;

use std::sync::Arc;

use arrow::array::{Date32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use datafusion::dataframe::DataFrame;
use datafusion::scalar::ScalarValue;

use crate::config::{RATINGS, Rung};
use crate::domain::terms::Outcome;
use crate::domain::time::date_to_days;
use crate::domain::year::AcademicYear;
use crate::engine::cells::{self, date, utc};
use crate::engine::job::Job;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
use crate::rating::{self, RateReport};
use crate::warehouse::Warehouse;
use crate::warehouse::row::{self, Cell, Row};
use crate::warehouse::tables::{self, TableDef};

/// What a review run did.
pub struct ReviewOutcome {
    /// The rating run it started with.
    pub rate: RateReport,
    /// Cases raised now.
    pub raised: u64,
    /// Open cases moved to their next step because the student is still rated low.
    pub escalated: u64,
    /// The review list (open cases), ready to print.
    pub list: DataFrame,
}

fn rungs_batch(rungs: &[Rung], year: AcademicYear) -> Result<RecordBatch> {
    let text = |f: &dyn Fn(&Rung) -> Option<String>| Arc::new(rungs.iter().map(f).collect::<StringArray>());
    let int = |f: &dyn Fn(&Rung) -> Option<i64>| Arc::new(rungs.iter().map(f).collect::<Int64Array>());
    let day = |f: &dyn Fn(&Rung) -> Option<i32>| Arc::new(rungs.iter().map(f).collect::<Date32Array>());
    let schema = Schema::new(vec![
        Field::new("rung", DataType::Int64, false),
        Field::new("action", DataType::Utf8, false),
        Field::new("trigger", DataType::Utf8, false),
        Field::new("ratings", DataType::Utf8, true),
        Field::new("term", DataType::Utf8, true),
        Field::new("week_from", DataType::Int64, true),
        Field::new("week_to", DataType::Int64, true),
        Field::new("from_date", DataType::Date32, true),
        Field::new("to_date", DataType::Date32, true),
        Field::new("requires", DataType::Utf8, true),
        Field::new("every_weeks", DataType::Int64, true),
        Field::new("weeks", DataType::Int64, true),
        Field::new("days", DataType::Int64, true),
        Field::new("limit_outcome", DataType::Utf8, true),
        Field::new("limit_per_year", DataType::Int64, true),
        Field::new("beyond_limit_action", DataType::Utf8, true),
        Field::new("outcome", DataType::Utf8, true),
        Field::new("on_action", DataType::Utf8, true),
        Field::new("levels", DataType::Utf8, true),
        Field::new("stages", DataType::Utf8, true),
        Field::new("modes", DataType::Utf8, true),
        Field::new("departments", DataType::Utf8, true),
        Field::new("programmes", DataType::Utf8, true),
    ]);
    // A cohort as one text for `string_to_array(.., '|')`; none (any student) when empty.
    let cohort = |values: Vec<String>| {
        (!values.is_empty()).then(|| values.join(&crate::config::review::COHORT_SEPARATOR.to_string()))
    };
    debug_assert!(rungs.iter().all(|r| r.ratings.iter().all(|x| RATINGS.contains(&x.as_str()))));
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new((1..=rungs.len() as i64).collect::<Int64Array>()),
            text(&|r| Some(r.action.clone())),
            text(&|r| Some(r.trigger.to_string())),
            text(&|r| Some(r.ratings.join(","))),
            text(&|r| r.term.clone()),
            int(&|r| r.term_weeks.map(|w| i64::from(w[0]))),
            int(&|r| r.term_weeks.map(|w| i64::from(w[1]))),
            day(&|r| r.on_or_after.and_then(|d| year.day(d))),
            day(&|r| r.on_or_before.and_then(|d| year.day(d))),
            text(&|r| r.requires.clone()),
            int(&|r| Some(i64::from(r.every_weeks))),
            int(&|r| Some(i64::from(r.weeks))),
            int(&|r| Some(i64::from(r.days))),
            text(&|r| r.limit_outcome.map(String::from)),
            int(&|r| Some(i64::from(r.limit_per_year))),
            text(&|r| r.beyond_limit_action.clone()),
            text(&|r| r.outcome.map(String::from)),
            text(&|r| r.on_action.clone()),
            text(&|r| cohort(r.levels.iter().map(u32::to_string).collect())),
            text(&|r| cohort(r.stages.iter().map(u32::to_string).collect())),
            text(&|r| cohort(r.modes.clone())),
            text(&|r| cohort(r.departments.clone())),
            text(&|r| cohort(r.programmes.clone())),
        ],
    )?)
}

/// Rates up to `as_of`, raises the actions the ladder calls for (once each), and returns
/// the list of open cases. With `dry_run`, nothing is recorded.
pub async fn review(warehouse: &Warehouse, as_of: NaiveDate, dry_run: bool) -> Result<ReviewOutcome> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let ctx = &job.ctx;
    let rate = rating::rate_locked(warehouse, ctx, as_of, rating::Recompute::Changed).await?;
    let year = AcademicYear::of(as_of);
    let rungs = rungs_batch(&warehouse.config().review.rungs, year)?;
    session::register_batches(ctx, "rungs", rungs.schema(), vec![rungs])?;

    let day = date(date_to_days(as_of));
    let base = [("as_of", day.clone()), ("year", ScalarValue::from(year.to_string()))];
    let mut candidates = Vec::new();
    for query in ["review/rating_rungs", "review/weeks_rungs", "review/outcome_rungs"] {
        candidates.extend(queries::collect(ctx, query, &base).await?);
    }
    let low = [base[0].clone(), base[1].clone(), ("year_start", date(date_to_days(year.first_day())))];
    candidates.extend(queries::collect(ctx, "review/low_days_rungs", &low).await?);
    let candidates = normalise(candidates)?;
    session::register_batches(ctx, "candidates", candidates_schema(), candidates)?;

    let next = queries::collect(ctx, "review/case_numbers", &[]).await?;
    let next = cells::int_at(&next, "next")?.unwrap_or(1);
    let params = [
        base[0].clone(),
        base[1].clone(),
        ("first_number", ScalarValue::Int64(Some(next))),
        ("created_at", utc(warehouse.clock().now_micros())),
    ];
    let fresh = queries::collect(ctx, "review/new_cases", &params).await?;
    let raised: u64 = fresh.iter().map(|b| b.num_rows() as u64).sum();
    if raised > 0 && !dry_run {
        warehouse.append(&tables::CASES, fresh.clone(), "review").await?;
        session::register(ctx, warehouse, &tables::CASES).await?;
    } else if raised > 0 {
        // A dry run shows what would be raised as if it had been.
        let schema = tables::CASES.schema();
        let held = ctx
            .table("cases")
            .await
            .map_err(|e| Error::query("cases", e))?
            .collect()
            .await
            .map_err(|e| Error::query("cases", e))?;
        let mut all = held;
        all.extend(fresh);
        session::register_batches(ctx, "cases", schema, cast_all(all, &tables::CASES.schema())?)?;
    }
    let escalated = procedure::escalate_still_low(warehouse, ctx, as_of, dry_run).await?;
    if escalated > 0 && !dry_run {
        session::register(ctx, warehouse, &tables::CASE_DECISIONS).await?;
    }
    let list = queries::plan(ctx, "review/open_cases", &[("as_of", day)]).await?;
    Ok(ReviewOutcome { rate, raised, escalated, list })
}

fn candidates_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("student_id", DataType::Utf8, true),
        Field::new("rung", DataType::Int64, true),
        Field::new("action", DataType::Utf8, true),
        Field::new("episode", DataType::Utf8, true),
        Field::new("rating", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, true),
    ]))
}

/// Casts the three queries' results to one schema (their string types may differ).
fn normalise(batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    cast_all(batches, &candidates_schema())
}

fn cast_all(batches: Vec<RecordBatch>, schema: &Arc<Schema>) -> Result<Vec<RecordBatch>> {
    batches
        .into_iter()
        .map(|b| {
            let columns = schema
                .fields()
                .iter()
                .map(|f| match b.column_by_name(f.name()) {
                    Some(column) => Ok(arrow::compute::cast(column, f.data_type())?),
                    None => Err(Error::Internal(format!("a case query result has no column '{}'", f.name()))),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(RecordBatch::try_new(schema.clone(), columns)?)
        })
        .collect()
}

/// Records a staff outcome on a case.
pub async fn record_outcome(
    warehouse: &Warehouse,
    case_id: &str,
    outcome: Outcome,
    on: NaiveDate,
    note: Option<&str>,
) -> Result<()> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let ctx = &job.ctx;
    let found = queries::collect(ctx, "review/case_lookup", &[("case_id", ScalarValue::from(case_id))]).await?;
    let student = cells::string_at(&found, "student_id")?
        .ok_or_else(|| Error::Usage(format!("no case {case_id}; `rollcall case list` shows them")))?;
    let year = cells::string_at(&found, "academic_year")?.unwrap_or_default();
    let event = CaseEvent {
        case_id,
        student_id: &student,
        academic_year: &year,
        recorded_on: date_to_days(on),
        outcome,
        note,
        recorded_at: warehouse.clock().now_micros(),
    };
    warehouse.append_rows(&[event], "case outcome").await?;
    Ok(())
}

/// One `case_events` row: an outcome staff recorded on a case.
struct CaseEvent<'a> {
    case_id: &'a str,
    student_id: &'a str,
    academic_year: &'a str,
    recorded_on: i32,
    outcome: Outcome,
    note: Option<&'a str>,
    recorded_at: i64,
}

impl Row for CaseEvent<'_> {
    const TABLE: TableDef = tables::CASE_EVENTS;

    fn cells(&self) -> Vec<Cell> {
        let mut cells = vec![
            ("case_id", row::text(self.case_id)),
            ("student_id", row::text(self.student_id)),
            ("academic_year", row::text(self.academic_year)),
            ("recorded_on", row::day(Some(self.recorded_on))),
            ("outcome", row::text(self.outcome)),
            ("recorded_by", row::text(crate::warehouse::os_user())),
            ("recorded_at", row::instant(Some(self.recorded_at))),
        ];
        cells.extend(self.note.map(|n| ("note", row::text(n))));
        cells
    }
}
