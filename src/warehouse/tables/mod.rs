//! The warehouse tables and their Arrow schemas.
//!
//! Raw tables hold what was ingested (after validation); derived tables are recomputed
//! from them. Every timestamp is UTC microseconds; every `day` is the local calendar day.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// One warehouse table.
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    /// Table (and directory) name.
    pub name: &'static str,
    /// Column names and types.
    pub columns: &'static [(&'static str, Col)],
    /// Whether analysts can query it with `rollcall sql`.
    pub analyst_visible: bool,
    /// What the table holds, for `--help` and the README.
    pub about: &'static str,
}

/// Column types used in the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// UTF-8 text.
    Text,
    /// A calendar day.
    Date,
    /// An instant, UTC microseconds.
    Timestamp,
    /// A 64-bit integer.
    Int,
    /// A 64-bit float.
    Float,
}

impl Col {
    /// The Arrow type stored for this column type.
    pub fn data_type(self) -> DataType {
        match self {
            Col::Text => DataType::Utf8,
            Col::Date => DataType::Date32,
            Col::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Col::Int => DataType::Int64,
            Col::Float => DataType::Float64,
        }
    }
}

impl TableDef {
    /// The table's Arrow schema (every column nullable: absence is meaningful data).
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|(name, col)| Field::new(*name, col.data_type(), true)).collect::<Vec<_>>(),
        ))
    }

    /// Column names in order.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> {
        self.columns.iter().map(|(name, _)| *name)
    }
}

mod casework;
mod derived;
mod ingested;
mod records;

pub use casework::*;
pub use derived::*;
pub use ingested::*;
pub use records::*;

/// Every table, in creation order.
pub const ALL: &[TableDef] = &[
    STUDENTS,
    EQUALITY,
    STUDENT_ID_MAP,
    SESSIONS,
    CLASS_LISTS,
    SWIPES,
    SWIPE_OUTCOMES,
    ACTIVITY,
    ABSENCES,
    STATUS_PERIODS,
    STAFF,
    TERMS,
    BANK_HOLIDAYS,
    INGEST_LOG,
    DAILY_ACTIVITY,
    DAILY_ATTENDANCE,
    RATINGS,
    RATING_RUNS,
    CASES,
    CASE_EVENTS,
    UKVI_REPORTS,
    PRIVACY_BUDGET,
    EQUALITY_RELEASES,
    EQUALITY_EXTRACTS,
    EQUALITY_POPULATIONS,
    LEGAL_HOLDS,
    RETENTION_RUNS,
    DISCLOSURES,
    CONSENTS,
    SAR_REQUESTS,
    SAR_LOG,
    OUTBOX,
    MAIL_LOG,
    CASE_DECISIONS,
    CASE_MEETINGS,
];

/// Looks a table up by name.
pub fn by_name(name: &str) -> Option<TableDef> {
    ALL.iter().copied().find(|t| t.name == name)
}
