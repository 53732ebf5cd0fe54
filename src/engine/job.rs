//! How a job that writes starts: it takes the warehouse lock (held until the job is
//! dropped), creates any table missing from an older warehouse, and builds its session.
//! After writing a table it re-registers it, so the job's later queries read what it wrote.

use datafusion::prelude::SessionContext;

use super::session::{self, Access};
use crate::error::Result;
use crate::warehouse::tables::TableDef;
use crate::warehouse::{Warehouse, WriteLock};

/// A running job: the lock, the warehouse and a session over it.
pub struct Job<'w> {
    /// The warehouse written.
    pub warehouse: &'w Warehouse,
    /// The job's session.
    pub ctx: SessionContext,
    lock: WriteLock,
}

impl std::fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("warehouse", &self.warehouse.root()).finish_non_exhaustive()
    }
}

impl<'w> Job<'w> {
    /// Takes the lock (waiting for another job to finish), creates missing tables and
    /// builds a session with `access`.
    pub async fn start(warehouse: &'w Warehouse, access: Access) -> Result<Job<'w>> {
        let lock = warehouse.lock()?;
        warehouse.create_missing_tables().await?;
        let ctx = session::build(warehouse, access).await?;
        Ok(Job { warehouse, ctx, lock })
    }

    /// Re-registers a table after the job wrote it.
    pub async fn refresh(&self, def: &TableDef) -> Result<()> {
        session::register(&self.ctx, self.warehouse, def).await
    }

    /// Ends the job and hands its lock to the caller, who keeps the warehouse to itself
    /// while it finishes (a return writing its output file, say).
    pub fn into_parts(self) -> (WriteLock, SessionContext) {
        (self.lock, self.ctx)
    }
}
