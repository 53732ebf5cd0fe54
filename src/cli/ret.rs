//! `rollcall return ukvi --as-of DATE [--record]` and `rollcall return funder --body BODY --as-of DATE [--record]`

use std::process::ExitCode;

use super::{GlobalArgs, output};
use crate::domain::day::Day;
use crate::error::Result;
use crate::returns;

/// Statutory returns.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Sponsored Student-route visa holders with a reportable event, and when to report them by.
    Ukvi(UkviArgs),
    /// Attendance confirmation and changes of circumstances for one funding body.
    Funder(FunderArgs),
}

/// The funding-body return.
#[derive(Debug, Clone, clap::Args)]
pub struct FunderArgs {
    /// The funding body, as in the students' funding_body (e.g. SFE).
    #[arg(long)]
    pub body: String,
    /// The day of the return (YYYY-MM-DD).
    #[arg(long)]
    pub as_of: Day,
    /// The return is being sent: log every line as a disclosure to the body.
    #[arg(long)]
    pub record: bool,
}

/// The Home Office (UKVI) return.
#[derive(Debug, Clone, clap::Args)]
pub struct UkviArgs {
    /// The day of the return (YYYY-MM-DD).
    #[arg(long)]
    pub as_of: Day,
    /// The return is being sent: record its events as reported on that day (so they are not
    /// listed again) and log every line as a disclosure to the Home Office.
    #[arg(long)]
    pub record: bool,
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self {
            Command::Ukvi(args) => {
                let ret = returns::ukvi(&warehouse, args.as_of.date(), args.record).await?;
                output::write_frame(ret.frame, ret.query, global.format(), global.out.as_deref()).await?;
                if args.record {
                    eprintln!("recorded the events listed as reported on {}", args.as_of);
                }
            }
            Command::Funder(args) => {
                let ret = returns::funder(&warehouse, &args.body, args.as_of.date(), args.record).await?;
                output::write_frame(ret.frame, ret.query, global.format(), global.out.as_deref()).await?;
                if args.record {
                    eprintln!("logged every line as a disclosure to {} on {}", args.body, args.as_of);
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
