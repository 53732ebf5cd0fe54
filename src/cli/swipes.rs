//! `rollcall swipes suspicious --from DAY --to DAY`: swipes for staff to look into.

use std::process::ExitCode;

use chrono::NaiveDate;

use super::{GlobalArgs, output, parse_date};
use crate::domain::time::date_to_days;
use crate::engine::cells::date;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;

/// `swipes` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// One card in two rooms closer in time than walking allows
    /// (`ingest.min_minutes_between_rooms`), or at two overlapping sessions in different
    /// rooms: listed for staff to look into, never used to change a rating.
    Suspicious(SuspiciousArgs),
}

/// `swipes suspicious`
#[derive(Debug, clap::Args)]
pub struct SuspiciousArgs {
    /// First day.
    #[arg(long, value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last day.
    #[arg(long, value_parser = parse_date)]
    pub to: NaiveDate,
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let Command::Suspicious(args) = self;
        if args.to < args.from {
            return Err(Error::Usage("--to is before --from".into()));
        }
        let warehouse = global.open()?;
        let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
        let params = [("from", date(date_to_days(args.from))), ("to", date(date_to_days(args.to)))];
        let frame = queries::plan(&ctx, "swipes/suspicious", &params).await?;
        output::write_frame(frame, "swipes/suspicious", global.format(), global.out.as_deref()).await?;
        Ok(ExitCode::SUCCESS)
    }
}
