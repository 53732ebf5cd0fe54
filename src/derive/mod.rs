//! Derived tables: what Rollcall computes from the ingested tables and stores, so the
//! stages that read it do not recompute it. Swipe outcomes (card swipes reconciled with
//! the timetable and class lists) and the daily rollups the rating reads.

pub mod rollups;
pub mod swipes;
