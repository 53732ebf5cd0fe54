//! `rollcall init [--preset NAME]`

use std::process::ExitCode;

use super::GlobalArgs;
use crate::config::{CONFIG_FILE, PRESETS};
use crate::error::Result;

/// Create the warehouse, its tables and a commented rollcall.toml.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Escalation preset written into rollcall.toml.
    #[arg(long, default_value = "staged-review", value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    pub preset: String,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let (warehouse, report) = crate::ingest::init_warehouse(&global.warehouse, &self.preset).await?;
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
