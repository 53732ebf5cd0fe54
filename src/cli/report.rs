//! `rollcall report senate --year YEAR --out DIR`

use std::process::ExitCode;

use super::GlobalArgs;
use crate::domain::year::AcademicYear;
use crate::error::{Error, Result};
use crate::report::senate;

/// Reports for committees.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// The annual report to Senate: DIR/index.html with charts, and a CSV per table.
    Senate(SenateArgs),
}

/// The annual report to Senate.
#[derive(Debug, Clone, clap::Args)]
pub struct SenateArgs {
    /// Academic year, e.g. 2025-26.
    #[arg(long)]
    pub year: AcademicYear,
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self {
            Command::Senate(args) => {
                let dir = global
                    .out
                    .as_deref()
                    .ok_or_else(|| Error::Usage("give the report's directory with --out DIR".into()))?;
                let files = senate::render(&warehouse, args.year, dir).await?;
                println!("wrote the Senate report for {}: {}", args.year, files[0].display());
                for file in &files[1..] {
                    println!("  table {}", file.display());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
