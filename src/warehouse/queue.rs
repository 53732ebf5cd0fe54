//! Rows recorded while a batch job holds the warehouse lock: a note on a case, an event
//! marked reported, an absence a student reports. The web console must answer within a
//! second and never lose what a user recorded, yet an ingest or rating run can hold the
//! lock for minutes. So a recorded row goes first to this small queue, with its own lock
//! held only for one append, and into its table by whichever comes first: the console
//! itself when the warehouse lock is free, or the next job that takes the lock (every job
//! applies the queue before it reads anything, so a return or an export sees it).
//!
//! The queue is `WAREHOUSE/queue/rows.jsonl` (mode 0600): one JSON line per entry, with
//! an opaque id, the table and the row's cells by column name. Its entries are personal
//! data until applied, and never stay long. Applying is exactly-once across a kill at any
//! point: each table's commit carries the ids it applied (`rollcall.queue_ids`), and
//! entries whose id a recent commit already carries are dropped, not applied again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use datafusion::scalar::ScalarValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::row::Cell;
use super::tables::{self, Col, TableDef};
use super::{Warehouse, WriteLock, create_private_dir, private_options, write_atomically};
use crate::error::{Error, Result};

/// The queue, relative to the warehouse.
pub const FILE: &str = "queue/rows.jsonl";
const LOCK: &str = "queue/rows.lock";
/// Commit metadata naming the queue entries a commit applied.
const APPLIED: &str = "rollcall.queue_ids";
/// How many of a table's latest commits are searched for entries already applied.
const HISTORY: usize = 50;

/// One recorded row waiting for its table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Opaque id.
    pub id: String,
    /// The table.
    pub table: String,
    /// The row's cells by column name (text, days since 1970 for dates, microseconds for
    /// timestamps).
    pub cells: BTreeMap<String, Value>,
}

impl Entry {
    /// The text of a cell, if it has one.
    pub fn text(&self, column: &str) -> Option<&str> {
        self.cells.get(column).and_then(Value::as_str)
    }
}

fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// Holds the queue's own lock (a few milliseconds at a time, never during a table write).
fn locked(root: &Path) -> Result<std::fs::File> {
    let lock = root.join(LOCK);
    create_private_dir(lock.parent().expect("in a directory"))?;
    let file = private_options().truncate(false).write(true).open(&lock).map_err(|e| Error::io(&lock, e))?;
    file.lock().map_err(|e| Error::io(&lock, e))?;
    Ok(file)
}

/// A cell's value as stored in the queue.
fn to_json(value: &ScalarValue) -> Value {
    match value {
        ScalarValue::Utf8(Some(t)) => Value::from(t.as_str()),
        ScalarValue::Date32(Some(d)) => Value::from(*d),
        ScalarValue::TimestampMicrosecond(Some(t), _) | ScalarValue::Int64(Some(t)) => Value::from(*t),
        ScalarValue::Float64(Some(f)) => Value::from(*f),
        _ => Value::Null,
    }
}

/// A stored value back as a cell of the column's type.
fn to_cell(def: &TableDef, column: &str, value: &Value) -> Result<Cell> {
    let (name, col) = def
        .columns
        .iter()
        .find(|(name, _)| *name == column)
        .ok_or_else(|| Error::Internal(format!("queued row: table '{}' has no column '{column}'", def.name)))?;
    let wrong =
        || Error::Internal(format!("queued row: column '{column}' of '{}' has a value of another type", def.name));
    let cell = match (col, value) {
        (_, Value::Null) => ScalarValue::try_from(col.data_type()).map_err(|e| Error::query(def.name, e))?,
        (Col::Text, Value::String(t)) => super::row::text(t.as_str()),
        (Col::Date, v) => super::row::day(Some(v.as_i64().and_then(|d| i32::try_from(d).ok()).ok_or_else(wrong)?)),
        (Col::Timestamp, v) => super::row::instant(Some(v.as_i64().ok_or_else(wrong)?)),
        (Col::Int, v) => super::row::int(v.as_i64().ok_or_else(wrong)?),
        (Col::Float, v) => super::row::float(v.as_f64().ok_or_else(wrong)?),
        _ => return Err(wrong()),
    };
    Ok((name, cell))
}

/// Every entry waiting, oldest first. A line cut short by a kill mid-append is passed over
/// (it was never acknowledged to the user).
pub fn pending(root: &Path) -> Result<Vec<Entry>> {
    let path = path(root);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut entries = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(&path, e))?;
        if let Ok(entry) = serde_json::from_str(&line) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// Removes entries from the queue (the file is replaced whole).
fn remove(root: &Path, ids: &HashSet<String>) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let _lock = locked(root)?;
    let kept: String = pending(root)?
        .iter()
        .filter(|e| !ids.contains(&e.id))
        .map(|e| serde_json::to_string(e).expect("an entry serialises") + "\n")
        .collect();
    write_atomically(&path(root), kept.as_bytes())
}

impl Warehouse {
    /// Records a row for `def` in the queue (fsynced before this returns) and returns its
    /// id. The row reaches its table when [`Warehouse::apply_queue`] next runs.
    pub fn enqueue(&self, def: &TableDef, cells: &[Cell]) -> Result<String> {
        let mut stored = BTreeMap::new();
        for (name, value) in cells {
            // Checked now, not when applied: a wrong column is the caller's error.
            to_cell(def, name, &to_json(value))?;
            stored.insert(name.to_string(), to_json(value));
        }
        let entry = Entry { id: format!("Q-{}", new_id()), table: def.name.to_string(), cells: stored };
        let _lock = locked(&self.root)?;
        let path = path(&self.root);
        let mut file = private_options().append(true).open(&path).map_err(|e| Error::io(&path, e))?;
        let line = serde_json::to_string(&entry).expect("an entry serialises") + "\n";
        file.write_all(line.as_bytes()).map_err(|e| Error::io(&path, e))?;
        file.sync_data().map_err(|e| Error::io(&path, e))?;
        super::fault::step();
        Ok(entry.id)
    }

    /// Takes the write lock if no job holds it, without waiting.
    pub fn try_lock(&self) -> Result<Option<WriteLock>> {
        let path = self.root.join(super::LOCK_FILE);
        let file = private_options().truncate(false).write(true).open(&path).map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(WriteLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    /// Writes every queued row into its table, one commit per table, and empties the queue
    /// of them; returns how many were applied. Needs the write lock.
    pub async fn apply_queue(&self, _lock: &WriteLock) -> Result<usize> {
        let entries = pending(&self.root)?;
        if entries.is_empty() {
            return Ok(0);
        }
        let mut by_table: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
        for entry in &entries {
            by_table.entry(entry.table.as_str()).or_default().push(entry);
        }
        let mut done = HashSet::new();
        let mut applied = 0;
        for (name, entries) in by_table {
            let def = tables::by_name(name)
                .ok_or_else(|| Error::Internal(format!("a queued row names no table ('{name}')")))?;
            let already = self.applied_ids(&def).await?;
            let fresh: Vec<&Entry> = entries.iter().copied().filter(|e| !already.contains(&e.id)).collect();
            if !fresh.is_empty() {
                let rows = fresh
                    .iter()
                    .map(|e| e.cells.iter().map(|(c, v)| to_cell(&def, c, v)).collect::<Result<Vec<_>>>())
                    .collect::<Result<Vec<_>>>()?;
                let ids: Vec<&str> = fresh.iter().map(|e| e.id.as_str()).collect();
                let metadata = HashMap::from([
                    ("rollcall.operation".to_string(), Value::from("recorded from the console")),
                    (APPLIED.to_string(), Value::from(ids.join(","))),
                ]);
                self.append_tagged(&def, vec![super::row::named(&def, &rows)?], metadata).await?;
                applied += fresh.len();
            }
            done.extend(entries.iter().map(|e| e.id.clone()));
        }
        remove(&self.root, &done)?;
        Ok(applied)
    }

    /// The queue ids the latest commits of a table applied.
    async fn applied_ids(&self, def: &TableDef) -> Result<HashSet<String>> {
        use futures::StreamExt;
        let table = self.table(def).await?;
        let mut history = table.history(Some(HISTORY));
        let mut ids = HashSet::new();
        while let Some(commit) = history.next().await {
            let commit = commit.map_err(|e| Error::table(def.name, e))?;
            if let Some(list) = commit.info.get(APPLIED).and_then(Value::as_str) {
                ids.extend(list.split(',').map(String::from));
            }
        }
        Ok(ids)
    }
}

/// A new random id (hex, 16 characters).
fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::row;

    fn absence(student: &str) -> Vec<Cell> {
        vec![
            ("student_id", row::text(student)),
            ("starts_on", row::day(Some(20_000))),
            ("ends_on", row::day(Some(20_001))),
            ("kind", row::text("reported")),
            ("reference", row::text(format!("ABS-{student}"))),
        ]
    }

    async fn rows_in(warehouse: &Warehouse) -> usize {
        let table = warehouse.table(&tables::ABSENCES).await.unwrap();
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.register_table("absences", table.table_provider().await.unwrap()).unwrap();
        let batches = ctx.sql("SELECT * FROM absences").await.unwrap().collect().await.unwrap();
        batches.iter().map(|b| b.num_rows()).sum()
    }

    #[tokio::test]
    async fn a_row_applied_before_a_kill_is_not_applied_again() {
        let dir = tempfile::tempdir().unwrap();
        let (warehouse, _) = Warehouse::init(dir.path(), "staged-review").await.unwrap();
        warehouse.enqueue(&tables::ABSENCES, &absence("S1")).unwrap();
        warehouse.enqueue(&tables::ABSENCES, &absence("S2")).unwrap();
        let queued = std::fs::read(path(dir.path())).unwrap();
        let lock = warehouse.try_lock().unwrap().expect("no job holds the lock");
        assert_eq!(warehouse.apply_queue(&lock).await.unwrap(), 2);
        assert!(pending(dir.path()).unwrap().is_empty(), "applied rows leave the queue");
        // A kill after the commit but before the queue was emptied: the queue still holds them.
        std::fs::write(path(dir.path()), &queued).unwrap();
        warehouse.enqueue(&tables::ABSENCES, &absence("S3")).unwrap();
        assert_eq!(warehouse.apply_queue(&lock).await.unwrap(), 1, "only the new row is applied");
        assert_eq!(rows_in(&warehouse).await, 3);
        assert!(pending(dir.path()).unwrap().is_empty());
        // A line cut short by a kill mid-append was never acknowledged: passed over.
        std::fs::write(path(dir.path()), b"{\"id\":\"Q-1\",\"tab").unwrap();
        assert_eq!(warehouse.apply_queue(&lock).await.unwrap(), 0);
        // A wrong column is refused when recorded, not when applied.
        assert!(warehouse.enqueue(&tables::ABSENCES, &[("no_such_column", row::text("x"))]).is_err());
        // Another holder of the lock: none for this caller.
        drop(lock);
        let held = warehouse.lock().unwrap();
        assert!(warehouse.try_lock().unwrap().is_none());
        drop(held);
    }
}
