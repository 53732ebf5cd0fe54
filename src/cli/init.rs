//! `rollcall init [--preset NAME]`

use std::process::ExitCode;

use super::GlobalArgs;
use crate::config::{CONFIG_FILE, PRESETS};
use crate::error::Result;

/// Create the warehouse, its tables and a commented rollcall.toml.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Escalation preset written into rollcall.toml.
    #[arg(long, default_value = "staged-review", value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    pub preset: String,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        // A ledger that charges were made to is never recreated empty: that would hand the
        // spent privacy budget back.
        let ledger = global.warehouse.join("tables").join(crate::warehouse::tables::PRIVACY_BUDGET.name);
        if !ledger.join("_delta_log").is_dir() {
            let charges = crate::equality::ledger::charges_audited(&global.warehouse)?;
            if charges > 0 {
                return Err(crate::error::Error::Refused(format!(
                    "the privacy_budget ledger is missing, but the audit trail records {charges} charge(s) to it: \
                     creating it empty would give back the budget they spent. Restore the table from a backup; \
                     nothing was created"
                )));
            }
        }
        let (warehouse, report) = crate::ingest::init_warehouse(&global.warehouse, &self.preset).await?;
        // The e-mails' texts, for the university to edit (an edited copy is kept).
        crate::review::mail::copy_templates(warehouse.root())?;
        // The Senate report's sections, for planners to edit.
        crate::report::senate::copy_spec(warehouse.root())?;
        let config = warehouse.root().join(CONFIG_FILE);
        if report.wrote_config {
            println!("wrote {} (preset {})", config.display(), self.preset);
        } else {
            println!("kept existing {} (preset {})", config.display(), warehouse.config().preset);
        }
        if report.created_tables.is_empty() {
            println!("all tables already exist in {}", warehouse.root().display());
        } else {
            println!("created tables {} in {}", report.created_tables.join(", "), warehouse.root().display());
        }
        Ok(ExitCode::SUCCESS)
    }
}
