//! The daily rollups the rating reads: per student and day, the weighted activity events
//! (`daily_activity`) and the sessions expected, attended and excused
//! (`daily_attendance`). Both are derived tables, recomputed for the days that new data
//! touched (or all of them) by `rollcall rate` before it rates.

use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use super::{day_between, metadata};
use crate::engine::cells::date;
use crate::engine::session;
use crate::error::Result;
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::tables;

/// Recomputes both rollups for the days `lo..=hi`: replaces just those days, or the
/// whole tables when `full`. Re-registers both tables in `ctx`.
pub async fn roll_up(warehouse: &Warehouse, ctx: &SessionContext, (lo, hi): (i32, i32), full: bool) -> Result<()> {
    let settings = &warehouse.config().rating;
    let range = [("lo", date(lo)), ("hi", date(hi))];
    let replace = if full { None } else { Some(day_between(lo, hi)) };
    let rollup = queries::plan(ctx, "derive/daily_activity", &range).await?;
    warehouse
        .write_frame(&tables::DAILY_ACTIVITY, rollup, Some(replace.clone()), metadata("daily activity rollup"))
        .await?;
    let excusing = ("excusing", ScalarValue::from(settings.excusing_kinds()));
    let attendance =
        queries::plan(ctx, "derive/daily_attendance", &[range[0].clone(), range[1].clone(), excusing]).await?;
    warehouse
        .write_frame(&tables::DAILY_ATTENDANCE, attendance, Some(replace), metadata("daily attendance rollup"))
        .await?;
    session::register(ctx, warehouse, &tables::DAILY_ACTIVITY).await?;
    session::register(ctx, warehouse, &tables::DAILY_ATTENDANCE).await
}
