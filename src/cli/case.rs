//! `rollcall case record CASE OUTCOME` and `rollcall case list`

use std::process::ExitCode;

use super::{GlobalArgs, output};
use crate::config::OUTCOMES;
use crate::domain::day::Day;
use crate::domain::terms::Outcome;
use crate::engine::session::{self, Access};
use crate::error::Result;
use crate::{queries, review};

/// Record and list case outcomes.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Record what happened on a case.
    Record(RecordArgs),
    /// List every case with how many outcomes are recorded.
    List,
}

/// Record what happened on a case.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    /// The case, e.g. C000042 (from `rollcall review` or `rollcall case list`).
    pub case_id: String,
    /// What happened.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(OUTCOMES))]
    pub outcome: String,
    /// When it happened (default: today).
    #[arg(long)]
    pub on: Option<Day>,
    /// A short note (no special-category data).
    #[arg(long)]
    pub note: Option<String>,
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self {
            Command::Record(args) => {
                let on = args.on.map_or_else(|| warehouse.clock().today(), Day::date);
                let outcome = Outcome::parse(&args.outcome).expect("clap accepts only outcome names");
                review::record_outcome(&warehouse, &args.case_id, outcome, on, args.note.as_deref()).await?;
                println!("recorded {} on case {} ({on})", args.outcome, args.case_id);
            }
            Command::List => {
                let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
                let frame = queries::plan(&ctx, "review/case_list", &[]).await?;
                output::write_frame(frame, "review/case_list", global.format(), global.out.as_deref()).await?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
