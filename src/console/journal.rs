//! The console's writer of audit entries and page-view records. Every page a user opens
//! adds an audit entry (and a student's page a line in `console/views.jsonl`), each
//! flushed to disk before the page answers. Written one request at a time, those flushes
//! queue behind each other and cap how many pages the console serves; here requests hand
//! their entries to one task, which writes everything waiting at once, with one flush to
//! disk per file for the lot (group commit), and answers each request once its entries
//! are on disk. The audit trail's chain is the same as if they were appended one by one.

use std::path::PathBuf;

use tokio::sync::{mpsc, oneshot};

use crate::compliance::audit::{self, Pending};
use crate::compliance::views::{self, View};
use crate::error::{Error, Result};

/// One request's entries, and where to say they are written.
struct Job {
    view: Option<View>,
    audit: Pending,
    done: oneshot::Sender<std::result::Result<(), &'static str>>,
}

/// The handle requests write through.
pub(super) struct Journal {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Journal {
    /// Starts the writer for the warehouse at `root` (on the running tokio runtime).
    pub fn start(root: PathBuf) -> Journal {
        let (jobs, mut waiting) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut batch = vec![first];
                while let Ok(job) = waiting.try_recv() {
                    batch.push(job);
                }
                let seen: Vec<View> = batch.iter().filter_map(|j| j.view.clone()).collect();
                let entries: Vec<Pending> = batch.iter().map(|j| j.audit.clone()).collect();
                let root = root.clone();
                let written = tokio::task::spawn_blocking(move || -> Result<()> {
                    // The view first: an audit entry never names a view that is not recorded.
                    views::append_all(&root, &seen)?;
                    audit::append_all(&root, entries).map(|_| ())
                })
                .await;
                let outcome = match written {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => {
                        tracing::error!("console: writing the audit trail: {}", e.code());
                        Err(e.code())
                    }
                    Err(_) => Err("stopped"),
                };
                for job in batch {
                    let _ = job.done.send(outcome);
                }
            }
        });
        Journal { jobs }
    }

    /// Writes an audit entry (and a page view), returning once they are on disk.
    pub async fn write(&self, view: Option<View>, audit: Pending) -> Result<()> {
        let (done, written) = oneshot::channel();
        self.jobs
            .send(Job { view, audit, done })
            .map_err(|_| Error::Internal("the console's audit writer stopped".into()))?;
        match written.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(code)) => Err(Error::Internal(format!("the console could not write the audit trail ({code})"))),
            Err(_) => Err(Error::Internal("the console's audit writer stopped".into())),
        }
    }
}
