//! Reconciling card swipes with the timetable and class lists into attendance.
//!
//! The `swipe_outcomes` table is derived: it is recomputed from `swipes`, `sessions` and
//! `class_lists` after any ingest that changes one of them, so files can arrive in any
//! order and a corrected class list or timetable changes the result. Each recomputation
//! records the versions of the three tables it read; if a job was killed between
//! committing new swipes and reconciling them, the next ingest sees the mismatch and
//! reconciles.

use std::collections::HashMap;

use arrow::array::{Array, Int64Array, StringArray};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;

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

/// Whether `swipe_outcomes` was computed from older versions of its sources.
pub async fn is_stale(warehouse: &Warehouse) -> Result<bool> {
    let table = warehouse.table(&tables::SWIPE_OUTCOMES).await?;
    let mut history = table.history(Some(1));
    let recorded = match history.next().await {
        Some(Ok(commit)) => commit.info.get(SOURCES_KEY).cloned(),
        Some(Err(e)) => return Err(Error::table(tables::SWIPE_OUTCOMES.name, e)),
        None => None,
    };
    let current = source_versions(warehouse).await?;
    Ok(match recorded {
        Some(recorded) => recorded != current,
        // Never computed: stale only if there is something to reconcile.
        None => warehouse.version(&tables::SWIPES).await? > 0,
    })
}

/// Recomputes `swipe_outcomes` from its sources in one commit.
pub async fn refresh(warehouse: &Warehouse, ctx: &SessionContext) -> Result<OutcomeCounts> {
    let def = tables::SWIPE_OUTCOMES;
    let sources = source_versions(warehouse).await?;
    for source in &SOURCES {
        session::register(ctx, warehouse, source).await?;
    }
    let window_us = i64::from(warehouse.config().ingest.swipe_window_before_minutes) * 60_000_000;
    // Streamed into the table: the outcomes are never all held in memory at once.
    let outcomes =
        queries::plan(ctx, "ingest/swipe_outcomes", &[("window_us", ScalarValue::Int64(Some(window_us)))]).await?;
    let metadata = HashMap::from([
        ("rollcall.operation".to_string(), serde_json::Value::from("reconcile swipes")),
        (SOURCES_KEY.to_string(), sources),
        ("rollcall.query_sha256".to_string(), queries::digest("ingest/swipe_outcomes")?.into()),
    ]);
    warehouse.write_frame(&def, outcomes, Some(None), metadata).await?;
    session::register(ctx, warehouse, &def).await?;
    counts(ctx).await
}

/// Counts swipes per outcome.
pub async fn counts(ctx: &SessionContext) -> Result<OutcomeCounts> {
    let batches = queries::collect(ctx, "ingest/swipe_outcome_counts", &[]).await?;
    let mut by_outcome = Vec::new();
    for batch in batches {
        let outcome = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8)?;
        let outcome = outcome.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        let n = arrow::compute::cast(batch.column(1), &arrow::datatypes::DataType::Int64)?;
        let n = n.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
        for i in 0..batch.num_rows() {
            if outcome.is_valid(i) {
                by_outcome.push((outcome.value(i).to_string(), n.value(i)));
            }
        }
    }
    Ok(OutcomeCounts { by_outcome })
}
