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
                let mut verified = crate::compliance::audit::verify(warehouse.root())?;
                // Each table's commits recorded the trail's head as it stood: a trail deleted,
                // cut back or re-hashed contradicts them.
                let mut anchors = Vec::new();
                for def in crate::warehouse::tables::ALL {
                    if warehouse.table_dir(def.name).join("_delta_log").is_dir() {
                        for (version, head) in warehouse.audit_anchors(def).await? {
                            anchors.push(crate::compliance::audit::Anchor {
                                table: def.name.to_string(),
                                version,
                                head,
                            });
                        }
                    }
                }
                verified.problems.extend(crate::compliance::audit::check_anchors(warehouse.root(), &anchors)?);
                // The privacy-budget ledger is checked against the charges the trail recorded.
                let ledger = warehouse.table_dir(crate::warehouse::tables::PRIVACY_BUDGET.name);
                let charges = crate::equality::ledger::charges_audited(warehouse.root())?;
                let entries = if ledger.join("_delta_log").is_dir() {
                    let ctx = crate::engine::session::build(
                        &warehouse,
                        crate::engine::session::Access::Internal { with_equality: false },
                    )
                    .await?;
                    let entries = crate::equality::ledger::entries(&ctx).await?;
                    verified.problems.extend(crate::equality::ledger::problems(warehouse.root(), &entries)?);
                    entries.len()
                } else {
                    if charges > 0 {
                        verified.problems.push(format!(
                            "privacy_budget: the ledger is missing but the audit trail records {charges} charge(s)"
                        ));
                    }
                    0
                };
                for notice in &verified.notices {
                    eprintln!("note: {notice}");
                }
                if verified.problems.is_empty() {
                    println!(
                        "audit trail intact: {} entries, every hash and link checked, {} seal(s) checked with the \
                         audit key, {} table commit(s) anchoring it agree; privacy-budget ledger intact: {entries} \
                         charge(s), each matching the trail",
                        verified.entries,
                        verified.sealed,
                        anchors.len()
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
