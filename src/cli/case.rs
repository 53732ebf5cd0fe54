//! `rollcall case record CASE OUTCOME` and `rollcall case list`

use std::process::ExitCode;

use super::{GlobalArgs, output};
use crate::config::OUTCOMES;
use crate::domain::day::Day;
use crate::domain::terms::Outcome;
use crate::engine::session::{self, Access};
use crate::error::Result;
use crate::review::decisions;
use crate::{queries, review};

/// Record and list case outcomes.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Record what happened on a case.
    Record(RecordArgs),
    /// List every case with how many outcomes are recorded.
    List,
    /// Record a decision on a case (continue, intermit, withdraw, transfer) and the day the
    /// student was notified; prints the last day to appeal and the rule that gave it.
    Decide(DecideArgs),
    /// Record an appeal against a case's decision (one lodged after the deadline is recorded
    /// as late, not refused).
    Appeal(AppealArgs),
    /// Record the outcome of an appeal: upheld or not-upheld.
    AppealOutcome(AppealOutcomeArgs),
}

/// Record a decision.
#[derive(Debug, Clone, clap::Args)]
pub struct DecideArgs {
    /// The case.
    pub case_id: String,
    /// The decision.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(decisions::DECISIONS))]
    pub decision: String,
    /// The day the student was notified of it.
    #[arg(long)]
    pub notified: Day,
    /// A short note (no special-category data).
    #[arg(long)]
    pub note: Option<String>,
}

/// Record an appeal.
#[derive(Debug, Clone, clap::Args)]
pub struct AppealArgs {
    /// The case.
    pub case_id: String,
    /// The day the appeal was lodged.
    #[arg(long)]
    pub lodged: Day,
    /// A short note (no special-category data).
    #[arg(long)]
    pub note: Option<String>,
}

/// Record an appeal's outcome.
#[derive(Debug, Clone, clap::Args)]
pub struct AppealOutcomeArgs {
    /// The case.
    pub case_id: String,
    /// The outcome.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(decisions::APPEAL_OUTCOMES))]
    pub outcome: String,
    /// When it was decided (default: today).
    #[arg(long)]
    pub on: Option<Day>,
    /// A short note (no special-category data).
    #[arg(long)]
    pub note: Option<String>,
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
            Command::Decide(args) => {
                let decided = decisions::decide(
                    &warehouse,
                    &args.case_id,
                    &args.decision,
                    args.notified.date(),
                    args.note.as_deref(),
                )
                .await?;
                println!("recorded {} on case {}", args.decision, args.case_id);
                println!("appeal by {}: {}", decided.appeal_by, decided.rule);
            }
            Command::Appeal(args) => {
                let appealed =
                    decisions::appeal(&warehouse, &args.case_id, args.lodged.date(), args.note.as_deref()).await?;
                if appealed.late {
                    println!(
                        "recorded the appeal on case {} as late: lodged {}, the deadline was {}",
                        args.case_id,
                        args.lodged.date(),
                        appealed.appeal_by
                    );
                } else {
                    println!("recorded the appeal on case {} (deadline {})", args.case_id, appealed.appeal_by);
                }
            }
            Command::AppealOutcome(args) => {
                let on = args.on.map_or_else(|| warehouse.clock().today(), Day::date);
                decisions::appeal_outcome(&warehouse, &args.case_id, &args.outcome, on, args.note.as_deref()).await?;
                println!("recorded the appeal on case {} as {} ({on})", args.case_id, args.outcome);
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
