//! The crate's error type, split by who must act on it.
//!
//! Messages name files, lines, columns, tables and settings, never a student's data:
//! a row is identified by `file:line`, not by its values.

use std::path::PathBuf;

use datafusion::error::DataFusionError;
use deltalake::errors::DeltaTableError;

/// Everything that can go wrong in Rollcall.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration file or setting is wrong.
    #[error("config {path}: {message}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A settings file is not valid TOML of the expected shape.
    #[error("config {}: {}{}", path.display(), source.message(), line.map(|n| format!(" (line {n})")).unwrap_or_default())]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// The line the problem is on, when known.
        line: Option<usize>,
        /// The parser's error.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// An input file was refused; the problems have already been listed.
    #[error("{summary}")]
    Rejected {
        /// One line saying how many problems were found and that nothing was committed.
        summary: String,
    },
    /// The user asked for something that cannot be done as asked.
    #[error("{0}")]
    Usage(String),
    /// A query from the catalog (or an analyst's query) failed.
    #[error("query '{name}': {source}")]
    Query {
        /// The catalog name of the query, or `sql` for an analyst's query.
        name: String,
        /// The engine's error.
        #[source]
        source: DataFusionError,
    },
    /// A warehouse table could not be read or written.
    #[error("table '{table}': {source}")]
    Table {
        /// The warehouse table.
        table: String,
        /// The storage layer's error.
        #[source]
        source: DeltaTableError,
    },
    /// The warehouse is missing, damaged, or locked by another job.
    #[error("warehouse {path}: {message}")]
    Warehouse {
        /// The warehouse directory.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// No warehouse at the directory given.
    #[error("warehouse {path}: no warehouse here")]
    NoWarehouse {
        /// The directory.
        path: PathBuf,
    },
    /// A privacy rule refused the request (budget exhausted, unsafe release); nothing was spent.
    #[error("refused: {0}")]
    Refused(String),
    /// Pseudonymisation key problems (missing, unsafe or wrong key).
    #[error("pseudonym key: {0}")]
    Key(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Writing output (CSV, JSON, table) failed.
    #[error("output: {0}")]
    Output(#[from] arrow::error::ArrowError),
    /// A broken invariant: a bug in Rollcall.
    #[error("internal error: {0} (this is a bug, please report it)")]
    Internal(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// Wraps a DataFusion error raised while running the named query.
    pub fn query(name: impl Into<String>, source: DataFusionError) -> Self {
        Error::Query { name: name.into(), source }
    }

    /// Wraps a TOML error in the settings file `path` (whose text is `text`).
    pub fn config_syntax(path: impl Into<PathBuf>, text: &str, source: toml::de::Error) -> Self {
        let line = source.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        Error::ConfigSyntax { path: path.into(), line, source: Box::new(source) }
    }

    /// A task doing `what` stopped before it finished: it panicked or was cancelled. The
    /// panic's message is left out, as it may quote the data being read.
    pub fn stopped(what: &str, e: &tokio::task::JoinError) -> Self {
        let how = if e.is_panic() { "failed unexpectedly" } else { "was cancelled" };
        Error::Internal(format!("{what} {how}"))
    }

    /// Wraps a Delta Lake error raised on the named table.
    pub fn table(table: impl Into<String>, source: DeltaTableError) -> Self {
        Error::Table { table: table.into(), source }
    }

    /// A stable machine-readable code for JSON and audit output.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config { .. } | Error::ConfigSyntax { .. } => "config",
            Error::Rejected { .. } => "rejected",
            Error::Usage(_) => "usage",
            Error::Query { .. } => "query",
            Error::Table { .. } => "table",
            Error::Warehouse { .. } | Error::NoWarehouse { .. } => "warehouse",
            Error::Refused(_) => "refused",
            Error::Key(_) => "key",
            Error::Io { .. } => "io",
            Error::Output(_) => "output",
            Error::Internal(_) => "internal",
        }
    }

    /// True when a table's file (data, checkpoint or log entry) vanished while it was being
    /// read: another job (a purge, a key rotation) removed it after this one had loaded the
    /// table's snapshot. Reading again sees the new version.
    pub fn is_vanished_file(&self) -> bool {
        if !matches!(self, Error::Query { .. } | Error::Table { .. }) {
            return false;
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::NotFound
            {
                return true;
            }
            source = e.source();
        }
        // The object store reports a missing file in its message only, on every layer.
        let text = self.to_string();
        (text.contains("Object at location") && text.contains("not found"))
            || text.contains("No such file or directory")
    }

    /// True when the error is a closed output pipe (`rollcall sql ... | head`), which is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(err) = source {
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return true;
            }
            source = err.source();
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_panicked_is_reported_without_its_message() {
        let task = tokio::spawn(async { panic!("bad row for S1234567") });
        let e = task.await.expect_err("the task panicked");
        let message = Error::stopped("reading a table", &e).to_string();
        assert_eq!(message, "internal error: reading a table failed unexpectedly (this is a bug, please report it)");
        assert!(!message.contains("S1234567"));
    }
}
