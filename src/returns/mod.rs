//! Statutory returns: the Home Office (UKVI) return of sponsored students and the
//! funding-body return. Each is a query under `queries/returns/`; this module brings the
//! ratings and rollups up to date first, binds the settings, and records what was sent.

use std::sync::Arc;

use arrow::array::{Array, Date32Array, RecordBatch, StringArray};
use chrono::NaiveDate;
use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use crate::domain::time::date_to_days;
use crate::domain::year::{AcademicYear, MonthDay};
use crate::engine::cells::date;
use crate::engine::job::Job;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
use crate::rating;
use crate::warehouse::{Warehouse, WriteLock, os_user, row, tables};

/// A return ready to write. It reads the table versions registered when it was made, so
/// it needs no lock while it is written out.
pub struct Return {
    /// The rows of the return.
    pub frame: DataFrame,
    /// The query that produced it.
    pub query: &'static str,
}

async fn prepared(warehouse: &Warehouse, as_of: NaiveDate) -> Result<(WriteLock, SessionContext)> {
    let (lock, ctx) = Job::start(warehouse, Access::Internal { with_equality: false }).await?.into_parts();
    // Returns read the daily rollups: bring them (and the ratings) up to the day.
    rating::rate_locked(warehouse, &ctx, as_of, rating::Recompute::Changed).await?;
    Ok((lock, ctx))
}

/// The UKVI return as of a day. With `record`, the events listed are recorded as
/// reported on that day, so later returns do not list them again.
pub async fn ukvi(warehouse: &Warehouse, as_of: NaiveDate, record: bool) -> Result<Return> {
    let (lock, ctx) = prepared(warehouse, as_of).await?;
    let params = ukvi_params(warehouse.config(), as_of);
    let query = "returns/ukvi";
    let mut frame = queries::plan(&ctx, query, &params).await?;
    if record {
        let rows = frame.clone().collect().await.map_err(|e| Error::query(query, e))?;
        let reported = reported_rows(&rows, as_of, warehouse.clock().now_micros())?;
        if !reported.is_empty() {
            warehouse.append_named(&tables::UKVI_REPORTS, &reported, "ukvi return recorded").await?;
        }
        // Every line sent is a disclosure to the Home Office.
        crate::compliance::disclosure::log_return(
            warehouse,
            &rows,
            "Home Office (UKVI)",
            "sponsor reporting duty",
            "return ukvi",
            as_of,
        )
        .await?;
        // What was just recorded is still the return of this run.
        let schema = Arc::new(frame.schema().as_arrow().clone());
        session::register_batches(&ctx, "recorded_return", schema, rows)?;
        frame = ctx.table("recorded_return").await.map_err(|e| Error::query(query, e))?;
    }
    drop(lock);
    Ok(Return { frame, query })
}

/// The settings the UKVI return's query (`returns/ukvi`) is run with, as of a day.
pub fn ukvi_params(config: &crate::config::Config, as_of: NaiveDate) -> Vec<(&'static str, ScalarValue)> {
    let ukvi = &config.ukvi;
    vec![
        ("as_of", date(date_to_days(as_of))),
        ("no_show_days", ScalarValue::Int64(Some(i64::from(ukvi.no_engagement_days_after_start)))),
        ("rule", ScalarValue::from(ukvi.engagement_rule.as_str())),
        ("threshold", ScalarValue::Int64(Some(i64::from(ukvi.engagement_threshold)))),
        ("within", ScalarValue::Int64(Some(i64::from(ukvi.report_within_working_days)))),
        ("excusing", ScalarValue::from(config.rating.excusing_kinds())),
    ]
}

/// The funding-body return for `body` as of a day. With `record`, every line is logged as
/// a disclosure to the body.
pub async fn funder(warehouse: &Warehouse, body: &str, as_of: NaiveDate, record: bool) -> Result<Return> {
    let (lock, ctx) = prepared(warehouse, as_of).await?;
    let query = "returns/funder";
    let mut frame = funder_frame(&ctx, &warehouse.config().funder, body, as_of).await?;
    if record {
        let rows = frame.clone().collect().await.map_err(|e| Error::query(query, e))?;
        crate::compliance::disclosure::log_return(
            warehouse,
            &rows,
            body,
            "funding-body return",
            "return funder",
            as_of,
        )
        .await?;
        let schema = rows.first().map(|b| b.schema()).unwrap_or_else(|| Arc::new(frame.schema().as_arrow().clone()));
        session::register_batches(&ctx, "recorded_return", schema, rows)?;
        frame = ctx.table("recorded_return").await.map_err(|e| Error::query(query, e))?;
    }
    drop(lock);
    Ok(Return { frame, query })
}

/// The funding-body return's rows for `body` as of a day, planned on `ctx` (which gains a
/// `periods` table: the year's liability periods). The ratings and rollups are read as
/// they stand.
pub async fn funder_frame(
    ctx: &SessionContext,
    config: &crate::config::FunderConfig,
    body: &str,
    as_of: NaiveDate,
) -> Result<DataFrame> {
    let periods = periods_batch(&config.periods, AcademicYear::of(as_of), date_to_days(as_of))?;
    session::register_batches(ctx, "periods", periods.schema(), vec![periods])?;
    let params = [
        ("as_of", date(date_to_days(as_of))),
        ("body", ScalarValue::from(body)),
        ("not_attending_days", ScalarValue::Int64(Some(i64::from(config.not_attending_after_days)))),
        ("rule", ScalarValue::from(config.attending_rule.as_str())),
        ("window", ScalarValue::Int64(Some(i64::from(config.window_teaching_days)))),
        ("min_days", ScalarValue::Int64(Some(i64::from(config.min_days)))),
    ];
    queries::plan(ctx, "returns/funder", &params).await
}

/// The liability periods of the academic year as a table; `until` is the period's end or
/// the return's day, whichever is sooner.
fn periods_batch(periods: &[crate::config::LiabilityPeriod], year: AcademicYear, as_of: i32) -> Result<RecordBatch> {
    use arrow::datatypes::{DataType, Field, Schema};
    let day = |md: &MonthDay| -> Result<i32> {
        year.day(*md).ok_or_else(|| Error::Usage(format!("funder period day '{md}' is not a day in {year}")))
    };
    let names: StringArray = periods.iter().map(|p| Some(p.name.as_str())).collect();
    let starts = Date32Array::from(periods.iter().map(|p| day(&p.starts)).collect::<Result<Vec<_>>>()?);
    let ends: Vec<i32> = periods.iter().map(|p| day(&p.ends)).collect::<Result<_>>()?;
    let until = Date32Array::from(ends.iter().map(|e| (*e).min(as_of)).collect::<Vec<_>>());
    let ends = Date32Array::from(ends);
    let schema = Schema::new(vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("starts", DataType::Date32, true),
        Field::new("ends", DataType::Date32, true),
        Field::new("until", DataType::Date32, true),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(names), Arc::new(starts), Arc::new(ends), Arc::new(until)],
    )?)
}

fn reported_rows(rows: &[RecordBatch], as_of: NaiveDate, now: i64) -> Result<Vec<Vec<row::Cell>>> {
    let mut out = Vec::new();
    for batch in rows.iter().filter(|b| b.num_rows() > 0) {
        use crate::engine::cells::{days, texts};
        let (ids, events, trigger) =
            (texts(batch, "student_id")?, texts(batch, "event")?, days(batch, "trigger_date")?);
        for r in 0..batch.num_rows() {
            let trigger = trigger.is_valid(r).then(|| trigger.value(r));
            out.push(reported_cells(ids.value(r), events.value(r), trigger, as_of, &os_user(), now));
        }
    }
    Ok(out)
}

/// The columns of the UKVI return, as a disclosure of one of its lines names them.
pub const UKVI_FIELDS: &str = "student_id,cas_number,event,trigger_date,report_by,rule,overdue";

/// A `ukvi_reports` row: the event (student, event, trigger day) recorded as reported on
/// `reported_on` by `by` at `at` (UTC microseconds).
pub fn reported_cells(
    student_id: &str,
    event: &str,
    trigger_date: Option<i32>,
    reported_on: NaiveDate,
    by: &str,
    at: i64,
) -> Vec<row::Cell> {
    vec![
        ("student_id", row::text(student_id)),
        ("event", row::text(event)),
        ("trigger_date", row::day(trigger_date)),
        ("reported_on", row::day(Some(date_to_days(reported_on)))),
        ("recorded_by", row::text(by)),
        ("recorded_at", row::instant(Some(at))),
    ]
}
