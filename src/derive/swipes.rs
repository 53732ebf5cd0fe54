//! Reconciling card swipes with the timetable and class lists into attendance.
//!
//! The `swipe_outcomes` table is derived: it is recomputed from `swipes`, `sessions` and
//! `class_lists` after any ingest that changes one of them, so files can arrive in any
//! order and a corrected class list or timetable changes the result. Each recomputation
//! records the versions of the three tables it read; if a job was killed between
//! committing new swipes and reconciling them, the next ingest sees the mismatch and
//! reconciles.
//!
//! When an ingest changed only one of the three since the last reconciliation read them
//! (swipes added, or sessions or class lists replaced), only the days the change can
//! affect are recomputed and replaced: the days of the new swipes, or of the changed
//! sessions (their held days and their new ones), and the two on either side (a session's
//! swipes are at most two days apart). Anything else reconciles all, so a timetable or
//! class-list change costs its own days, not every swipe ever held.

use arrow::array::Array;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;

use crate::engine::cells::{self, date};
use crate::engine::session;
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::tables::{self, TableDef};

const SOURCES_KEY: &str = "rollcall.sources";
const SOURCES: [TableDef; 3] = [tables::SWIPES, tables::SESSIONS, tables::CLASS_LISTS];

/// How many swipes ended in each outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// Outcome name to count, e.g. `attended`, `repeat`, `not on class list`.
    pub by_outcome: Vec<(String, i64)>,
}

impl OutcomeCounts {
    /// The count for one outcome (0 when absent).
    pub fn get(&self, outcome: &str) -> i64 {
        self.by_outcome.iter().find(|(o, _)| o == outcome).map_or(0, |(_, n)| *n)
    }
}

async fn source_versions(warehouse: &Warehouse) -> Result<serde_json::Value> {
    let mut map = serde_json::Map::new();
    for def in &SOURCES {
        map.insert(def.name.into(), warehouse.version(def).await?.into());
    }
    Ok(map.into())
}

/// The source versions the last reconciliation recorded (none if the table's last commit
/// was not a reconciliation).
async fn recorded_sources(warehouse: &Warehouse) -> Result<Option<serde_json::Value>> {
    let table = warehouse.table(&tables::SWIPE_OUTCOMES).await?;
    let mut history = table.history(Some(1));
    match history.next().await {
        Some(Ok(commit)) => Ok(commit.info.get(SOURCES_KEY).cloned()),
        Some(Err(e)) => Err(Error::table(tables::SWIPE_OUTCOMES.name, e)),
        None => Ok(None),
    }
}

/// Whether `swipe_outcomes` was computed from older versions of its sources.
pub async fn is_stale(warehouse: &Warehouse) -> Result<bool> {
    let recorded = recorded_sources(warehouse).await?;
    let current = source_versions(warehouse).await?;
    Ok(match recorded {
        Some(recorded) => recorded != current,
        // Never computed: stale only if there is something to reconcile.
        None => warehouse.version(&tables::SWIPES).await? > 0,
    })
}

/// What one ingest changed in one of the reconciliation's sources: the table, its version
/// before the ingest, and the days the change can affect.
#[derive(Debug, Clone, Copy)]
pub struct ChangedSource {
    /// `swipes`, `sessions` or `class_lists`.
    pub table: &'static str,
    /// The table's version before the ingest's first commit.
    pub before: i64,
    /// The first and last day of the swipes added, or of the sessions changed (days since
    /// the epoch).
    pub days: (i32, i32),
}

/// How many days apart two swipes counted for one session can be: a session is offered
/// to swipes from the day before it starts to the day after.
const REACH_DAYS: i32 = 2;

/// Every day an input file can name (years 0000 to 9999), for reconciling all swipes.
const ALL_DAYS: (i32, i32) = (-719_528, 2_932_896);

/// Recomputes `swipe_outcomes` in one commit: the days `changed` can affect when only that
/// change was made since the last reconciliation, else every swipe.
pub async fn refresh(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    changed: Option<ChangedSource>,
) -> Result<OutcomeCounts> {
    let def = tables::SWIPE_OUTCOMES;
    let sources = source_versions(warehouse).await?;
    let only_days = match changed {
        Some(changed) => {
            let recorded = recorded_sources(warehouse).await?;
            let recorded_of = |name: &str| recorded.as_ref().and_then(|r| r.get(name));
            let others_same =
                SOURCES.iter().filter(|s| s.name != changed.table).all(|s| recorded_of(s.name) == sources.get(s.name));
            let before = recorded_of(changed.table).and_then(|v| v.as_i64());
            (others_same && before == Some(changed.before)).then_some(changed.days)
        }
        None => None,
    };
    for source in &SOURCES {
        session::register(ctx, warehouse, source).await?;
    }
    let (from, to) = only_days.map_or(ALL_DAYS, |(first, last)| (first - REACH_DAYS, last + REACH_DAYS));
    let window_us = i64::from(warehouse.config().ingest.swipe_window_before_minutes) * 60_000_000;
    let params = [
        ("window_us", ScalarValue::Int64(Some(window_us))),
        ("from_day", date(from)),
        ("to_day", date(to)),
        ("read_from", date(from - REACH_DAYS)),
        ("read_to", date(to + REACH_DAYS)),
    ];
    // Streamed into the table: the outcomes are never all held in memory at once.
    let outcomes = queries::plan(ctx, "derive/swipe_outcomes", &params).await?;
    let operation = match (only_days, changed.map(|c| c.table)) {
        (None, _) => "reconcile swipes",
        (Some(_), Some("swipes")) => "reconcile new swipes' days",
        (Some(_), _) => "reconcile the changed sessions' days",
    };
    let mut metadata = super::metadata(operation);
    metadata.insert(SOURCES_KEY.to_string(), sources);
    metadata.insert("rollcall.query_sha256".to_string(), queries::digest("derive/swipe_outcomes")?.into());
    let replace = Some(only_days.map(|_| crate::warehouse::day_between(from, to)));
    warehouse.write_frame(&def, outcomes, replace, metadata).await?;
    session::register(ctx, warehouse, &def).await?;
    counts(ctx).await
}

/// Counts swipes per outcome.
pub async fn counts(ctx: &SessionContext) -> Result<OutcomeCounts> {
    let batches = queries::collect(ctx, "derive/swipe_outcome_counts", &[]).await?;
    let mut by_outcome = Vec::new();
    for batch in batches {
        let (outcome, n) = (cells::texts(&batch, "outcome")?, cells::ints(&batch, "swipes")?);
        for i in 0..batch.num_rows() {
            if outcome.is_valid(i) {
                by_outcome.push((outcome.value(i).to_string(), n.value(i)));
            }
        }
    }
    Ok(OutcomeCounts { by_outcome })
}
