//! The daily rollups the rating reads: per student and day, the weighted activity events
//! (`daily_activity`) and the sessions expected, attended and excused
//! (`daily_attendance`). Both are derived tables, recomputed for the days that new data
//! touched (or all of them) by `rollcall rate` before it rates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use super::activity_days::ActivityDays;
use super::attendance_days::AttendanceDays;
use super::metadata;
use crate::engine::cells::date;
use crate::engine::session;
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::tables;

/// The most memory each rollup's array may take: 1 GiB holds a 300-day range for about
/// 127,000 students (4 bytes a source a day) in the activity rollup's, 298,000 in the
/// attendance rollup's (12 bytes a day). Wider ranges are grouped in SQL.
const BUDGET_BYTES: usize = 1 << 30;

/// What [`roll_up`] did.
#[derive(Debug)]
pub struct Rolled {
    /// The wall time of each rollup (the two overlap: they run side by side).
    pub phases: [(&'static str, Duration); 2],
    /// The arrays a full recomputation counted in memory (without a memory limit).
    pub counted: Counted,
}

/// The rollups' arrays a full recomputation counted in memory: each the whole of its table
/// as written, for the rating to read instead of the table.
#[derive(Debug, Default)]
pub struct Counted {
    /// The whole of `daily_activity`.
    pub activity: Option<Arc<ActivityDays>>,
    /// The whole of `daily_attendance`.
    pub attendance: Option<Arc<AttendanceDays>>,
}

/// Recomputes both rollups for the days `lo..=hi`: replaces just those days, or the
/// whole tables when `full`. Re-registers both tables in `ctx`.
///
/// The two read and write different tables, so they are made side by side on the
/// runtime's threads: each spends much of its time in one thread's counting and in its
/// write's encoding on one thread. A full recomputation's two arrays together hold about
/// 0.3 GiB for a 30,000-student year (its peak stayed at 1.45 GiB, BENCHMARKS.md).
pub async fn roll_up(warehouse: &Warehouse, ctx: &SessionContext, (lo, hi): (i32, i32), full: bool) -> Result<Rolled> {
    let days = if full { None } else { Some((lo, hi)) };
    let excusing = warehouse.config().rating.excusing_kinds();
    let activity = activity_rollup(warehouse.clone(), ctx.clone(), (lo, hi), days);
    let attendance = attendance_rollup(warehouse.clone(), ctx.clone(), (lo, hi), days, excusing);
    let activity = tokio::spawn(activity);
    let attendance = attendance.await;
    // Both have finished (or failed) before either result is looked at: nothing is left
    // writing once this returns.
    let activity = activity.await.map_err(|e| Error::stopped("the daily activity rollup", &e))?;
    let ((held, activity), (counted, attendance)) = (activity?, attendance?);
    let phases = [("activity rollup", activity), ("attendance rollup", attendance)];
    // Under a memory limit the rating takes its sums in SQL: the arrays go back to the pool.
    let keep = full && warehouse.config().engine.memory_limit_mib == 0;
    let counted = Counted { activity: held.filter(|_| keep), attendance: counted.filter(|_| keep) };
    Ok(Rolled { phases, counted })
}

/// `daily_activity` for the days `lo..=hi`, counted in an array (or grouped in SQL when
/// it would not fit), written over `days` (`None`: the whole table) and registered in
/// `ctx` as committed: the array, and the time taken.
async fn activity_rollup(
    warehouse: Warehouse,
    ctx: SessionContext,
    (lo, hi): (i32, i32),
    days: Option<(i32, i32)>,
) -> Result<(Option<Arc<ActivityDays>>, Duration)> {
    let started = Instant::now();
    let held = ActivityDays::read(&ctx, (lo, hi), BUDGET_BYTES).await?.map(Arc::new);
    let rollup = match &held {
        Some(days) => days.frame(&ctx)?,
        None => queries::plan(&ctx, "derive/daily_activity", &[("lo", date(lo)), ("hi", date(hi))]).await?,
    };
    let meta = metadata("daily activity rollup");
    let written = warehouse.write_days(&tables::DAILY_ACTIVITY, rollup, days, meta).await?;
    // Registered as its commit left it: its log is not read again.
    session::register_loaded(&ctx, &tables::DAILY_ACTIVITY, &written.table).await?;
    Ok((held, started.elapsed()))
}

/// `daily_attendance` for the days `lo..=hi`, the absence kinds `excusing` excusing what
/// they cover, as [`activity_rollup`] makes `daily_activity`.
async fn attendance_rollup(
    warehouse: Warehouse,
    ctx: SessionContext,
    (lo, hi): (i32, i32),
    days: Option<(i32, i32)>,
    excusing: String,
) -> Result<(Option<Arc<AttendanceDays>>, Duration)> {
    let started = Instant::now();
    let counted = AttendanceDays::read(&ctx, (lo, hi), &excusing, BUDGET_BYTES).await?.map(Arc::new);
    let rollup = match &counted {
        Some(days) => days.frame(&ctx)?,
        None => {
            let params = [("lo", date(lo)), ("hi", date(hi)), ("excusing", ScalarValue::from(excusing))];
            queries::plan(&ctx, "derive/daily_attendance", &params).await?
        }
    };
    let meta = metadata("daily attendance rollup");
    let written = warehouse.write_days(&tables::DAILY_ATTENDANCE, rollup, days, meta).await?;
    session::register_loaded(&ctx, &tables::DAILY_ATTENDANCE, &written.table).await?;
    Ok((counted, started.elapsed()))
}
