//! Every catalog query plans against the production schema: the tables and views of a
//! freshly initialised warehouse, with Rollcall's functions. A renamed column or table
//! fails here, by query name, before any job runs it.
//!
//! Each case's procedure step and next dated item (`case_steps`, `steps`, `case_next_items`) are
//! registered as every case list registers them. Some queries read inputs a job registers
//! at run time (staged rows, the ladder's rungs,
//! the demo's ground truth, the parts a composed statement names); they are planned once
//! those names are registered as empty tables of the columns the query reads, so only a
//! missing input is tolerated, and only where listed.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use rollcall::engine::session::{self, Access};
use rollcall::queries::CATALOG;
use rollcall::warehouse::Warehouse;

/// Queries that read a table (or call a function) a job registers, and its name.
const RUNTIME_INPUTS: &[(&str, &str)] = &[
    ("ingest/held_swipes", "staged"),
    ("ingest/held_activity", "staged"),
    ("ingest/held_absences", "staged"),
    ("ingest/held_status_periods", "staged"),
    ("ingest/new_activity", "staged"),
    ("ingest/new_activity_late", "written"),
    ("ingest/merge_students", "staged"),
    ("ingest/merge_equality", "staged"),
    ("ingest/merge_sessions", "staged"),
    ("ingest/merge_class_lists", "staged"),
    ("ingest/changed_days_sessions", "staged"),
    ("ingest/changed_days_class_lists", "staged"),
    ("ingest/merge_staff", "staged"),
    ("ingest/merge_terms", "staged"),
    ("ingest/merge_student_id_map", "staged"),
    ("ingest/merge_bank_holidays", "staged"),
    ("rating/scores", "windowed"),
    ("rating/cohort_ranks", "scored"),
    ("rating/ratings", "ranked"),
    ("rating/windowed_join", "rating_grid"),
    ("rating/windowed_running", "daily_signals"),
    ("review/rating_rungs", "rungs"),
    ("review/weeks_rungs", "rungs"),
    ("review/low_days_rungs", "rungs"),
    ("review/outcome_rungs", "rungs"),
    ("review/new_cases", "candidates"),
    ("review/still_low", "rungs"),
    ("returns/funder", "periods"),
    ("equality/census", "census_dates"),
    ("equality/rekey", "old_pseudonym"),
    ("equality/rekey_check", "old_pseudonym"),
    ("equality/rekey_populations", "old_pseudonym"),
    ("demo/week_four", "truth"),
    ("demo/false_alarms", "truth"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalog_query_plans_against_the_production_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (warehouse, _) = Warehouse::init(&dir.path().join("w"), "staged-review").await.unwrap();
    let ctx = session::build(&warehouse, Access::Internal { with_equality: true }).await.unwrap();
    // Each case's step and its dated items, as every job and page that lists cases registers them.
    rollcall::review::procedure::register(&ctx, &warehouse.config().review, 0).await.unwrap();
    let mut failures = Vec::new();
    let mut needing_input = Vec::new();
    for (name, sql) in CATALOG {
        match ctx.sql(sql).await {
            Ok(_) => {}
            Err(e) => {
                let message = e.strip_backtrace();
                let missing = RUNTIME_INPUTS.iter().find(|(q, _)| q == name).map(|(_, t)| *t);
                match missing {
                    Some(input)
                        if message.contains(&format!("table 'rollcall.warehouse.{input}' not found"))
                            || message.contains(&format!("Invalid function '{input}'")) =>
                    {
                        needing_input.push(*name)
                    }
                    _ => failures.push(format!("{name}: {message}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "queries that do not plan:\n{}", failures.join("\n"));
    let listed: Vec<&str> = RUNTIME_INPUTS.iter().map(|(q, _)| *q).collect();
    let stale: Vec<&&str> = listed.iter().filter(|q| !needing_input.contains(q)).collect();
    assert!(stale.is_empty(), "listed as needing a run-time input but planned without it: {stale:?}");
    // The runtime tables are real inputs: with an empty table of that name, a query plans
    // as far as its columns (checked for the ones whose columns are fixed).
    let empty = |columns: &[(&str, DataType)]| {
        let schema =
            Arc::new(Schema::new(columns.iter().map(|(n, t)| Field::new(*n, t.clone(), true)).collect::<Vec<_>>()));
        Arc::new(MemTable::try_new(schema.clone(), vec![vec![]]).unwrap())
    };
    ctx.register_table(
        "truth",
        empty(&[
            ("student_id", DataType::Utf8),
            ("disengage_week", DataType::Int64),
            ("disengage_monday", DataType::Utf8),
            ("not_monitored", DataType::Boolean),
            ("distance", DataType::Boolean),
        ]),
    )
    .unwrap();
    for name in ["demo/week_four", "demo/false_alarms"] {
        let sql = rollcall::queries::sql(name).unwrap();
        ctx.sql(sql).await.unwrap_or_else(|e| panic!("{name}: {}", e.strip_backtrace()));
    }
}
