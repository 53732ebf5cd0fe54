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
use crate::error::Result;
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
    /// The wall time of each rollup.
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
pub async fn roll_up(warehouse: &Warehouse, ctx: &SessionContext, (lo, hi): (i32, i32), full: bool) -> Result<Rolled> {
    let started = Instant::now();
    let settings = &warehouse.config().rating;
    let range = [("lo", date(lo)), ("hi", date(hi))];
    let days = if full { None } else { Some((lo, hi)) };
    let held = ActivityDays::read(ctx, (lo, hi), BUDGET_BYTES).await?.map(Arc::new);
    let rollup = match &held {
        Some(days) => days.frame(ctx)?,
        None => queries::plan(ctx, "derive/daily_activity", &range).await?,
    };
    let activity_table =
        warehouse.write_days(&tables::DAILY_ACTIVITY, rollup, days, metadata("daily activity rollup")).await?.table;
    let activity = started.elapsed();
    let excusing = settings.excusing_kinds();
    let counted = AttendanceDays::read(ctx, (lo, hi), &excusing, BUDGET_BYTES).await?.map(Arc::new);
    let attendance = match &counted {
        Some(days) => days.frame(ctx)?,
        None => {
            let params = [range[0].clone(), range[1].clone(), ("excusing", ScalarValue::from(excusing))];
            queries::plan(ctx, "derive/daily_attendance", &params).await?
        }
    };
    let attendance_table = warehouse
        .write_days(&tables::DAILY_ATTENDANCE, attendance, days, metadata("daily attendance rollup"))
        .await?
        .table;
    // Registered as the commits left them: their logs are not read again.
    session::register_loaded(ctx, &tables::DAILY_ACTIVITY, &activity_table).await?;
    session::register_loaded(ctx, &tables::DAILY_ATTENDANCE, &attendance_table).await?;
    let phases = [("activity rollup", activity), ("attendance rollup", started.elapsed() - activity)];
    // Under a memory limit the rating takes its sums in SQL: the arrays go back to the pool.
    let keep = full && warehouse.config().engine.memory_limit_mib == 0;
    let counted = Counted { activity: held.filter(|_| keep), attendance: counted.filter(|_| keep) };
    Ok(Rolled { phases, counted })
}
