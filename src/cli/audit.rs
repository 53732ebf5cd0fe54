//! `rollcall audit verify`

use std::process::ExitCode;

use super::GlobalArgs;
use crate::error::{Error, Result};

/// The audit trail.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Check the hash chain: any edited, removed or reordered entry is reported (exit 1).
    Verify,
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self {
            Command::Verify => {
                let checked = crate::equality::ledger::verify_warehouse(&warehouse).await?;
                let (verified, anchors, entries) = (checked.verified, checked.anchors, checked.ledger_entries);
                for notice in &verified.notices {
                    eprintln!("note: {notice}");
                }
                if verified.problems.is_empty() {
                    println!(
                        "audit trail intact: {} entries, every hash and link checked, {} seal(s) checked with the \
                         audit key, {} table commit(s) anchoring it agree; privacy-budget ledger intact: {entries} \
                         charge(s), each matching the trail",
                        verified.entries, verified.sealed, anchors
                    );
                } else {
                    for p in &verified.problems {
                        eprintln!("{p}");
                    }
                    return Err(Error::Warehouse {
                        path: warehouse.root().to_path_buf(),
                        message: format!(
                            "the audit trail has been tampered with: {} problem(s) in {} entries",
                            verified.problems.len(),
                            verified.entries
                        ),
                    });
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
