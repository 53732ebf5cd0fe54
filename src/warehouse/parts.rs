//! A table written by several writers side by side, in one commit: all of it replaced, or
//! rows appended.
//!
//! Delta's write encodes every file of an unpartitioned table on one thread: at year scale
//! the ratings' 4.1 million rows took about 2 s of Parquet encoding after everything else
//! had finished, with the other core idle (BENCHMARKS.md), and an ingested file's rows were
//! encoded on one core while the next file was read. A frame whose partitions each hold a
//! run of days, in day order, or a file's rows cut into runs, is written here a run per
//! writer, each writer on its own task, and every file is committed in one commit (that
//! also removes the table's current files, when all of it is replaced): readers see the
//! old rows or the new, never both or neither, and a job killed before the commit leaves
//! only files in no commit, for the next vacuum.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::dataframe::DataFrame;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::ExecutionPlanProperties;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafile::writer::{DeltaWriter, WriterConfig};
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Add};
use deltalake::logstore::ObjectStoreRef;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::table::config::TablePropertiesExt;
use deltalake::{DeltaTable, DeltaTableError};
use futures::StreamExt;

use super::tables::TableDef;
use super::{Warehouse, Written, target_file_size, writer_properties};
use crate::error::{Error, Result};

impl Warehouse {
    /// Writes a query's result in place of all of a table's rows, in one commit, each of
    /// the plan's partitions through its own writer, side by side. For frames whose
    /// partitions each hold a run of days in day order, the runs themselves in day order
    /// (the rating's `ranked` view): a merge at the plan's top that
    /// keeps their order is left out, as it would only put the runs one after another, so
    /// each file holds neighbouring days, as [`Warehouse::write_days`]' files do. Returns
    /// the table as its commit left it and the rows it added.
    pub async fn replace_in_parts(
        &self,
        def: &TableDef,
        df: DataFrame,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<Written> {
        let table = self.table(def).await?;
        let task = Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await.map_err(|e| Error::query(def.name, e))?;
        let plan = match plan.downcast_ref::<SortPreservingMergeExec>() {
            Some(merge) if merge.fetch().is_none() => merge.input().clone(),
            _ => plan,
        };
        let parts = (0..plan.output_partitioning().partition_count())
            .map(|partition| plan.execute(partition, task.clone()).map_err(|e| Error::query(def.name, e)))
            .collect::<Result<Vec<_>>>()?;
        self.write_side_by_side(def, table, plan.schema(), parts, SaveMode::Overwrite, metadata).await
    }

    /// Appends rows already in the table's order in one commit, `parts` runs of them
    /// (about equal, one after another) each encoded by its own writer, side by side: an
    /// ingested file's rows are written on every core instead of one. Returns the table's
    /// new version.
    pub async fn append_in_parts(
        &self,
        def: &TableDef,
        rows: RecordBatch,
        parts: usize,
        operation: &str,
    ) -> Result<i64> {
        let table = self.table(def).await?;
        let (schema, count) = (rows.schema(), rows.num_rows());
        let parts = parts.clamp(1, count.max(1));
        let streams = (0..parts)
            .map(|part| {
                let (from, to) = (part * count / parts, (part + 1) * count / parts);
                let batches = futures::stream::iter([Ok(rows.slice(from, to - from))]);
                Box::pin(RecordBatchStreamAdapter::new(schema.clone(), batches)) as SendableRecordBatchStream
            })
            .collect();
        let metadata = super::operation_metadata(operation);
        let written = self.write_side_by_side(def, table, schema, streams, SaveMode::Append, metadata).await?;
        Ok(written.table.version().unwrap_or_default() as i64)
    }

    /// Writes each of `parts` (rows of `schema`) through its own writer, side by side,
    /// then commits every file in one commit: appended (`SaveMode::Append`), or in place of
    /// all the table's files (`SaveMode::Overwrite`).
    async fn write_side_by_side(
        &self,
        def: &TableDef,
        mut table: DeltaTable,
        schema: SchemaRef,
        parts: Vec<SendableRecordBatchStream>,
        mode: SaveMode,
        mut metadata: HashMap<String, serde_json::Value>,
    ) -> Result<Written> {
        fits(def, &schema).map_err(|e| Error::table(def.name, e))?;
        let snapshot = table.snapshot().map_err(|e| Error::table(def.name, e))?;
        let properties = snapshot.table_config();
        let stats_columns =
            properties.data_skipping_stats_columns.as_ref().map(|c| c.iter().map(ToString::to_string).collect());
        let config = WriterConfig::new(
            schema.clone(),
            Vec::new(),
            Some(writer_properties(def)),
            target_file_size(def),
            None,
            properties.num_indexed_cols(),
            stats_columns,
        );
        let removes: Vec<Action> = match mode {
            SaveMode::Overwrite => {
                snapshot.log_data().iter().map(|file| Action::Remove(file.remove_action(true))).collect()
            }
            _ => Vec::new(),
        };
        let store = table.log_store().object_store(None);

        let mut writers = tokio::task::JoinSet::new();
        for rows in parts {
            writers.spawn(write_part(rows, schema.clone(), store.clone(), config.clone()));
        }
        // Every part is let finish (a part cancelled mid-file could leave its upload
        // behind); a failed part has aborted its open file.
        let (mut adds, mut rows, mut failed) = (Vec::new(), 0u64, None);
        while let Some(done) = writers.join_next().await {
            match done {
                Ok(Ok((written, count))) => {
                    adds.extend(written);
                    rows += count;
                }
                Ok(Err(e)) => {
                    failed.get_or_insert(Error::table(def.name, e));
                }
                Err(e) => {
                    failed.get_or_insert(Error::stopped("writing a table's files", &e));
                }
            }
        }
        if let Some(e) = failed {
            // The files of the parts that finished are in no commit: removed now rather
            // than left for the next vacuum.
            let dir = self.table_dir(def.name);
            for add in &adds {
                let _ = std::fs::remove_file(dir.join(&add.path));
            }
            return Err(e);
        }

        let counts = serde_json::json!({
            "num_added_files": adds.len(),
            "num_removed_files": removes.len(),
            "num_added_rows": rows,
        });
        metadata.insert("operationMetrics".into(), counts);
        let mut actions = removes;
        actions.extend(adds.into_iter().map(Action::Add));
        let operation = DeltaOperation::Write { mode, partition_by: None, predicate: None };
        CommitBuilder::from(self.commit_properties(metadata))
            .with_actions(actions)
            .build(Some(snapshot), table.log_store(), operation)
            .await
            .map_err(|e| Error::table(def.name, e))?;
        self.committed(def)?;
        table.update_state().await.map_err(|e| Error::table(def.name, e))?;
        Ok(Written { table, rows })
    }
}

/// Writes one partition's rows through its own writer: the files it wrote and its rows.
/// On failure its open file is aborted; files it had finished are in no commit, for the
/// next vacuum.
async fn write_part(
    mut rows: datafusion::execution::SendableRecordBatchStream,
    schema: SchemaRef,
    store: ObjectStoreRef,
    config: WriterConfig,
) -> std::result::Result<(Vec<Add>, u64), DeltaTableError> {
    let mut writer = DeltaWriter::new(store, config);
    let mut count = 0u64;
    while let Some(batch) = rows.next().await {
        let written = match batch {
            Ok(batch) => {
                count += batch.num_rows() as u64;
                // Batches of a partition carry its schema; the writer compares them whole.
                let batch = if batch.schema() == schema {
                    batch
                } else {
                    arrow::array::RecordBatch::try_new(schema.clone(), batch.columns().to_vec())?
                };
                writer.write(&batch).await
            }
            Err(e) => Err(e.into()),
        };
        if let Err(e) = written {
            let _ = writer.abort().await;
            return Err(e);
        }
    }
    Ok((writer.close().await?, count))
}

/// Whether rows of `schema` fit the table's columns: the same names in the same order, each
/// of the table's type (text of any Arrow layout being text).
fn fits(def: &TableDef, schema: &SchemaRef) -> std::result::Result<(), DeltaTableError> {
    let text = |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
    let table = def.schema();
    let same = table.fields().len() == schema.fields().len()
        && table.fields().iter().zip(schema.fields()).all(|(want, have)| {
            want.name() == have.name()
                && (want.data_type() == have.data_type() || (text(want.data_type()) && text(have.data_type())))
        });
    if same {
        Ok(())
    } else {
        Err(DeltaTableError::Generic("the rows to write do not have the table's columns".into()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
    use datafusion::catalog::streaming::StreamingTable;
    use datafusion::execution::{SendableRecordBatchStream, TaskContext};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use datafusion::physical_plan::streaming::PartitionStream;
    use datafusion::prelude::{SessionContext, col};

    use super::super::{Warehouse, tables};

    /// A day's attendance rows for `students` students.
    fn day(day: i32, students: usize) -> RecordBatch {
        let ids: Vec<String> = (0..students).map(|s| format!("S{s:04}")).collect();
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("student_id", Arc::new(StringArray::from_iter_values(ids))),
            ("day", Arc::new(Date32Array::from(vec![day; students]))),
            ("expected", Arc::new(Int64Array::from(vec![i64::from(day % 3); students]))),
            ("attended", Arc::new(Int64Array::from(vec![1; students]))),
            ("excused", Arc::new(Int64Array::from(vec![0; students]))),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    }

    /// A partition of days served in order, or failing after its first day (`fails`).
    #[derive(Debug)]
    struct Days {
        days: Vec<RecordBatch>,
        fails: bool,
    }

    impl PartitionStream for Days {
        fn schema(&self) -> &arrow::datatypes::SchemaRef {
            self.days[0].schema_ref()
        }

        fn execute(&self, _: Arc<TaskContext>) -> SendableRecordBatchStream {
            let mut rows: Vec<datafusion::error::Result<RecordBatch>> = self.days.iter().cloned().map(Ok).collect();
            if self.fails {
                rows.truncate(1);
                rows.push(Err(datafusion::error::DataFusionError::Execution("the source failed".into())));
            }
            Box::pin(RecordBatchStreamAdapter::new(self.schema().clone(), futures::stream::iter(rows)))
        }
    }

    /// A frame of three partitions, each a run of days in order, sorted by day at its top.
    fn frame(ctx: &SessionContext, fails: bool) -> datafusion::dataframe::DataFrame {
        let runs = [(20_000..20_004), (20_004..20_007), (20_007..20_010)];
        let parts: Vec<Arc<dyn PartitionStream>> = runs
            .iter()
            .enumerate()
            .map(|(k, run)| {
                let days = run.clone().map(|d| day(d, 500)).collect();
                Arc::new(Days { days, fails: fails && k == 1 }) as _
            })
            .collect();
        let order = vec![col("day").sort(true, false), col("student_id").sort(true, false)];
        let table = StreamingTable::try_new(day(0, 1).schema(), parts).unwrap().with_sort_order(order.clone());
        ctx.read_table(Arc::new(table)).unwrap().sort(order).unwrap()
    }

    async fn rows_and_days(warehouse: &Warehouse) -> (usize, Vec<(i32, i32)>) {
        let table = warehouse.table(&tables::DAILY_ATTENDANCE).await.unwrap();
        let ctx = SessionContext::new();
        ctx.register_table("t", table.table_provider().await.unwrap()).unwrap();
        let count = ctx.table("t").await.unwrap().count().await.unwrap();
        // Each file's day range, from the statistics Delta keeps for it.
        let files = table.snapshot().unwrap().add_actions_table(true).unwrap();
        let stat = |name: &str| {
            let column = files.column_by_name(name).unwrap();
            column.as_any().downcast_ref::<Date32Array>().unwrap().values().to_vec()
        };
        let mut days: Vec<(i32, i32)> = stat("min.day").into_iter().zip(stat("max.day")).collect();
        days.sort();
        (count, days)
    }

    fn parquet_files(warehouse: &Warehouse) -> usize {
        let dir = warehouse.table_dir("daily_attendance");
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "parquet"))
            .count()
    }

    /// Every row replaced in one commit, each run of days in files of its own; a part that
    /// fails leaves the table as it was, and no file of the write behind; rows appended in
    /// runs, one commit, a file each.
    #[tokio::test]
    async fn a_table_is_written_by_its_parts_side_by_side_in_one_commit_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (warehouse, _) = Warehouse::init(dir.path(), "staged-review").await.unwrap();
        let def = &tables::DAILY_ATTENDANCE;
        warehouse.append(def, vec![day(19_990, 40), day(19_991, 40)], "before").await.unwrap();
        let ctx = SessionContext::new();

        let written = warehouse.replace_in_parts(def, frame(&ctx, false), HashMap::new()).await.unwrap();
        assert_eq!(written.rows, 10 * 500);
        assert_eq!(crate::warehouse::added_rows(&written.table).await.unwrap(), 10 * 500);
        let (rows, days) = rows_and_days(&warehouse).await;
        assert_eq!(rows, 10 * 500, "the old rows are gone");
        assert_eq!(days, vec![(20_000, 20_003), (20_004, 20_006), (20_007, 20_009)], "a file per run of days");
        let version = warehouse.version(def).await.unwrap();

        let files = parquet_files(&warehouse);
        let failed = warehouse.replace_in_parts(def, frame(&ctx, true), HashMap::new()).await;
        let message = failed.unwrap_err().to_string();
        assert!(message.contains("daily_attendance"), "{message}");
        assert_eq!(warehouse.version(def).await.unwrap(), version, "no commit");
        assert_eq!(rows_and_days(&warehouse).await.0, 10 * 500);
        assert_eq!(parquet_files(&warehouse), files, "the finished parts' files are removed");

        // Rows appended in two runs: two files, one commit, the rows before kept.
        let rows = arrow::compute::concat_batches(&day(0, 1).schema(), &[day(20_010, 300), day(20_011, 300)]).unwrap();
        warehouse.append_in_parts(def, rows, 2, "appended").await.unwrap();
        assert_eq!(warehouse.version(def).await.unwrap(), version + 1, "one commit");
        let (rows, days) = rows_and_days(&warehouse).await;
        assert_eq!(rows, 10 * 500 + 600);
        assert_eq!(&days[3..], &[(20_010, 20_010), (20_011, 20_011)], "a file for each run");
        let version = version + 1;

        // Rows without the table's columns are refused before anything is written.
        let other = ctx
            .read_batch(RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]).unwrap());
        assert!(warehouse.replace_in_parts(def, other.unwrap(), HashMap::new()).await.is_err());
        assert_eq!(warehouse.version(def).await.unwrap(), version);
    }
}
