//! `rollcall audit verify`

use std::process::ExitCode;

use super::GlobalArgs;
use crate::error::{Error, Result};

/// The audit trail.
#[derive(Debug, clap::Subcommand)]
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
                let verified = crate::compliance::audit::verify(warehouse.root())?;
                if verified.problems.is_empty() {
                    println!("audit trail intact: {} entries, every hash and link checked", verified.entries);
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
