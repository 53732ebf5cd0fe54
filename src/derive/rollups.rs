//! The daily rollups the rating reads: per student and day, the weighted activity events
//! (`daily_activity`) and the sessions expected, attended and excused
//! (`daily_attendance`). Both are derived tables, recomputed for the days that new data
//! touched (or all of them) by `rollcall rate` before it rates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use tokio::task::JoinHandle;

use super::activity_days::ActivityDays;
use super::attendance_days::AttendanceDays;
use super::metadata;
use crate::engine::cells::date;
use crate::engine::session;
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::tables::{self, TableDef};

/// The most memory each rollup's array may take: 1 GiB holds a 300-day range for about
/// 127,000 students (4 bytes a source a day) in the activity rollup's, 298,000 in the
/// attendance rollup's (12 bytes a day). Wider ranges are grouped in SQL.
const BUDGET_BYTES: usize = 1 << 30;

/// What [`roll_up`] did.
#[derive(Debug)]
pub struct Rolled {
    /// The wall time of each rollup up to its table's commit (the two overlap: they run
    /// side by side); none yet while their tables are still being written.
    pub phases: Vec<(&'static str, Duration)>,
    /// The arrays a full recomputation counted in memory (without a memory limit).
    pub counted: Counted,
    /// The rollups' writes still under way: a full recomputation's (with its arrays
    /// counted), which the rating reads in place of the tables.
    pub writing: Writing,
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

/// Rollup tables being written on tasks of their own, each named by its phase.
/// [`Writing::finish`] waits for every one, whatever becomes of the others, so nothing is
/// left writing once a run returns.
#[derive(Debug, Default)]
#[must_use = "a rollup's write is waited for before the run returns"]
pub struct Writing(Vec<(&'static str, JoinHandle<Result<Duration>>)>);

impl Writing {
    /// Waits for every write: each phase with its wall time from the start of the rollups
    /// to its commit, or the first error met.
    pub async fn finish(self) -> Result<Vec<(&'static str, Duration)>> {
        let (mut phases, mut failed) = (Vec::new(), None);
        for (phase, write) in self.0 {
            match write.await {
                Ok(Ok(elapsed)) => phases.push((phase, elapsed)),
                Ok(Err(e)) => {
                    failed.get_or_insert(e);
                }
                Err(e) => {
                    failed.get_or_insert(Error::stopped(phase, &e));
                }
            }
        }
        failed.map_or(Ok(phases), Err)
    }
}

/// Recomputes each rollup for its days: `daily_activity` for `activity` and
/// `daily_attendance` for `attendance` (first, last; `None`: that rollup stands). Replaces
/// just those days, or, when `full`, the whole tables (both rollups are then given).
/// Re-registers each table in `ctx` as it commits.
///
/// The two read and write different tables, so they are made side by side on the
/// runtime's threads: each spends much of its time in one thread's counting and in its
/// write's encoding on one thread. A full recomputation's two arrays together hold about
/// 0.3 GiB for a 30,000-student year (its peak stayed at 1.45 GiB, BENCHMARKS.md); when
/// they are kept for the rating (no memory limit), it returns once both are counted, their
/// tables still being written in [`Rolled::writing`] while the rating reads the arrays:
/// the encoding fills the cores that one rollup's counting alone, then the rating's start,
/// leave idle.
pub async fn roll_up(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    activity: Option<(i32, i32)>,
    attendance: Option<(i32, i32)>,
    full: bool,
) -> Result<Rolled> {
    let replaced = |days| if full { None } else { Some(days) };
    let excusing = warehouse.config().rating.excusing_kinds();
    let started = Instant::now();
    let activity = activity
        .map(|days| tokio::spawn(activity_rollup(warehouse.clone(), ctx.clone(), days, replaced(days), started)));
    let attendance = match attendance {
        Some(days) => {
            Some(attendance_rollup(warehouse.clone(), ctx.clone(), days, replaced(days), excusing, started).await)
        }
        None => None,
    };
    // Both have counted (or failed) before either result is looked at, and a write that
    // started is waited for before an error returns.
    let activity = match activity {
        Some(task) => Some(task.await.map_err(|e| Error::stopped("the daily activity rollup", &e)).and_then(|a| a)),
        None => None,
    };
    let (mut writing, mut failed) = (Writing::default(), None);
    let held = match activity {
        Some(Ok((held, write))) => {
            writing.0.push(("activity rollup", write));
            held
        }
        Some(Err(e)) => {
            failed = Some(e);
            None
        }
        None => None,
    };
    let counted = match attendance {
        Some(Ok((counted, write))) => {
            writing.0.push(("attendance rollup", write));
            counted
        }
        Some(Err(e)) => {
            failed.get_or_insert(e);
            None
        }
        None => None,
    };
    if let Some(e) = failed {
        // The other rollup's write, if it started, ends before the error returns.
        writing.finish().await?;
        return Err(e);
    }
    // Under a memory limit the rating takes its sums in SQL from the tables: they are
    // written before it starts, and the arrays go back to the pool.
    if !full || warehouse.config().engine.memory_limit_mib > 0 {
        return Ok(Rolled {
            phases: writing.finish().await?,
            counted: Counted::default(),
            writing: Writing::default(),
        });
    }
    Ok(Rolled { phases: Vec::new(), counted: Counted { activity: held, attendance: counted }, writing })
}

/// `daily_activity` for the days `lo..=hi`, counted in an array (or grouped in SQL when
/// it would not fit), then written over `days` (`None`: the whole table) and registered in
/// `ctx` as committed on a task of its own: the array, and the write.
async fn activity_rollup(
    warehouse: Warehouse,
    ctx: SessionContext,
    (lo, hi): (i32, i32),
    days: Option<(i32, i32)>,
    started: Instant,
) -> Result<(Option<Arc<ActivityDays>>, JoinHandle<Result<Duration>>)> {
    let held = ActivityDays::read(&ctx, (lo, hi), BUDGET_BYTES).await?.map(Arc::new);
    let rollup = match &held {
        Some(days) => days.frame(&ctx)?,
        None => queries::plan(&ctx, "derive/daily_activity", &[("lo", date(lo)), ("hi", date(hi))]).await?,
    };
    let write = write(warehouse, ctx, &tables::DAILY_ACTIVITY, rollup, days, "daily activity rollup", started);
    Ok((held, tokio::spawn(write)))
}

/// `daily_attendance` for the days `lo..=hi`, the absence kinds `excusing` excusing what
/// they cover, as [`activity_rollup`] makes `daily_activity`.
async fn attendance_rollup(
    warehouse: Warehouse,
    ctx: SessionContext,
    (lo, hi): (i32, i32),
    days: Option<(i32, i32)>,
    excusing: String,
    started: Instant,
) -> Result<(Option<Arc<AttendanceDays>>, JoinHandle<Result<Duration>>)> {
    let counted = AttendanceDays::read(&ctx, (lo, hi), &excusing, BUDGET_BYTES).await?.map(Arc::new);
    let rollup = match &counted {
        Some(days) => days.frame(&ctx)?,
        None => {
            let params = [("lo", date(lo)), ("hi", date(hi)), ("excusing", ScalarValue::from(excusing))];
            queries::plan(&ctx, "derive/daily_attendance", &params).await?
        }
    };
    let write = write(warehouse, ctx, &tables::DAILY_ATTENDANCE, rollup, days, "daily attendance rollup", started);
    Ok((counted, tokio::spawn(write)))
}

/// Writes a rollup's rows over `days` of its table (`None`: the whole table) and registers
/// the table in `ctx` as its commit left it (its log is not read again): the wall time
/// from `started`.
async fn write(
    warehouse: Warehouse,
    ctx: SessionContext,
    def: &'static TableDef,
    rollup: DataFrame,
    days: Option<(i32, i32)>,
    operation: &str,
    started: Instant,
) -> Result<Duration> {
    let written = warehouse.write_days(def, rollup, days, metadata(operation)).await?;
    session::register_loaded(&ctx, def, &written.table).await?;
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A failed write does not cut the others short: every write has ended when `finish`
    /// returns, with the first error met; without one, each phase's time.
    #[tokio::test]
    async fn every_write_ends_before_finish_returns() {
        let ended = Arc::new(AtomicBool::new(false));
        let slow = {
            let ended = ended.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                ended.store(true, Ordering::SeqCst);
                Ok(Duration::from_millis(200))
            })
        };
        let failed = tokio::spawn(async { Err(Error::Internal("the activity rollup's commit failed".into())) });
        let writing = Writing(vec![("activity rollup", failed), ("attendance rollup", slow)]);
        let e = writing.finish().await.unwrap_err();
        assert!(e.to_string().contains("commit failed"), "{e}");
        assert!(ended.load(Ordering::SeqCst), "the other write ended first");

        let done = |ms| tokio::spawn(async move { Ok(Duration::from_millis(ms)) });
        let writing = Writing(vec![("activity rollup", done(3)), ("attendance rollup", done(4))]);
        let phases = writing.finish().await.unwrap();
        assert_eq!(
            phases,
            vec![("activity rollup", Duration::from_millis(3)), ("attendance rollup", Duration::from_millis(4))]
        );
        assert!(Writing::default().finish().await.unwrap().is_empty());
    }
}
