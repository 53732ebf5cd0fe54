//! The warehouse: a directory of Delta Lake tables plus `rollcall.toml`.
//!
//! Every write is one atomic Delta commit, so a job killed at any point leaves each table
//! at its previous or its next version, never in between. Jobs that write take the
//! warehouse lock, so two of them never interleave their read-modify-write cycles.

pub mod fault;
mod files;
mod parts;
pub mod queue;
pub mod row;
mod staged;
pub mod tables;

pub use staged::StagedFiles;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::prelude::Expr;
pub use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::parquet::basic::{Compression, Encoding};
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::protocol::SaveMode;
use url::Url;

use crate::config::{CONFIG_FILE, Config};
use crate::domain::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use tables::TableDef;

pub use files::{apply_output_mode, create_private_dir, private_options, write_all_atomically, write_atomically};

const LOCK_FILE: &str = ".rollcall.lock";
/// The audit trail's head (last sequence number and hash), relative to the warehouse. Each
/// commit records it (`rollcall.audit_head` in the commit's metadata), so a trail cut back
/// or rewritten contradicts the tables' own logs.
pub const AUDIT_HEAD_FILE: &str = "audit/head";
/// The key in a commit's metadata that anchors the audit trail.
pub const AUDIT_ANCHOR: &str = "rollcall.audit_head";
const TABLES_DIR: &str = "tables";

/// Commits between a table's checkpoints (`delta.checkpointInterval`, set when the table is
/// created; Delta's default is 100).
const CHECKPOINT_INTERVAL: &str = "10";

/// An opened warehouse with its configuration.
#[derive(Debug, Clone)]
pub struct Warehouse {
    root: PathBuf,
    config: Config,
    clock: Arc<dyn Clock>,
    /// How long [`Warehouse::lock`] waits for another job (`None`: until it is released).
    lock_wait: Option<std::time::Duration>,
}

/// Holds the warehouse write lock until dropped.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

/// What `Warehouse::init` did.
#[derive(Debug, Default)]
pub struct InitReport {
    /// Tables created now (the others existed).
    pub created_tables: Vec<&'static str>,
    /// Whether `rollcall.toml` was written now.
    pub wrote_config: bool,
}

impl Warehouse {
    /// Creates the warehouse directory, `rollcall.toml` (if absent) and any missing table.
    pub async fn init(root: &Path, preset: &str) -> Result<(Warehouse, InitReport)> {
        if !crate::config::PRESETS.contains(&preset) {
            return Err(Error::Usage(format!(
                "unknown preset '{preset}', expected one of {}",
                crate::config::PRESETS.join(", ")
            )));
        }
        // The warehouse is its owner's alone (0700): nobody else may list or read its tables.
        create_private_dir(&root.join(TABLES_DIR))?;
        {
            use std::os::unix::fs::PermissionsExt;
            let private = std::fs::Permissions::from_mode(files::PRIVATE_DIR);
            std::fs::set_permissions(root, private).map_err(|e| Error::io(root, e))?;
        }
        let mut report = InitReport::default();
        let config_path = root.join(CONFIG_FILE);
        if !config_path.exists() {
            write_atomically(&config_path, Config::template(preset).as_bytes())?;
            report.wrote_config = true;
        }
        let warehouse = Warehouse::open(root, None)?;
        let _lock = warehouse.lock()?;
        report.created_tables = warehouse.create_missing_tables().await?;
        Ok((warehouse, report))
    }

    /// Opens an existing warehouse, reading `config` or else `ROOT/rollcall.toml`.
    pub fn open(root: &Path, config: Option<&Path>) -> Result<Warehouse> {
        let default_config = root.join(CONFIG_FILE);
        if !root.join(TABLES_DIR).is_dir() {
            return Err(Error::NoWarehouse { path: root.to_path_buf() });
        }
        let config = Config::load(config.unwrap_or(&default_config))?;
        let root = std::path::absolute(root).map_err(|e| Error::io(root, e))?;
        Ok(Warehouse { root, config, clock: Arc::new(SystemClock), lock_wait: None })
    }

    /// The warehouse directory (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The warehouse with its jobs' time taken from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Warehouse {
        self.clock = clock;
        self
    }

    /// The warehouse with its write lock waited for at most `wait` (`None`: until released).
    pub fn with_lock_wait(mut self, wait: Option<std::time::Duration>) -> Warehouse {
        self.lock_wait = wait;
        self
    }

    /// The clock jobs on this warehouse stamp their records with.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The directory of one table.
    pub fn table_dir(&self, name: &str) -> PathBuf {
        self.root.join(TABLES_DIR).join(name)
    }

    fn table_url(&self, name: &str) -> Result<Url> {
        let dir = self.table_dir(name);
        Url::from_directory_path(&dir)
            .map_err(|()| Error::Internal(format!("table path {} is not absolute", dir.display())))
    }

    /// Takes the warehouse write lock, waiting for another job to finish if need be.
    pub fn lock(&self) -> Result<WriteLock> {
        let path = self.root.join(LOCK_FILE);
        let file = files::private_options().truncate(false).write(true).open(&path).map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => match self.lock_wait {
                None => {
                    eprintln!("waiting for another rollcall job to release the warehouse lock ...");
                    file.lock().map_err(|e| Error::io(&path, e))?;
                }
                Some(limit) => {
                    eprintln!(
                        "waiting up to {} s for another rollcall job to release the warehouse lock ...",
                        limit.as_secs()
                    );
                    let started = std::time::Instant::now();
                    loop {
                        match file.try_lock() {
                            Ok(()) => break,
                            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < limit => {
                                std::thread::sleep(std::time::Duration::from_millis(100));
                            }
                            Err(std::fs::TryLockError::WouldBlock) => {
                                return Err(Error::Refused(format!(
                                    "another rollcall job still holds the warehouse lock after {} s (--wait); \
                                     nothing was done. Run again when it has finished",
                                    limit.as_secs()
                                )));
                            }
                            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
                        }
                    }
                }
            },
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        Ok(WriteLock { _file: file })
    }

    /// Creates every table that does not exist yet; returns the names created.
    pub async fn create_missing_tables(&self) -> Result<Vec<&'static str>> {
        let mut created = Vec::new();
        for def in tables::ALL {
            if !self.table_dir(def.name).join("_delta_log").is_dir() {
                let dir = self.table_dir(def.name);
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let table =
                    DeltaTable::try_from_url(self.table_url(def.name)?).await.map_err(|e| Error::table(def.name, e))?;
                table
                    .write(vec![RecordBatch::new_empty(def.schema())])
                    .with_save_mode(SaveMode::ErrorIfExists)
                    .with_table_name(def.name)
                    .with_description(def.about)
                    // A checkpoint every ten commits: opening a table (every job opens
                    // every table) reads at most nine commits after it, not a year's
                    // ingests one by one (61 commits of activity took 31 ms to replay).
                    .with_configuration([("delta.checkpointInterval", Some(CHECKPOINT_INTERVAL))])
                    .await
                    .map_err(|e| Error::table(def.name, e))?;
                created.push(def.name);
            }
        }
        Ok(created)
    }

    /// Opens a table at its latest version.
    pub async fn table(&self, def: &TableDef) -> Result<DeltaTable> {
        if !self.table_dir(def.name).join("_delta_log").is_dir() {
            return Err(Error::Warehouse {
                path: self.root.clone(),
                message: format!("table '{}' is missing; run `rollcall init` to create it", def.name),
            });
        }
        deltalake::open_table(self.table_url(def.name)?).await.map_err(|e| Error::table(def.name, e))
    }

    /// The student ids of the table's files that may hold rows whose `day` lies in
    /// `lo..=hi` (day numbers) and, when `students` is given, whose `student_id` lies in one
    /// of its ranges (first and last id, both included), by the statistics Delta keeps for
    /// each file: each such file's first and last id, `None` for a file without statistics
    /// of its ids. Empty when no file may hold such rows.
    pub async fn reaching_students(
        &self,
        def: &TableDef,
        days: (i32, i32),
        students: Option<&[(&str, &str)]>,
    ) -> Result<Vec<Option<(String, String)>>> {
        reaching(&self.table(def).await?, days, students).map_err(|e| Error::table(def.name, e))
    }

    /// Appends typed rows to their table in one commit; returns the new version.
    pub async fn append_rows<R: row::Row>(&self, rows: &[R], operation: &str) -> Result<i64> {
        self.append(&R::TABLE, vec![row::batch(rows)?], operation).await
    }

    /// Appends rows given as cells by column name, in one commit; returns the new version.
    pub async fn append_named(&self, def: &TableDef, rows: &[Vec<row::Cell>], operation: &str) -> Result<i64> {
        self.append(def, vec![row::named(def, rows)?], operation).await
    }

    /// Appends batches to a table in one commit; returns the new version.
    pub async fn append(&self, def: &TableDef, batches: Vec<RecordBatch>, operation: &str) -> Result<i64> {
        self.write(def, batches, SaveMode::Append, operation).await
    }

    /// Replaces a table's contents in one commit; returns the new version.
    pub async fn overwrite(&self, def: &TableDef, batches: Vec<RecordBatch>, operation: &str) -> Result<i64> {
        self.write(def, batches, SaveMode::Overwrite, operation).await
    }

    /// Appends batches to a table in one commit whose metadata carries `metadata`.
    pub async fn append_tagged(
        &self,
        def: &TableDef,
        batches: Vec<RecordBatch>,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<i64> {
        self.write_with(def, batches, SaveMode::Append, metadata).await
    }

    async fn write(&self, def: &TableDef, batches: Vec<RecordBatch>, mode: SaveMode, operation: &str) -> Result<i64> {
        self.write_with(def, batches, mode, operation_metadata(operation)).await
    }

    async fn write_with(
        &self,
        def: &TableDef,
        batches: Vec<RecordBatch>,
        mode: SaveMode,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<i64> {
        let table = self.table(def).await?;
        let batches = if batches.is_empty() { vec![RecordBatch::new_empty(def.schema())] } else { batches };
        let table = table
            .write(batches)
            .with_writer_properties(writer_properties(def))
            .with_save_mode(mode)
            .with_commit_properties(self.commit_properties(metadata))
            .await
            .map_err(|e| Error::table(def.name, e))?;
        self.committed(def)?;
        Ok(table.version().unwrap_or_default() as i64)
    }

    /// The files of a table analysts never see (special-category data, pseudonymised
    /// populations) are owner-only after every write, whatever the umask.
    fn keep_private(&self, def: &TableDef) -> Result<()> {
        if def.analyst_visible { Ok(()) } else { files::restrict_tree(&self.table_dir(def.name)) }
    }

    /// After every commit: the table's files kept private, and a durable step counted.
    fn committed(&self, def: &TableDef) -> Result<()> {
        fault::step();
        self.keep_private(def)
    }

    /// A commit's properties: its metadata plus the audit trail's head as it stood when
    /// the commit was made (see [`AUDIT_HEAD_FILE`]).
    pub(crate) fn commit_properties(&self, mut metadata: HashMap<String, serde_json::Value>) -> CommitProperties {
        if let Ok(head) = std::fs::read_to_string(self.root.join(AUDIT_HEAD_FILE)) {
            metadata.insert(AUDIT_ANCHOR.to_string(), head.trim().into());
        }
        CommitProperties::default().with_metadata(metadata)
    }

    /// Writes a query's result to a table in one commit, streaming (never collected in
    /// memory). `replace`: `None` appends; `Some(None)` replaces the whole table;
    /// `Some(Some(predicate))` replaces the rows matching the predicate. Returns the
    /// table's new version.
    pub async fn write_frame(
        &self,
        def: &TableDef,
        df: datafusion::dataframe::DataFrame,
        replace: Option<Option<datafusion::prelude::Expr>>,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<i64> {
        let table = self.write_committed(def, self.table(def).await?, df, replace, metadata).await?;
        Ok(table.version().unwrap_or_default() as i64)
    }

    /// Writes a query's result in place of the table's rows of the days `lo..=hi` (day
    /// numbers), or of all its rows when `days` is `None`, in one commit; returns the table
    /// as its commit left it (to register without reading its log again) and the rows the
    /// commit added. When no file's day statistics reach those days (a new day's rollup or
    /// ratings), nothing is there to replace and the rows are appended: Delta's search for
    /// the rows to replace took 25-30 ms of a 40 ms commit of a day's rows.
    pub async fn write_days(
        &self,
        def: &TableDef,
        df: datafusion::dataframe::DataFrame,
        days: Option<(i32, i32)>,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<Written> {
        let table = self.table(def).await?;
        let replace = match days {
            None => Some(None),
            Some((lo, hi)) if may_hold(&table, (lo, hi)).map_err(|e| Error::table(def.name, e))? => {
                Some(Some(day_between(lo, hi)))
            }
            Some(_) => None,
        };
        let table = self.write_committed(def, table, df, replace, metadata).await?;
        let rows = added_rows(&table).await.map_err(|e| Error::table(def.name, e))?;
        Ok(Written { table, rows })
    }

    /// The write of [`Warehouse::write_frame`] to `table` (opened by the caller): the table
    /// as its commit left it.
    async fn write_committed(
        &self,
        def: &TableDef,
        table: DeltaTable,
        df: datafusion::dataframe::DataFrame,
        replace: Option<Option<datafusion::prelude::Expr>>,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<DeltaTable> {
        let (state, plan) = df.into_parts();
        let input = ordered_input(&state, &plan).await.map_err(|e| Error::query(def.name, e))?;
        let mut builder = table
            .write(Vec::new())
            .with_target_file_size(target_file_size(def))
            .with_writer_properties(writer_properties(def))
            .with_input_plan(input)
            .with_session_state(std::sync::Arc::new(state))
            .with_commit_properties(self.commit_properties(metadata));
        builder = match replace {
            None => builder.with_save_mode(SaveMode::Append),
            Some(None) => builder.with_save_mode(SaveMode::Overwrite),
            Some(Some(predicate)) => builder.with_save_mode(SaveMode::Overwrite).with_replace_where(predicate),
        };
        let table = builder.await.map_err(|e| Error::table(def.name, e))?;
        self.committed(def)?;
        Ok(table)
    }

    /// Deletes the rows matching `predicate` in one commit; returns how many.
    pub async fn delete_where(&self, def: &TableDef, predicate: Expr) -> Result<u64> {
        self.delete_tagged(def, predicate, HashMap::new()).await
    }

    /// Deletes the rows matching `predicate` in one commit whose metadata carries
    /// `metadata` (the commit also records how many rows it deleted); returns how many.
    pub async fn delete_tagged(
        &self,
        def: &TableDef,
        predicate: Expr,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<u64> {
        let (_, metrics) = self
            .table(def)
            .await?
            .delete()
            .with_predicate(predicate)
            .with_writer_properties(writer_properties(def))
            .with_commit_properties(self.commit_properties(metadata))
            .await
            .map_err(|e| Error::table(def.name, e))?;
        self.committed(def)?;
        Ok(metrics.num_deleted_rows.unwrap_or(0) as u64)
    }

    /// Rows deleted by the commits of a table whose metadata holds `key` = `value`, as far
    /// back as its transaction log reaches.
    pub async fn rows_deleted_by(&self, def: &TableDef, key: &str, value: &str) -> Result<u64> {
        use futures::StreamExt;
        let table = self.table(def).await?;
        let mut history = table.history(None);
        let mut rows = 0;
        while let Some(commit) = history.next().await {
            let commit = commit.map_err(|e| Error::table(def.name, e))?;
            if commit.info.get(key).and_then(|v| v.as_str()) == Some(value) {
                let metrics = commit.info.get("operationMetrics");
                rows += metrics.and_then(|m| m.get("num_deleted_rows")).and_then(|n| n.as_u64()).unwrap_or(0);
            }
        }
        Ok(rows)
    }

    /// The audit head each commit of a table recorded (see [`AUDIT_ANCHOR`]), by version,
    /// as far back as its transaction log reaches.
    pub async fn audit_anchors(&self, def: &TableDef) -> Result<Vec<(i64, String)>> {
        use futures::StreamExt;
        let table = self.table(def).await?;
        let latest = table.version().unwrap_or_default();
        let mut history = table.history(None);
        let mut anchors = Vec::new();
        let mut i = 0;
        while let Some(commit) = history.next().await {
            let commit = commit.map_err(|e| Error::table(def.name, e))?;
            let version = commit.read_version.map(|v| v as i64 + 1).unwrap_or(latest as i64 - i);
            if let Some(head) = commit.info.get(AUDIT_ANCHOR).and_then(|v| v.as_str()) {
                anchors.push((version, head.to_string()));
            }
            i += 1;
        }
        Ok(anchors)
    }

    /// Sets `column` to `value` in the rows matching `predicate`, in one commit; returns how many.
    pub async fn update_where(&self, def: &TableDef, predicate: Expr, column: &str, value: Expr) -> Result<u64> {
        let (_, metrics) = self
            .table(def)
            .await?
            .update()
            .with_predicate(predicate)
            .with_update(column, value)
            .with_commit_properties(self.commit_properties(HashMap::new()))
            .await
            .map_err(|e| Error::table(def.name, e))?;
        self.committed(def)?;
        Ok(metrics.num_updated_rows as u64)
    }

    /// Physically removes every file of a table that its latest version does not use
    /// (superseded and orphaned Parquet files), whatever their age.
    pub async fn vacuum(&self, def: &TableDef) -> Result<usize> {
        let table = self.table(def).await?;
        let (_, metrics) = table
            .vacuum()
            .with_retention_period(chrono::Duration::zero())
            .with_enforce_retention_duration(false)
            .with_mode(deltalake::operations::vacuum::VacuumMode::Full)
            .await
            .map_err(|e| Error::table(def.name, e))?;
        fault::step();
        Ok(metrics.files_deleted.len())
    }

    /// Checkpoints a table at its latest version and removes every older transaction-log
    /// file, so no log entry (with its file statistics, min/max values included) describes
    /// data the table no longer holds.
    pub async fn clean_log(&self, def: &TableDef) -> Result<usize> {
        let table = self.table(def).await?;
        let version = table.version().unwrap_or_default();
        if version == 0 {
            return Ok(0);
        }
        deltalake::checkpoints::create_checkpoint(&table, None).await.map_err(|e| Error::table(def.name, e))?;
        let cutoff = chrono::Utc::now().timestamp_millis() + 60_000;
        let removed =
            deltalake::checkpoints::cleanup_expired_logs_for(version, table.log_store().as_ref(), cutoff, None)
                .await
                .map_err(|e| Error::table(def.name, e))?;
        fault::step();
        Ok(removed)
    }

    /// Removes every earlier version of a table (its files, then its log), leaving only the
    /// latest, and makes what remains owner-only (files 0600, directories 0700).
    pub async fn forget_history(&self, def: &TableDef) -> Result<()> {
        self.vacuum(def).await?;
        self.clean_log(def).await?;
        self.keep_private(def)
    }

    /// The latest version of a table.
    pub async fn version(&self, def: &TableDef) -> Result<i64> {
        Ok(self.table(def).await?.version().unwrap_or_default() as i64)
    }
}

/// A query's rows as one stream, in the query's own order, behind a scan.
///
/// Given the query itself, the writer plans it under its own root, where the query's
/// final sort is no longer required and the optimiser drops it: files then held rows in
/// hash order, each spanning every day, so a one-day replacement rewrote the whole table
/// and no scan could skip a file by day. Planned and started here, the order is settled
/// before the writer sees the rows; they still stream (never all in memory).
async fn ordered_input(
    state: &datafusion::execution::SessionState,
    plan: &datafusion::logical_expr::LogicalPlan,
) -> datafusion::error::Result<datafusion::logical_expr::LogicalPlan> {
    // A sorted query ends in one partition; an unsorted one's partitions are merged in any order.
    let physical = state.create_physical_plan(plan).await?;
    let stream = datafusion::physical_plan::execute_stream(physical, state.task_ctx())?;
    let rows = OnceStream { schema: stream.schema(), stream: std::sync::Mutex::new(Some(stream)) };
    let table =
        datafusion::catalog::streaming::StreamingTable::try_new(rows.schema.clone(), vec![std::sync::Arc::new(rows)])?;
    datafusion::logical_expr::LogicalPlanBuilder::scan(
        "rows",
        datafusion::datasource::provider_as_source(std::sync::Arc::new(table)),
        None,
    )?
    .build()
}

/// A stream of rows that can be read once.
struct OnceStream {
    schema: arrow::datatypes::SchemaRef,
    stream: std::sync::Mutex<Option<datafusion::execution::SendableRecordBatchStream>>,
}

impl std::fmt::Debug for OnceStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnceStream").finish_non_exhaustive()
    }
}

impl datafusion::physical_plan::streaming::PartitionStream for OnceStream {
    fn schema(&self) -> &arrow::datatypes::SchemaRef {
        &self.schema
    }

    fn execute(
        &self,
        _: std::sync::Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::execution::SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        taken.unwrap_or_else(|| {
            let failed = futures::stream::once(async {
                Err(datafusion::error::DataFusionError::Internal("the rows to write were already read".into()))
            });
            Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(self.schema.clone(), failed))
        })
    }
}

/// Rows whose `day` lies in `lo..=hi` (day numbers).
pub fn day_between(lo: i32, hi: i32) -> Expr {
    datafusion::prelude::col("day")
        .between(datafusion::prelude::lit(row::day(Some(lo))), datafusion::prelude::lit(row::day(Some(hi))))
}

/// A table as a write's commit left it, and the rows that commit added.
#[derive(Debug)]
pub struct Written {
    /// The table at the commit's version.
    pub table: DeltaTable,
    /// The rows the commit added (its `num_added_rows`).
    pub rows: u64,
}

/// Whether a file of `table` may hold rows whose `day` lies in `lo..=hi` (see [`reaching`]).
fn may_hold(table: &DeltaTable, days: (i32, i32)) -> deltalake::DeltaResult<bool> {
    let files = table.snapshot()?.add_actions_table(true)?;
    let reaches = day_overlaps(&files, days);
    Ok((0..files.num_rows()).any(reaches))
}

/// Whether file `i` of `files` (a table's add actions with their statistics) may hold rows
/// whose `day` lies in `lo..=hi`: a file without day statistics may.
fn day_overlaps(files: &RecordBatch, (lo, hi): (i32, i32)) -> impl Fn(usize) -> bool + '_ {
    use arrow::array::{Array, Date32Array};
    let stat = |name: &str| files.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<Date32Array>());
    let days = stat("min.day").zip(stat("max.day"));
    move |i| match days {
        Some((min, max)) => min.is_null(i) || max.is_null(i) || (min.value(i) <= hi && lo <= max.value(i)),
        None => true,
    }
}

/// The files of `table` that may hold rows whose `day` lies in `lo..=hi` and, when
/// `students` is given, whose `student_id` lies in one of its ranges, by the statistics
/// Delta keeps for each file (a file without them may): each file's least and greatest
/// student id, `None` when its statistics have none.
fn reaching(
    table: &DeltaTable,
    days: (i32, i32),
    students: Option<&[(&str, &str)]>,
) -> deltalake::DeltaResult<Vec<Option<(String, String)>>> {
    use arrow::array::{Array, StringArray};
    let files = table.snapshot()?.add_actions_table(true)?;
    let day_overlaps = day_overlaps(&files, days);
    // Parquet's statistics of long text are cut short, the least value down and the
    // greatest up, so they still bound the file's ids.
    let text = |name: &str| -> deltalake::DeltaResult<Option<StringArray>> {
        let Some(column) = files.column_by_name(name) else { return Ok(None) };
        let column = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8)?;
        Ok(column.as_any().downcast_ref::<StringArray>().cloned())
    };
    let ids = text("min.student_id")?.zip(text("max.student_id")?);
    let ids_of = |i: usize| match &ids {
        Some((first, last)) if first.is_valid(i) && last.is_valid(i) => Some((first.value(i), last.value(i))),
        _ => None,
    };
    let student_overlaps = |i: usize| match (students, ids_of(i)) {
        (Some(ranges), Some((first, last))) => ranges.iter().any(|(from, to)| first <= *to && *from <= last),
        _ => true,
    };
    Ok((0..files.num_rows())
        .filter(|&i| day_overlaps(i) && student_overlaps(i))
        .map(|i| ids_of(i).map(|(first, last)| (first.to_owned(), last.to_owned())))
        .collect())
}

/// The rows the table's latest commit added, from the metrics Delta records with it.
async fn added_rows(table: &DeltaTable) -> deltalake::DeltaResult<u64> {
    use futures::StreamExt;
    let mut history = table.history(Some(1));
    let commit = history.next().await.transpose()?;
    let metrics = commit.as_ref().and_then(|c| c.info.get("operationMetrics"));
    let rows = metrics.and_then(|m| m.get("num_added_rows")).and_then(serde_json::Value::as_u64);
    rows.ok_or_else(|| deltalake::DeltaTableError::Generic("the write's commit records no count of rows added".into()))
}

/// Derived tables are written in day order (see `ordered_input`) in files of about 1 MiB,
/// about ten days of a 30,000-student year (swipe outcomes: 4 MiB, about a week): a day's
/// recomputation (`replace_where` on its days) rewrites one or two small files instead of
/// a year's worth, and reads prune to the files of the days asked for.
fn target_file_size(def: &TableDef) -> Option<std::num::NonZeroU64> {
    match def.name {
        name if DAY_ORDERED.contains(&name) => std::num::NonZeroU64::new(1 << 20),
        "swipe_outcomes" => std::num::NonZeroU64::new(4 << 20),
        _ => None,
    }
}

/// Columns holding when an event happened: near-unique and, in a table's order, rising
/// within each student, so they are stored as differences (Parquet's DELTA_BINARY_PACKED)
/// rather than through a dictionary: the year's activity files are a quarter smaller, and
/// writing them skips a dictionary lookup a row.
const EVENT_TIMES: [&str; 2] = ["occurred_at", "swiped_at"];

/// Derived tables stored day by day, students in id order within each day (see
/// `target_file_size`): a file of a few days holds each student id once a day (once a
/// source a day in the activity rollup), so their ids are stored plain, without a
/// dictionary. Interning every id into a file's dictionary took about a tenth of a full
/// rating's time; the ratings' files stay the same size, the activity rollup's grow by 15%
/// and the attendance rollup's (ids and three counts) by 80%, 17 MiB for a 30,000-student
/// year (BENCHMARKS.md).
const DAY_ORDERED: [&str; 3] = ["ratings", "daily_activity", "daily_attendance"];

/// How every file of a table is written (Snappy pages, as Delta writers write by default),
/// whichever operation writes it.
fn writer_properties(def: &TableDef) -> WriterProperties {
    let mut builder = WriterProperties::builder().set_compression(Compression::SNAPPY);
    if DAY_ORDERED.contains(&def.name) {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from("student_id"), false);
    }
    for &(name, col) in def.columns {
        if col == tables::Col::Timestamp && EVENT_TIMES.contains(&name) {
            builder = builder
                .set_column_dictionary_enabled(ColumnPath::from(name), false)
                .set_column_encoding(ColumnPath::from(name), Encoding::DELTA_BINARY_PACKED);
        }
    }
    builder.build()
}

/// Metadata naming a commit's operation.
fn operation_metadata(operation: &str) -> HashMap<String, serde_json::Value> {
    HashMap::from([("rollcall.operation".to_string(), operation.into())])
}

/// The operating-system account running this job, recorded with what it writes.
pub fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(user_of_process)
        .unwrap_or_else(|| "unknown".into())
}

/// The account name of this process's real user id (from /proc and /etc/passwd), for
/// jobs started without USER or LOGNAME.
fn user_of_process() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_string())
    })
}
