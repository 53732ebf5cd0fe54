//! `rollcall rate`: daily engagement ratings, computed incrementally.
//!
//! Rust decides which days to compute; SQL computes them (`queries/rating/`). Each run
//! records the latest ingest time it has seen (the watermark) and a digest of the rating
//! model: its settings, the text of every query that computes ratings, and what the daily
//! rollups are made by. The next run recomputes:
//! - everything, when there was no run yet, what the rollups are made by changed (their
//!   queries, the absence kinds that excuse sessions), or sessions, class lists, terms or
//!   bank holidays changed (they can move any session or teaching day);
//! - every rating, from the rollups as they stand, when other settings or queries changed
//!   (bands, weights, the window): the rollups of the days new data touched first;
//! - otherwise each daily rollup for the days its own new rows touched (the activity
//!   rollup for new activity; the attendance rollup for new swipes, absences and student
//!   records, whose status and mode say whom sessions are expected of), and the ratings
//!   from the first day anything new touched (or the day after the last rated one) to the
//!   requested day.
//!
//! Ratings record each student's status at the time they are computed: a later change of
//! status does not rewrite ratings already made.

pub mod cohorts;
mod plan;
pub mod windows;

use std::time::Instant;

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use crate::config::RatingConfig;
use crate::derive::{self, rollups};
use crate::domain::signal::Signal;
use crate::domain::time::{date_to_days, days_to_date};
use crate::engine::cells::{bool_at, date, date_at, row_count, string_at, timestamp_at, utc};
use crate::engine::job::Job;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::row::{self, Cell, Row};
use crate::warehouse::tables::{self, TableDef};
pub use plan::Recompute;
use plan::{Changes, LastRun, Rollups, Span};

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
    /// Wall time of the plan (what changed since the last run), the rollups (when any were
    /// recomputed) and the rating itself.
    pub phases: Vec<(&'static str, std::time::Duration)>,
}

/// Rates every teaching day up to `as_of` that is not yet rated or was touched by data
/// ingested since the last run; `recompute` asks for more.
pub async fn rate(warehouse: &Warehouse, as_of: NaiveDate, recompute: Recompute) -> Result<RateReport> {
    let job = Job::start(warehouse, Access::Tables(READS)).await?;
    rate_locked(warehouse, &job.ctx, as_of, recompute).await
}

/// The tables a rating run reads and writes: what changed since the last run and the span
/// of the data (`rating/changes`, `rating/data_span`), the rollups' inputs (with the views
/// over the swipes), the rollups, the ratings and the runs. `rate` opens only these.
pub const READS: &[TableDef] = &[
    tables::STUDENTS,
    tables::STATUS_PERIODS,
    tables::SESSIONS,
    tables::CLASS_LISTS,
    tables::SWIPES,
    tables::SWIPE_OUTCOMES,
    tables::ACTIVITY,
    tables::ABSENCES,
    tables::TERMS,
    tables::BANK_HOLIDAYS,
    tables::DAILY_ACTIVITY,
    tables::DAILY_ATTENDANCE,
    tables::RATINGS,
    tables::RATING_RUNS,
];

/// `rate` for a caller that already holds the warehouse lock and a session.
pub async fn rate_locked(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    as_of: NaiveDate,
    recompute: Recompute,
) -> Result<RateReport> {
    let started = Instant::now();
    let settings = &warehouse.config().rating;
    let digest = model_digest(settings)?;
    let as_of_day = date_to_days(as_of);

    let last = queries::collect(ctx, "rating/last_run", &[]).await?;
    let last_run = if row_count(&last) > 0 {
        Some(LastRun {
            since: timestamp_at(&last, "watermark")?,
            digest: string_at(&last, "settings")?,
            rated_through: date_at(&last, "rated_through")?,
        })
    } else {
        None
    };
    // What was ingested since the last run matters only when that run's rollups still hold
    // (the rollups' part of its digest is this run's). It reads only rows stamped after the
    // last watermark: a day's run skips the year's files.
    let changed = match &last_run {
        Some(last)
            if recompute != Recompute::Everything
                && last.digest.as_deref().is_none_or(|held| plan::rollups_hold(held, &digest)) =>
        {
            let since = last.since.unwrap_or(i64::MIN);
            let row = queries::collect(ctx, "rating/changes", &[("since", utc(since))]).await?;
            let days = |lo, hi| -> Result<Option<(i32, i32)>> { Ok(date_at(&row, lo)?.zip(date_at(&row, hi)?)) };
            let changes = Changes {
                first_day: date_at(&row, "lo")?,
                last_day: date_at(&row, "hi")?,
                rollups: Rollups {
                    activity: days("activity_lo", "activity_hi")?,
                    attendance: days("attendance_lo", "attendance_hi")?,
                },
                reference_changed: bool_at(&row, "reference_changed")?.unwrap_or(false),
            };
            let watermark = timestamp_at(&row, "watermark")?.or(last.since);
            Some((changes, watermark, date_at(&row, "first_teaching_day")?))
        }
        _ => None,
    };
    // A full recomputation (and only that) needs the span of all data, a read of every table.
    let (first_teaching, last_data, watermark_now) = match changed {
        Some((changes, watermark, first_teaching)) if !changes.reference_changed => (first_teaching, None, watermark),
        _ => {
            let span = queries::collect(ctx, "rating/data_span", &[]).await?;
            let last_data = date_at(&span, "last_data_day")?;
            (date_at(&span, "first_teaching_day")?, last_data, timestamp_at(&span, "watermark")?)
        }
    };
    let first_teaching = first_teaching.ok_or_else(|| {
        Error::Usage("no teaching days: ingest the term dates first (`rollcall ingest terms FILE`)".into())
    })?;
    let changes = changed.map(|(changes, _, _)| changes);
    let span = Span { first_teaching, last_data };
    let plan = plan::plan(recompute, &digest, as_of_day, span, last_run.as_ref(), changes);

    let mut phases = vec![("plan", started.elapsed())];
    let (mut counted, mut writing) = (rollups::Counted::default(), rollups::Writing::default());
    if plan.roll.span().is_some() {
        let (activity, attendance) = (plan.roll.activity, plan.roll.attendance);
        let rolled = rollups::roll_up(warehouse, ctx, activity, attendance, plan.full_rollups).await?;
        phases.extend(rolled.phases);
        (counted, writing) = (rolled.counted, rolled.writing);
    }

    let mut ratings = 0;
    let last_rated = last_run.as_ref().and_then(|r| r.rated_through);
    let rated_through = plan.rate.map(|(_, hi)| hi).into_iter().chain(last_rated).max();
    if let Some((lo, hi)) = plan.rate {
        let rating = Instant::now();
        let params = rating_params(settings, lo, hi, warehouse.clock().now_micros());
        let limited = warehouse.config().engine.memory_limit_mib > 0;
        let rollups = (std::mem::take(&mut counted), std::mem::take(&mut writing));
        let (frame, by_days) = rating_frame(ctx, settings, &params, (lo, hi), limited, rollups, &mut phases).await?;
        let mut meta = derive::metadata("rate");
        meta.insert("rollcall.query_sha256".into(), queries::digest("rating/ratings")?.into());
        // Every rating again, its runs of days encoded side by side: one writer took ~2 s of
        // a year's run on one thread.
        let written = match plan.full {
            true if by_days => warehouse.replace_in_parts(&tables::RATINGS, frame, meta).await?,
            true => warehouse.write_days(&tables::RATINGS, frame, None, meta).await?,
            false => warehouse.write_days(&tables::RATINGS, frame, Some((lo, hi)), meta).await?,
        };
        session::register_loaded(ctx, &tables::RATINGS, &written.table).await?;
        for view in [windows::VIEW, cohorts::VIEW] {
            ctx.deregister_table(view).map_err(|e| Error::query("rating/ratings", e))?;
        }
        // The commit replaced the days rated, so the rows it added are their ratings.
        ratings = written.rows;
        phases.push(("ratings", rating.elapsed()));
    }
    // Rollups recomputed with no day to rate: their writes are still waited for.
    phases.extend(writing.finish().await?);
    let mode = if plan.full {
        "full"
    } else if plan.rate.is_some() || plan.roll.span().is_some() {
        "incremental"
    } else {
        "up to date"
    };
    let run = RatingRun {
        run_at: warehouse.clock().now_micros(),
        as_of: as_of_day,
        rated: plan.rate,
        rated_through,
        ratings,
        mode,
        watermark: watermark_now,
        digest: &digest,
    };
    warehouse.append_rows(&[run], "rating run").await?;
    session::register(ctx, warehouse, &tables::RATING_RUNS).await?;
    Ok(RateReport {
        mode,
        why: plan.why,
        rated: plan.rate.map(|(a, b)| (days_to_date(a), days_to_date(b))),
        rolled_up: plan.roll.span().map(|(a, b)| (days_to_date(a), days_to_date(b))),
        ratings,
        elapsed: started.elapsed(),
        phases,
    })
}

/// The queries that make the daily rollups: a change to any of them (or to the absence
/// kinds that excuse sessions) recomputes the rollups from the raw events, then every
/// rating.
pub const ROLLUP_QUERIES: &[&str] = &[
    "views/attendance",
    "derive/daily_activity",
    "derive/activity_rows",
    "derive/daily_attendance",
    "derive/session_days",
    "derive/students_expected",
    "derive/class_list_rows",
    "derive/attended_sessions",
    "derive/excusing_absences",
];

/// The queries that turn the rollups into ratings: a change to any of them (a new version
/// of Rollcall) changes the ratings, so the next run rates every day again.
pub const RATING_QUERIES: &[&str] = &[
    "views/teaching_days",
    "rating/grid",
    "rating/signals",
    "rating/activity_signal_rows",
    "rating/attendance_signal_rows",
    "rating/windowed_join",
    "rating/windowed_running",
    "rating/scores",
    "rating/cohort_ranks",
    "rating/ratings",
];

/// The rating model a run used, recorded with it: `SETTINGS-QUERIES-ROLLUPS`, a digest of
/// the rating settings, one of the text of every query of the model ([`ROLLUP_QUERIES`],
/// then [`RATING_QUERIES`]) and one of what the daily rollups are made by (the text of
/// [`ROLLUP_QUERIES`] and the absence kinds that excuse sessions). A change to the first
/// two rates every day again; to the third, from rollups recomputed from the raw events.
pub fn model_digest(settings: &RatingConfig) -> Result<String> {
    use sha2::{Digest, Sha256};
    let digest = |groups: &[&[&str]], extra: &str| -> Result<String> {
        let mut hasher = Sha256::new();
        for name in groups.iter().flat_map(|g| g.iter()) {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(queries::sql(name)?.as_bytes());
        }
        hasher.update(extra.as_bytes());
        Ok(hex::encode(&hasher.finalize()[..12]))
    };
    let queries = digest(&[ROLLUP_QUERIES, RATING_QUERIES], "")?;
    let rollups = digest(&[ROLLUP_QUERIES], &settings.excusing_kinds())?;
    Ok(format!("{}-{queries}-{rollups}", settings.digest()))
}

/// When the dense arrays of `windows` do not fit (or under a memory limit), window sums
/// come from SQL: a range join for up to this many days rated at once (cheap for a few
/// days), trailing sums beyond.
const RANGE_JOIN_MAX_DAYS: i32 = 10;

/// The ratings of the days `lo..=hi`: `rating/ratings` over `windowed`, the students and
/// days to rate (`rating/grid`) with their window sums. `counted` holds the rollups this
/// run has just counted whole in memory, `writing` their tables' writes still under way:
/// each has committed (its phase added to `phases`) before the ratings are planned, so the
/// ratings are written after the rollups they come from, and the SQL path reads them.
///
/// The sums come from dense arrays (`windows`), and the cohort ranks from Rust (`cohorts`,
/// which holds the scored rows in memory), for any number of days: a day's run reads its
/// windows' rollup rows once into the arrays, in less time than the range join's grouping
/// by student and day (BENCHMARKS.md, "One-day rate"). Under a memory limit
/// (`engine.memory_limit_mib`) both are the queries', as before the dense path: at year
/// scale with a 1.5 GiB limit, the ratings' sort over the dense path's rows asked the
/// memory pool for 8-18 GB for one batch and stopped the run, with the rows' columns
/// compacted and the grid streamed too (not yet explained; BENCHMARKS.md).
///
/// Also returns whether the frame's partitions are runs of days in day order (the dense
/// path's `ranked` view), which a whole table's write may take side by side.
async fn rating_frame(
    ctx: &SessionContext,
    settings: &RatingConfig,
    params: &[(&'static str, ScalarValue)],
    (lo, hi): (i32, i32),
    limited: bool,
    (counted, writing): (rollups::Counted, rollups::Writing),
    phases: &mut Vec<(&'static str, std::time::Duration)>,
) -> Result<(datafusion::dataframe::DataFrame, bool)> {
    let ranked = if limited { Ok(false) } else { rank_in_memory(ctx, settings, params, (lo, hi), counted).await };
    let written = writing.finish().await;
    let ranked = ranked?;
    phases.extend(written?);
    if ranked {
        return Ok((queries::plan(ctx, "rating/ratings", params).await?, true));
    }
    Ok((queries::plan_text(ctx, "rating/ratings", &rating_statement(hi - lo + 1)?, params).await?, false))
}

/// Registers `windowed` (the window sums from dense arrays) and `ranked` (the cohort ranks
/// from Rust) for the days `lo..=hi`; false, registering nothing, when the arrays would
/// not fit.
async fn rank_in_memory(
    ctx: &SessionContext,
    settings: &RatingConfig,
    params: &[(&'static str, ScalarValue)],
    (lo, hi): (i32, i32),
    counted: rollups::Counted,
) -> Result<bool> {
    let reach = (i64::from(lo) - i64::from(settings.window_days) + 1, i64::from(hi));
    let (window, budget) = (settings.window_days as usize, windows::BUDGET_BYTES);
    let (activity, attendance) = (counted.activity.as_deref(), counted.attendance.as_deref());
    // The grid's plan (about 30 ms for a day's run) is made on another of the runtime's
    // threads while this one reads the rollups' rows.
    let grid = {
        let (ctx, params) = (ctx.clone(), params.to_vec());
        tokio::spawn(async move { windows::plan_grid(&ctx, &params).await })
    };
    let signals = windows::DailySignals::read(ctx, params, reach, window, budget, activity, attendance).await;
    let grid = grid.await.map_err(|e| Error::stopped("planning the rating grid", &e))?;
    let Some(signals) = signals? else { return Ok(false) };
    // The rollups' arrays are read; their memory goes back (once their tables are written)
    // before the rows are scored.
    drop(counted);
    windows::register(ctx, grid?, signals).await?;
    cohorts::register(ctx, queries::plan(ctx, "rating/scores", params).await?).await?;
    Ok(true)
}

/// The rating statement for `days` days in one statement: `rating/ratings` over `ranked`
/// (`rating/cohort_ranks`) over `scored` (`rating/scores`) over `windowed` (window sums by
/// range join for a few days, by trailing sums beyond) over `rating_grid`.
fn rating_statement(days: i32) -> Result<String> {
    let windowed = if days <= RANGE_JOIN_MAX_DAYS { "rating/windowed_join" } else { "rating/windowed_running" };
    queries::compose(
        &[
            ("rating_grid", "rating/grid"),
            ("daily_signals", "rating/signals"),
            ("windowed", windowed),
            ("scored", "rating/scores"),
            ("ranked", "rating/cohort_ranks"),
        ],
        "rating/ratings",
    )
}

/// The named parameters of the rating queries (`rating/grid`, `rating/windowed_*`,
/// `rating/ratings`).
pub fn rating_params(settings: &RatingConfig, lo: i32, hi: i32, computed_at: i64) -> Vec<(&'static str, ScalarValue)> {
    let (b, c) = (&settings.bands, &settings.cohort_bands);
    let f = |v: f64| ScalarValue::Float64(Some(v));
    let window = i64::from(settings.window_days);
    let mut params = vec![
        ("lo", date(lo)),
        ("hi", date(hi)),
        ("from", date(lo - settings.window_days as i32 + 1)),
        ("window", ScalarValue::Int64(Some(window))),
        ("exempting", ScalarValue::from(settings.exempting_absence_kinds.join(","))),
        ("grace", ScalarValue::Int64(Some(i64::from(settings.grace_days())))),
        ("basis", ScalarValue::from(settings.basis.as_str())),
        ("min_cohort", ScalarValue::Int64(Some(i64::from(settings.min_cohort_size)))),
        ("attendance_weight", f(settings.attendance_weight)),
        ("points_per_day", f(settings.activity_points_per_day)),
        ("b_low", f(b.low)),
        ("b_partial", f(b.partial)),
        ("b_good", f(b.good)),
        ("b_high", f(b.high)),
        ("c_low", f(c.low)),
        ("c_partial", f(c.partial)),
        ("c_good", f(c.good)),
        ("c_high", f(c.high)),
        ("computed_at", utc(computed_at)),
    ];
    params.extend(Signal::ALL.map(|s| (s.parameter(), f(settings.weights.get(s)))));
    params
}

/// One `rating_runs` row.
struct RatingRun<'a> {
    run_at: i64,
    as_of: i32,
    rated: Option<(i32, i32)>,
    rated_through: Option<i32>,
    ratings: u64,
    mode: &'a str,
    watermark: Option<i64>,
    digest: &'a str,
}

impl Row for RatingRun<'_> {
    const TABLE: TableDef = tables::RATING_RUNS;

    fn cells(&self) -> Vec<Cell> {
        vec![
            ("run_at", row::instant(Some(self.run_at))),
            ("as_of", row::day(Some(self.as_of))),
            ("from_day", row::day(self.rated.map(|r| r.0))),
            ("to_day", row::day(self.rated.map(|r| r.1))),
            ("rated_through", row::day(self.rated_through)),
            ("ratings", row::int(self.ratings as i64)),
            ("mode", row::text(self.mode)),
            ("watermark", row::instant(self.watermark)),
            ("settings", row::text(self.digest)),
            ("os_user", row::text(crate::warehouse::os_user())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every query that computes ratings or the rollups they read is in the model digest
    /// (the rest of `rating/` is the runs' bookkeeping and `rollcall ratings`).
    #[test]
    fn the_model_digest_covers_every_rating_query() {
        const BOOKKEEPING: &[&str] = &["rating/last_run", "rating/changes", "rating/data_span", "rating/ratings_on"];
        for (name, _) in queries::CATALOG {
            let computes = name.starts_with("rating/") || name.starts_with("derive/daily_");
            if computes && !BOOKKEEPING.contains(name) {
                let (rollup, rating) = (ROLLUP_QUERIES.contains(name), RATING_QUERIES.contains(name));
                assert!(rollup || rating, "{name} is in neither ROLLUP_QUERIES nor RATING_QUERIES");
            }
        }
        for name in ROLLUP_QUERIES {
            assert!(!RATING_QUERIES.contains(name), "{name} is in both");
        }
        let parts = |settings: &RatingConfig| -> Vec<String> {
            model_digest(settings).unwrap().split('-').map(String::from).collect()
        };
        let settings = RatingConfig::default();
        let held = parts(&settings);
        assert_eq!(held.len(), 3);
        assert_eq!(held[0], settings.digest());
        assert_eq!((held[1].len(), held[2].len()), (24, 24));
        // A window the rollups do not read: the settings' part alone changes.
        let other = parts(&RatingConfig { window_days: 7, ..RatingConfig::default() });
        assert_ne!(other[0], held[0]);
        assert_eq!(other[1..], held[1..]);
        // An absence kind that excuses sessions changes the rollups.
        let mut excusing = RatingConfig::default();
        excusing.exempting_absence_kinds.push("bereavement".into());
        let other = parts(&excusing);
        assert_ne!(other[0], held[0]);
        assert_eq!(other[1], held[1]);
        assert_ne!(other[2], held[2]);
    }
}
