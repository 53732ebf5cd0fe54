//! `rollcall swipes suspicious --from DAY --to DAY`: swipes for staff to look into.

use std::process::ExitCode;

use super::{GlobalArgs, output};
use crate::domain::day::{Day, DayRange};
use crate::engine::cells::date;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;

/// `swipes` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// One card in two rooms closer in time than walking allows
    /// (`ingest.min_minutes_between_rooms`), or at two overlapping sessions in different
    /// rooms: listed for staff to look into, never used to change a rating.
    Suspicious(SuspiciousArgs),
}

/// `swipes suspicious`
#[derive(Debug, Clone, clap::Args)]
pub struct SuspiciousArgs {
    /// First day.
    #[arg(long)]
    pub from: Day,
    /// Last day.
    #[arg(long)]
    pub to: Day,
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let Command::Suspicious(args) = self;
        let days = DayRange::new(args.from, args.to).map_err(|e| Error::Usage(format!("--from/--to: {e}")))?;
        let warehouse = global.open()?;
        let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
        let params = [("from", date(days.first().number())), ("to", date(days.last().number()))];
        let frame = queries::plan(&ctx, "swipes/suspicious", &params).await?;
        output::write_frame(frame, "swipes/suspicious", global.format(), global.out.as_deref()).await?;
        Ok(ExitCode::SUCCESS)
    }
}
