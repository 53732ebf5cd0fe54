//! `rollcall rate`: daily engagement ratings, computed incrementally.
//!
//! Rust decides which days to compute; SQL computes them (`queries/rating/`). Each run
//! records the latest ingest time it has seen (the watermark) and a digest of the rating
//! settings. The next run recomputes:
//! - everything, when there was no run yet, the settings changed, or sessions, class
//!   lists, terms or bank holidays changed (they can move any session or teaching day);
//! - otherwise the daily rollups of the days that new activity, swipes or absences
//!   touched, and the ratings from the first of those days (or the day after the last
//!   rated one) to the requested day.
//!
//! Ratings record each student's status at the time they are computed: a later change of
//! status does not rewrite ratings already made.

use std::collections::HashMap;
use std::time::Instant;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use chrono::NaiveDate;
use datafusion::prelude::{Expr, SessionContext, col, lit};
use datafusion::scalar::ScalarValue;

use crate::config::RatingConfig;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::ingest::time::{date_to_days, days_to_date};
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::tables::{self, TableDef};

/// What a rating run did.
#[derive(Debug, Clone)]
pub struct RateReport {
    /// `full`, `incremental` or `up to date`.
    pub mode: &'static str,
    /// Why this mode.
    pub why: String,
    /// Days rated (first, last), if any.
    pub rated: Option<(NaiveDate, NaiveDate)>,
    /// Days whose rollups were recomputed (first, last), if any.
    pub rolled_up: Option<(NaiveDate, NaiveDate)>,
    /// Rating rows written.
    pub ratings: u64,
    /// Wall time.
    pub elapsed: std::time::Duration,
}

/// Rates every teaching day up to `as_of` that is not yet rated or was touched by data
/// ingested since the last run. `full` forces a recomputation of everything.
pub async fn rate(warehouse: &Warehouse, as_of: NaiveDate, full: bool) -> Result<RateReport> {
    let _lock = warehouse.lock()?;
    warehouse.create_missing_tables().await?;
    let ctx = session::build(warehouse, Access::Internal { with_equality: false }).await?;
    rate_locked(warehouse, &ctx, as_of, full).await
}

/// `rate` for a caller that already holds the warehouse lock and a session.
pub async fn rate_locked(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    as_of: NaiveDate,
    force_full: bool,
) -> Result<RateReport> {
    let started = Instant::now();
    let settings = &warehouse.config().rating;
    let digest = settings.digest();
    let as_of_day = date_to_days(as_of);

    let span = queries::collect(ctx, "rating/data_span", &[]).await?;
    let first_teaching = date_at(&span, 0).ok_or_else(|| {
        Error::Usage("no teaching days: ingest the term dates first (`rollcall ingest terms FILE`)".into())
    })?;
    let last_data = date_at(&span, 1);
    let first_data = first_teaching - 21;
    let watermark_now = timestamp_at(&span, 2);

    let last = queries::collect(ctx, "rating/last_run", &[]).await?;
    let last_run = (first_rows(&last) > 0).then(|| (timestamp_at(&last, 0), string_at(&last, 1), date_at(&last, 2)));

    let mut plan = Plan { full: force_full, why: String::new(), roll: None, rate: None };
    match &last_run {
        _ if force_full => plan.why = "full recomputation asked for".into(),
        None => {
            plan.full = true;
            plan.why = "first rating run".into();
        }
        Some((_, Some(held), _)) if *held != digest => {
            plan.full = true;
            plan.why = "rating settings changed since the last run".into();
        }
        Some((since, _, rated_through)) => {
            let since = since.unwrap_or(i64::MIN);
            let changes = queries::collect(ctx, "rating/changes", &[("since", utc(since))]).await?;
            let reference_changed = bool_at(&changes, 2).unwrap_or(false);
            if reference_changed {
                plan.full = true;
                plan.why = "sessions, class lists, terms or bank holidays changed since the last run".into();
            } else {
                let rated_through = rated_through.unwrap_or(first_teaching - 1);
                let (lo, hi) = (date_at(&changes, 0), date_at(&changes, 1));
                let mut rate_lo = rated_through + 1;
                let mut rate_hi = as_of_day;
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    plan.roll = Some((lo, hi));
                    rate_lo = rate_lo.min(lo);
                    if lo <= rated_through {
                        rate_hi = rate_hi.max(rated_through);
                    }
                    plan.why = format!(
                        "data ingested since the last run touched {} to {}",
                        days_to_date(lo),
                        days_to_date(hi)
                    );
                } else {
                    plan.why = "no data ingested since the last run".into();
                }
                let rate_lo = rate_lo.max(first_teaching);
                if rate_lo <= rate_hi {
                    plan.rate = Some((rate_lo, rate_hi));
                }
            }
        }
    }
    if plan.full {
        let rated_through = last_run.as_ref().and_then(|r| r.2).unwrap_or(as_of_day);
        plan.roll =
            Some((first_data.min(last_data.unwrap_or(first_data)), last_data.unwrap_or(as_of_day).max(as_of_day)));
        plan.rate = Some((first_teaching, as_of_day.max(rated_through)));
    }

    let metadata = |op: &str| HashMap::from([("rollcall.operation".to_string(), serde_json::Value::from(op))]);
    if let Some((lo, hi)) = plan.roll {
        let range = [("lo", date(lo)), ("hi", date(hi))];
        let replace = if plan.full { None } else { Some(day_between(lo, hi)) };
        let rollup = queries::plan(ctx, "rating/daily_activity", &range).await?;
        warehouse
            .write_frame(&tables::DAILY_ACTIVITY, rollup, Some(replace.clone()), metadata("daily activity rollup"))
            .await?;
        let excusing = ("excusing", ScalarValue::from(settings.excusing_absence_kinds.join(",")));
        let attendance =
            queries::plan(ctx, "rating/daily_attendance", &[range[0].clone(), range[1].clone(), excusing]).await?;
        warehouse
            .write_frame(&tables::DAILY_ATTENDANCE, attendance, Some(replace), metadata("daily attendance rollup"))
            .await?;
        session::register(ctx, warehouse, &tables::DAILY_ACTIVITY).await?;
        session::register(ctx, warehouse, &tables::DAILY_ATTENDANCE).await?;
    }

    let mut ratings = 0;
    let last_rated = last_run.as_ref().and_then(|r| r.2);
    let rated_through = plan.rate.map(|(_, hi)| hi).into_iter().chain(last_rated).max();
    if let Some((lo, hi)) = plan.rate {
        let params = rating_params(settings, lo, hi);
        let statement = rating_statement(hi - lo + 1)?;
        let frame = queries::plan_text(ctx, "rating/ratings", &statement, &params).await?;
        let replace = if plan.full { None } else { Some(day_between(lo, hi)) };
        let mut meta = metadata("rate");
        meta.insert("rollcall.query_sha256".into(), queries::digest("rating/ratings")?.into());
        warehouse.write_frame(&tables::RATINGS, frame, Some(replace), meta).await?;
        session::register(ctx, warehouse, &tables::RATINGS).await?;
        ratings = count(ctx, &tables::RATINGS, Some((lo, hi))).await?;
    }
    let mode = if plan.full {
        "full"
    } else if plan.rate.is_some() || plan.roll.is_some() {
        "incremental"
    } else {
        "up to date"
    };
    record_run(warehouse, ctx, as_of_day, plan.rate, rated_through, ratings, mode, watermark_now, &digest).await?;
    Ok(RateReport {
        mode,
        why: plan.why,
        rated: plan.rate.map(|(a, b)| (days_to_date(a), days_to_date(b))),
        rolled_up: plan.roll.map(|(a, b)| (days_to_date(a), days_to_date(b))),
        ratings,
        elapsed: started.elapsed(),
    })
}

struct Plan {
    full: bool,
    why: String,
    roll: Option<(i32, i32)>,
    rate: Option<(i32, i32)>,
}

/// Up to this many days rated at once, window sums come from a range join (cheap for a
/// few days); beyond, from trailing sums over daily totals (linear in the days).
const RANGE_JOIN_MAX_DAYS: i32 = 10;

/// The rating statement for `days` days: `rating/ratings` over `windowed` (window sums
/// by range join for a few days, by trailing sums beyond) over `rating_grid`.
fn rating_statement(days: i32) -> Result<String> {
    let windowed = if days <= RANGE_JOIN_MAX_DAYS { "rating/windowed_join" } else { "rating/windowed_running" };
    queries::compose(
        &[("rating_grid", "rating/grid"), ("daily_signals", "rating/signals"), ("windowed", windowed)],
        "rating/ratings",
    )
}

/// The named parameters of the rating queries (`rating/grid`, `rating/windowed_*`,
/// `rating/ratings`).
pub fn rating_params(settings: &RatingConfig, lo: i32, hi: i32) -> Vec<(&'static str, ScalarValue)> {
    let w = &settings.weights;
    let (b, c) = (&settings.bands, &settings.cohort_bands);
    let f = |v: f64| ScalarValue::Float64(Some(v));
    let window = i64::from(settings.window_days);
    vec![
        ("lo", date(lo)),
        ("hi", date(hi)),
        ("from", date(lo - settings.window_days as i32 + 1)),
        ("window", ScalarValue::Int64(Some(window))),
        ("basis", ScalarValue::from(settings.basis.as_str())),
        ("min_cohort", ScalarValue::Int64(Some(i64::from(settings.min_cohort_size)))),
        ("attendance_weight", f(settings.attendance_weight)),
        ("points_per_day", f(settings.activity_points_per_day)),
        ("w_vle", f(w.vle)),
        ("w_lecture_capture", f(w.lecture_capture)),
        ("w_library", f(w.library)),
        ("w_pc_login", f(w.pc_login)),
        ("w_online_meeting", f(w.online_meeting)),
        ("w_submission", f(w.submission)),
        ("w_records_login", f(w.records_login)),
        ("b_low", f(b.low)),
        ("b_partial", f(b.partial)),
        ("b_good", f(b.good)),
        ("b_high", f(b.high)),
        ("c_low", f(c.low)),
        ("c_partial", f(c.partial)),
        ("c_good", f(c.good)),
        ("c_high", f(c.high)),
        ("computed_at", utc(chrono::Utc::now().timestamp_micros())),
    ]
}

#[allow(clippy::too_many_arguments)]
async fn record_run(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    as_of: i32,
    rated: Option<(i32, i32)>,
    rated_through: Option<i32>,
    ratings: u64,
    mode: &str,
    watermark: Option<i64>,
    digest: &str,
) -> Result<()> {
    use arrow::array::{Date32Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use std::sync::Arc;
    let def = tables::RATING_RUNS;
    let user = crate::warehouse::os_user();
    let batch = RecordBatch::try_new(
        def.schema(),
        vec![
            Arc::new(TimestampMicrosecondArray::from(vec![chrono::Utc::now().timestamp_micros()]).with_timezone("UTC")),
            Arc::new(Date32Array::from(vec![as_of])),
            Arc::new(Date32Array::from(vec![rated.map(|r| r.0)])),
            Arc::new(Date32Array::from(vec![rated.map(|r| r.1)])),
            Arc::new(Date32Array::from(vec![rated_through])),
            Arc::new(Int64Array::from(vec![ratings as i64])),
            Arc::new(StringArray::from(vec![mode])),
            Arc::new(TimestampMicrosecondArray::from(vec![watermark]).with_timezone("UTC")),
            Arc::new(StringArray::from(vec![digest])),
            Arc::new(StringArray::from(vec![user])),
        ],
    )?;
    warehouse.append(&def, vec![batch], "rating run").await?;
    session::register(ctx, warehouse, &def).await
}

fn day_between(lo: i32, hi: i32) -> Expr {
    col("day").between(lit(date(lo)), lit(date(hi)))
}

async fn count(ctx: &SessionContext, def: &TableDef, days: Option<(i32, i32)>) -> Result<u64> {
    let mut df = ctx.table(def.name).await.map_err(|e| Error::query(def.name, e))?;
    if let Some((lo, hi)) = days {
        df = df.filter(day_between(lo, hi)).map_err(|e| Error::query(def.name, e))?;
    }
    Ok(df.count().await.map_err(|e| Error::query(def.name, e))? as u64)
}

/// A `Date32` parameter.
pub fn date(day: i32) -> ScalarValue {
    ScalarValue::Date32(Some(day))
}

/// A UTC timestamp parameter.
pub fn utc(micros: i64) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(micros), Some("UTC".into()))
}

fn first_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn cell(batches: &[RecordBatch], column: usize, to: &DataType) -> Option<arrow::array::ArrayRef> {
    let batch = batches.iter().find(|b| b.num_rows() > 0)?;
    let array = arrow::compute::cast(batch.column(column), to).ok()?;
    array.is_valid(0).then_some(array)
}

/// The first row's value of a date column.
pub fn date_at(batches: &[RecordBatch], column: usize) -> Option<i32> {
    cell(batches, column, &DataType::Date32)
        .map(|a| a.as_any().downcast_ref::<arrow::array::Date32Array>().expect("date").value(0))
}

/// The first row's value of a timestamp column, in UTC microseconds.
pub fn timestamp_at(batches: &[RecordBatch], column: usize) -> Option<i64> {
    cell(batches, column, &DataType::Int64)
        .map(|a| a.as_any().downcast_ref::<arrow::array::Int64Array>().expect("int").value(0))
}

/// The first row's value of an integer column.
pub fn int_at(batches: &[RecordBatch], column: usize) -> Option<i64> {
    timestamp_at(batches, column)
}

/// The first row's value of a text column.
pub fn string_at(batches: &[RecordBatch], column: usize) -> Option<String> {
    cell(batches, column, &DataType::Utf8)
        .map(|a| a.as_any().downcast_ref::<arrow::array::StringArray>().expect("text").value(0).to_string())
}

fn bool_at(batches: &[RecordBatch], column: usize) -> Option<bool> {
    cell(batches, column, &DataType::Boolean)
        .map(|a| a.as_any().downcast_ref::<arrow::array::BooleanArray>().expect("bool").value(0))
}
