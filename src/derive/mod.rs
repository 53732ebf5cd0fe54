//! Derived tables: what Rollcall computes from the ingested tables and stores, so the
//! stages that read it do not recompute it. Swipe outcomes (card swipes reconciled with
//! the timetable and class lists) and the daily rollups the rating reads.

pub mod activity_days;
pub mod attendance_days;
pub mod rollups;
pub mod swipes;

use std::collections::HashMap;

/// The commit metadata naming the operation that wrote a derived table.
pub fn metadata(operation: &str) -> HashMap<String, serde_json::Value> {
    HashMap::from([("rollcall.operation".to_string(), serde_json::Value::from(operation))])
}
