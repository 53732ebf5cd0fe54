//! THE place a DataFusion `SessionContext` is built: warehouse tables registered as Delta
//! table providers, the views analysts see, and nothing else.
//!
//! Analysts' sessions never contain the equality table, so no SQL they write can reach
//! special-category data.

use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;
use deltalake::delta_datafusion::planner::DeltaPlanner;

use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::tables::{self, TableDef};

/// Who the session is for.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// `rollcall sql`: every analyst-visible table and view, never the equality table.
    Analyst,
    /// Rollcall's own jobs; `with_equality` adds the equality table for the privacy path.
    Internal {
        /// Register the equality table too.
        with_equality: bool,
    },
    /// A job of Rollcall's own that reads and writes only these tables (never the
    /// equality table), so that it does not open the rest: a day's rating opens the 14 it
    /// reads, not all 34.
    Tables(&'static [TableDef]),
}

/// The settings of every session [`build`] makes.
fn config(access: Access) -> SessionConfig {
    SessionConfig::new()
        .with_information_schema(matches!(access, Access::Analyst))
        .with_default_catalog_and_schema("rollcall", "warehouse")
        // Settings Delta Lake's writer relies on (see deltalake's DeltaSessionConfig).
        .set_bool("datafusion.execution.parquet.schema_force_view_types", true)
        .set_usize("datafusion.optimizer.hash_join_inlist_pushdown_max_size", 0)
        .set_usize("datafusion.optimizer.hash_join_inlist_pushdown_max_distinct_values", 0)
        // DataFusion 55 filters the scan under an aggregate without GROUP BY by the bounds
        // its `min`/`max` of plain columns have reached so far, while ignoring any `min` or
        // `max` of an expression in the same aggregate, whose rows it can then drop: `min(day),
        // min(CASE WHEN feeds = 'activity' THEN day END)` in `rating/changes` came back NULL
        // in about one run in four on the year's warehouse, depending on which table's rows
        // arrived first (apache/datafusion#24816, fixed after 55). Delta's scans apply
        // pushed filters as they decode, so the filter is off here.
        .set_bool("datafusion.optimizer.enable_aggregate_dynamic_filter_pushdown", false)
}

/// Builds a session with the warehouse tables (as they are now) registered.
pub async fn build(warehouse: &Warehouse, access: Access) -> Result<SessionContext> {
    let config = config(access);
    // Sorts and aggregations spill to temporary files beyond the configured memory, so a
    // year of a large university is rated within a fixed budget.
    let mut runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new();
    let limit = warehouse.config().engine.memory_limit_mib;
    if limit > 0 {
        let pool = datafusion::execution::memory_pool::FairSpillPool::new((limit as usize) << 20);
        runtime = runtime.with_memory_pool(Arc::new(pool));
    }
    let runtime = runtime.build_arc().map_err(|e| Error::query("engine", e))?;
    // Delta's planner lets query results stream straight into Delta commits.
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_query_planner(DeltaPlanner::new())
        .build();
    let ctx = SessionContext::new_with_state(state);
    let wanted = tables::ALL.iter().filter(|def| match access {
        Access::Analyst => def.analyst_visible,
        Access::Internal { with_equality } => def.name != tables::EQUALITY.name || with_equality,
        Access::Tables(only) => def.name != tables::EQUALITY.name && only.iter().any(|t| t.name == def.name),
    });
    // The tables' logs are read on the runtime's threads side by side (each is a few
    // files' reading and parsing), then registered in table order.
    let shared = Arc::new(warehouse.clone());
    let opening: Vec<_> = wanted
        .map(|def| {
            let warehouse = Arc::clone(&shared);
            (def, tokio::spawn(async move { warehouse.table(def).await }))
        })
        .collect();
    for (def, task) in opening {
        let table = task.await.map_err(|e| Error::stopped("reading a table's log", &e))??;
        register_loaded(&ctx, def, &table).await?;
    }
    register_functions(&ctx).await?;
    let walk =
        ("walk_minutes", ScalarValue::Int64(Some(i64::from(warehouse.config().ingest.min_minutes_between_rooms))));
    for view in ["views/attendance", "views/rejected_swipes", "views/teaching_days", "views/suspicious_swipes"] {
        let params = if view == "views/suspicious_swipes" { std::slice::from_ref(&walk) } else { &[] };
        register_view(&ctx, view, params).await?;
    }
    Ok(ctx)
}

/// Registers (or re-registers, after the tables it reads were replaced) one view from the
/// query catalog, under its name without the `views/` folder.
pub async fn register_view(ctx: &SessionContext, view: &str, params: &[(&str, ScalarValue)]) -> Result<()> {
    let df = queries::plan(ctx, view, params).await?;
    let name = view.trim_start_matches("views/");
    ctx.deregister_table(name).map_err(|e| Error::query(view, e))?;
    ctx.register_table(name, df.into_view()).map_err(|e| Error::query(view, e))?;
    Ok(())
}

/// Registers Rollcall's SQL functions; `add_working_days` reads the bank holidays held.
async fn register_functions(ctx: &SessionContext) -> Result<()> {
    let mut holidays = std::collections::BTreeSet::new();
    if ctx.table_exist("bank_holidays").map_err(|e| Error::query("bank_holidays", e))? {
        let batches = queries::collect(ctx, "engine/bank_holidays", &[]).await?;
        for batch in batches {
            let dates = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Date32)?;
            let dates = dates.as_any().downcast_ref::<arrow::array::Date32Array>().expect("cast to Date32");
            holidays.extend(dates.iter().flatten());
        }
    }
    ctx.register_udf(crate::engine::udf::working_days::udf(holidays));
    for udf in crate::engine::udf::hesa::udfs() {
        ctx.register_udf(udf);
    }
    ctx.register_udwf(crate::engine::udf::trailing_sum::udwf());
    Ok(())
}

/// Registers (or re-registers, after a write) one warehouse table.
pub async fn register(ctx: &SessionContext, warehouse: &Warehouse, def: &TableDef) -> Result<()> {
    let table = warehouse.table(def).await?;
    table.update_datafusion_session(&ctx.state()).map_err(|e| Error::table(def.name, e))?;
    let provider = table.table_provider().await.map_err(|e| Error::query(def.name, e))?;
    ctx.deregister_table(def.name).map_err(|e| Error::query(def.name, e))?;
    ctx.register_table(def.name, provider).map_err(|e| Error::query(def.name, e))?;
    Ok(())
}

/// Registers a table already open (and brought up to date by the caller), without reading
/// its log again.
pub async fn register_loaded(ctx: &SessionContext, def: &TableDef, table: &deltalake::DeltaTable) -> Result<()> {
    table.update_datafusion_session(&ctx.state()).map_err(|e| Error::table(def.name, e))?;
    let provider = table.table_provider().await.map_err(|e| Error::query(def.name, e))?;
    ctx.deregister_table(def.name).map_err(|e| Error::query(def.name, e))?;
    ctx.register_table(def.name, provider).map_err(|e| Error::query(def.name, e))?;
    Ok(())
}

/// Registers in-memory batches under `name` (staged rows awaiting their commit).
pub fn register_batches(
    ctx: &SessionContext,
    name: &str,
    schema: arrow::datatypes::SchemaRef,
    batches: Vec<arrow::array::RecordBatch>,
) -> Result<()> {
    let table = MemTable::try_new(schema, vec![batches]).map_err(|e| Error::query(name, e))?;
    ctx.deregister_table(name).map_err(|e| Error::query(name, e))?;
    ctx.register_table(name, Arc::new(table)).map_err(|e| Error::query(name, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No session filters an aggregate's input by the bounds of some of its `min`/`max`
    /// (see [`config`]): that filter can drop rows another `min`/`max` of the same
    /// aggregate needs.
    #[test]
    fn no_session_prunes_an_aggregate_input_by_partial_bounds() {
        for access in [Access::Analyst, Access::Internal { with_equality: false }, Access::Tables(&[])] {
            assert!(!config(access).options().optimizer.enable_aggregate_dynamic_filter_pushdown);
        }
    }
}
