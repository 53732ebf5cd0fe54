//! What event adapters look rows up in: students' identities in other systems, and the
//! timetable.

use std::collections::HashMap;

use arrow::array::{Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::queries;

/// Students' identities in other systems: (domain, identifier) and email to student.
pub struct Identities {
    by_key: HashMap<(String, String), u32>,
    ids: Vec<String>,
}

impl Identities {
    /// Loads the identity map and students' emails.
    pub async fn load(ctx: &SessionContext) -> Result<Identities> {
        let mut ids: Vec<String> = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut by_key = HashMap::new();
        for batch in queries::collect(ctx, "ingest/identities", &[]).await? {
            let domain = text_column(&batch, 0)?;
            let identifier = text_column(&batch, 1)?;
            let student = text_column(&batch, 2)?;
            for row in 0..batch.num_rows() {
                let id = student.value(row);
                let next = ids.len() as u32;
                let n = *index.entry(id.to_string()).or_insert_with(|| {
                    ids.push(id.to_string());
                    next
                });
                by_key.insert((domain.value(row).to_string(), identifier.value(row).to_string()), n);
            }
        }
        Ok(Identities { by_key, ids })
    }

    /// The student an identifier in `domain` belongs to; an email address is also looked
    /// up among students' emails.
    pub fn resolve(&self, domain: &str, identifier: &str) -> Option<u32> {
        let identifier = identifier.trim().to_lowercase();
        if identifier.is_empty() {
            return None;
        }
        self.by_key.get(&(domain.to_string(), identifier.clone())).copied().or_else(|| {
            identifier.contains('@').then(|| self.by_key.get(&("email".to_string(), identifier)).copied()).flatten()
        })
    }

    /// The student id of an index `resolve` returned.
    pub fn student_id(&self, index: u32) -> &str {
        &self.ids[index as usize]
    }
}

/// A query result column as text.
pub fn text_column(batch: &RecordBatch, i: usize) -> Result<StringArray> {
    let column = arrow::compute::cast(batch.column(i), &arrow::datatypes::DataType::Utf8)?;
    column
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| Error::Internal("a query returned a non-text column".into()))
}

/// A timetabled session, for matching online meetings and attendance statements.
#[derive(Debug, Clone)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Module code.
    pub module: String,
    /// Start (UTC microseconds).
    pub starts_at: i64,
    /// End (UTC microseconds).
    pub ends_at: i64,
    /// Delivery (`online`, `in-person`, ...).
    pub delivery: String,
    /// The room attendance is recorded in (`online:SESSION` when the session has none).
    pub room: String,
}

/// The timetable, for matching meetings and attendance statements to sessions.
pub async fn load_sessions(ctx: &SessionContext) -> Result<Vec<Session>> {
    let mut out = Vec::new();
    for batch in queries::collect(ctx, "ingest/adapter_sessions", &[]).await? {
        let id = text_column(&batch, 0)?;
        let module = text_column(&batch, 1)?;
        let starts = micros_column(&batch, 2)?;
        let ends = micros_column(&batch, 3)?;
        let delivery = text_column(&batch, 4)?;
        let room = text_column(&batch, 5)?;
        for row in 0..batch.num_rows() {
            out.push(Session {
                id: id.value(row).to_string(),
                module: module.value(row).to_string(),
                starts_at: starts.value(row),
                ends_at: ends.value(row),
                delivery: if delivery.is_null(row) { String::new() } else { delivery.value(row).to_lowercase() },
                room: room.value(row).to_string(),
            });
        }
    }
    Ok(out)
}

fn micros_column(batch: &RecordBatch, i: usize) -> Result<&TimestampMicrosecondArray> {
    batch
        .column(i)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .ok_or_else(|| Error::Internal("session query returned a non-timestamp column".into()))
}
