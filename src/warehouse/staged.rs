//! Files written to a table ahead of their commit: a long export is written in chunks as
//! it is read, and all of one input file's chunks are committed in one Delta commit at the
//! end, or removed. Until then no reader sees them (they are in no commit), and a job
//! killed before the commit leaves only files the next vacuum removes.

use std::collections::HashMap;
use std::path::PathBuf;

use arrow::array::RecordBatch;
use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Add};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use super::Warehouse;
use super::tables::TableDef;
use crate::error::{Error, Result};

/// Parquet files written to one table and not yet committed.
pub struct StagedFiles {
    def: TableDef,
    dir: PathBuf,
    writer: RecordBatchWriter,
    adds: Vec<Add>,
    warehouse: Warehouse,
}

impl std::fmt::Debug for StagedFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedFiles").field("table", &self.def.name).field("files", &self.adds.len()).finish()
    }
}

impl Warehouse {
    /// Starts staging files for `table` (open, at the version they will be committed on).
    pub fn stage_files(&self, def: &TableDef, table: &DeltaTable) -> Result<StagedFiles> {
        let writer = RecordBatchWriter::for_table(table)
            .map_err(|e| Error::table(def.name, e))?
            .with_writer_properties(super::writer_properties(def));
        Ok(StagedFiles { def: *def, dir: self.table_dir(def.name), writer, adds: Vec::new(), warehouse: self.clone() })
    }
}

impl StagedFiles {
    /// Writes batches out as files (one chunk).
    pub async fn write(&mut self, batches: Vec<RecordBatch>) -> Result<()> {
        for batch in batches {
            if batch.num_rows() > 0 {
                self.writer.write(batch).await.map_err(|e| Error::table(self.def.name, e))?;
            }
        }
        let adds = self.writer.flush().await.map_err(|e| Error::table(self.def.name, e))?;
        self.adds.extend(adds);
        Ok(())
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.adds.is_empty()
    }

    /// The staged files' paths, to read what was written before the commit.
    pub fn paths(&self) -> Vec<String> {
        self.adds.iter().map(|a| self.dir.join(&a.path).to_string_lossy().into_owned()).collect()
    }

    /// Commits every staged file to `table` in one append commit recording `operation`,
    /// and brings `table` up to date. Returns whether there was anything to commit.
    pub async fn commit(&mut self, table: &mut DeltaTable, operation: &str) -> Result<bool> {
        if self.adds.is_empty() {
            return Ok(false);
        }
        let metadata: HashMap<String, serde_json::Value> =
            HashMap::from([("rollcall.operation".to_string(), operation.into())]);
        let actions: Vec<Action> = self.adds.drain(..).map(Action::Add).collect();
        let snapshot = table.snapshot().map_err(|e| Error::table(self.def.name, e))?;
        let op = DeltaOperation::Write { mode: SaveMode::Append, partition_by: None, predicate: None };
        CommitBuilder::from(self.warehouse.commit_properties(metadata))
            .with_actions(actions)
            .build(Some(snapshot), table.log_store(), op)
            .await
            .map_err(|e| Error::table(self.def.name, e))?;
        super::fault::step();
        table.update_state().await.map_err(|e| Error::table(self.def.name, e))?;
        Ok(true)
    }

    /// Removes the staged files (they were never committed).
    pub fn discard(&mut self) {
        for add in self.adds.drain(..) {
            let _ = std::fs::remove_file(self.dir.join(&add.path));
        }
    }
}
