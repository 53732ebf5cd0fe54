//! How a job that writes starts: it takes the warehouse lock (held until the job is
//! dropped), creates any table missing from an older warehouse, and builds its session.

use datafusion::prelude::SessionContext;

use super::session::{self, Access};
use crate::error::Result;
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
        // Rows recorded in the console while another job held the lock come first.
        warehouse.apply_queue(&lock).await?;
        let ctx = session::build(warehouse, access).await?;
        Ok(Job { warehouse, ctx, lock })
    }

    /// Ends the job and hands its lock to the caller, who keeps the warehouse to itself
    /// while it finishes (a return writing its output file, say).
    pub fn into_parts(self) -> (WriteLock, SessionContext) {
        (self.lock, self.ctx)
    }
}
