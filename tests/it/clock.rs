//! Jobs take their time from the warehouse's clock, so it can be pinned: a legal hold
//! placed under a fixed clock is dated and stamped by that clock, not the system's.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rollcall::domain::clock::FixedClock;
use rollcall::engine::session::{self, Access};
use rollcall::warehouse::Warehouse;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_clock_dates_and_stamps_what_a_job_records() {
    let dir = tempfile::tempdir().unwrap();
    let (warehouse, _) = Warehouse::init(&dir.path().join("w"), "staged-review").await.unwrap();
    let at: DateTime<Utc> = "2031-02-03T04:05:06Z".parse().unwrap();
    let warehouse = warehouse.with_clock(Arc::new(FixedClock(at)));
    rollcall::compliance::retention::hold(&warehouse, "S1", Some("REF-1"), false).await.unwrap();
    let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await.unwrap();
    let batches = ctx
        .sql("SELECT CAST(placed_on AS VARCHAR) AS day, CAST(recorded_at AS BIGINT) AS micros FROM legal_holds")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let day = rollcall::engine::cells::string_at(&batches, "day").unwrap();
    let micros = rollcall::engine::cells::int_at(&batches, "micros").unwrap();
    assert_eq!(day.as_deref(), Some(at.with_timezone(&chrono::Local).date_naive().to_string().as_str()));
    assert_eq!(micros, Some(at.timestamp_micros()));
}
