//! `rollcall report senate --year YEAR --out DIR`

use std::process::ExitCode;

use super::GlobalArgs;
use crate::error::{Error, Result};
use crate::report::senate;

/// Reports for committees.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The annual report to Senate: DIR/index.html with charts, and a CSV per table.
    Senate(SenateArgs),
}

/// The annual report to Senate.
#[derive(Debug, clap::Args)]
pub struct SenateArgs {
    /// Academic year, e.g. 2025-26.
    #[arg(long, value_parser = parse_year)]
    pub year: String,
}

/// Parses an academic year such as `2025-26`.
pub fn parse_year(text: &str) -> std::result::Result<String, String> {
    let ok = text.len() == 7
        && text.as_bytes()[4] == b'-'
        && text[..4].parse::<u32>().ok().zip(text[5..].parse::<u32>().ok()).is_some_and(|(y, n)| (y + 1) % 100 == n);
    if ok { Ok(text.to_string()) } else { Err("expected an academic year such as 2025-26".into()) }
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
                let files = senate::render(&warehouse, &args.year, dir).await?;
                println!("wrote the Senate report for {}: {}", args.year, files[0].display());
                for file in &files[1..] {
                    println!("  table {}", file.display());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
