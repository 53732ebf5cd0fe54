//! The daily rollups the rating reads: per student and day, the weighted activity events
//! (`daily_activity`) and the sessions expected, attended and excused
//! (`daily_attendance`). Both are derived tables, recomputed for the days that new data
//! touched (or all of them) by `rollcall rate` before it rates.

use std::time::{Duration, Instant};

use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use super::activity_days::ActivityDays;
use super::{day_between, metadata};
use crate::engine::cells::date;
use crate::engine::session;
use crate::error::Result;
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::tables;

/// The most memory the activity rollup's array may take: 1 GiB holds a 300-day range for
/// about 127,000 students (4 bytes a source a day). Wider ranges are grouped in SQL.
const BUDGET_BYTES: usize = 1 << 30;

/// Recomputes both rollups for the days `lo..=hi`: replaces just those days, or the
/// whole tables when `full`. Re-registers both tables in `ctx`. Returns the wall time
/// of each.
pub async fn roll_up(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    (lo, hi): (i32, i32),
    full: bool,
) -> Result<[(&'static str, Duration); 2]> {
    let started = Instant::now();
    let settings = &warehouse.config().rating;
    let range = [("lo", date(lo)), ("hi", date(hi))];
    let replace = if full { None } else { Some(day_between(lo, hi)) };
    let rollup = match ActivityDays::read(ctx, (lo, hi), BUDGET_BYTES).await? {
        Some(days) => days.frame(ctx)?,
        None => queries::plan(ctx, "derive/daily_activity", &range).await?,
    };
    warehouse
        .write_frame(&tables::DAILY_ACTIVITY, rollup, Some(replace.clone()), metadata("daily activity rollup"))
        .await?;
    let activity = started.elapsed();
    let excusing = ("excusing", ScalarValue::from(settings.excusing_kinds()));
    let attendance =
        queries::plan(ctx, "derive/daily_attendance", &[range[0].clone(), range[1].clone(), excusing]).await?;
    warehouse
        .write_frame(&tables::DAILY_ATTENDANCE, attendance, Some(replace), metadata("daily attendance rollup"))
        .await?;
    session::register(ctx, warehouse, &tables::DAILY_ACTIVITY).await?;
    session::register(ctx, warehouse, &tables::DAILY_ATTENDANCE).await?;
    Ok([("activity rollup", activity), ("attendance rollup", started.elapsed() - activity)])
}
