//! `rollcall case record CASE OUTCOME` and `rollcall case list`

use std::process::ExitCode;

use super::{GlobalArgs, output};
use crate::config::OUTCOMES;
use crate::domain::day::Day;
use crate::domain::terms::Outcome;
use crate::domain::time::date_to_days;
use crate::engine::session::{self, Access};
use crate::error::Result;
use crate::review::{decisions, procedure};
use crate::{queries, review};

/// Record and list case outcomes.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Record what happened on a case.
    Record(RecordArgs),
    /// List every case with its step, owner and status, its outcomes, and its next dated
    /// item with the rule that set it: overdue first.
    List(ListArgs),
    /// Move a case to the next step of the procedure (or the one named with --to): a
    /// referral upwards by the step's owner.
    Escalate(EscalateArgs),
    /// Schedule a meeting on a case; at a step that requires notice, the day the student
    /// was notified is checked against it (short notice flagged).
    Meeting(MeetingArgs),
    /// Record whether the student attended a meeting (attended, no-show) or that it was
    /// cancelled; a no-show moves the case on where its step says so.
    Attendance(AttendanceArgs),
    /// Record a step of an exceptional withdrawal: recommend (student notified in
    /// advance), approve (sets the final date to request to remain), request-to-remain.
    Withdrawal(WithdrawalArgs),
    /// Record the day a completion of procedures letter was sent.
    Letter(LetterArgs),
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

/// List cases.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// The day items are judged overdue on (default: today).
    #[arg(long)]
    pub as_of: Option<Day>,
}

/// Escalate a case.
#[derive(Debug, Clone, clap::Args)]
pub struct EscalateArgs {
    /// The case.
    pub case_id: String,
    /// The step to move it to (default: its step's next).
    #[arg(long)]
    pub to: Option<String>,
    /// When (default: today).
    #[arg(long)]
    pub on: Option<Day>,
    /// A short note (no special-category data).
    #[arg(long)]
    pub note: Option<String>,
}

/// Schedule a meeting.
#[derive(Debug, Clone, clap::Args)]
pub struct MeetingArgs {
    /// The case.
    pub case_id: String,
    /// The day of the meeting.
    #[arg(long)]
    pub on: Day,
    /// The time, HH:MM.
    #[arg(long)]
    pub at: Option<String>,
    /// Where.
    #[arg(long)]
    pub place: Option<String>,
    /// Who attends, by role, comma-separated (e.g. "student, deputy dean, progress officer").
    #[arg(long)]
    pub attendees: String,
    /// The day the student was told of the meeting (needed at a step that requires notice).
    #[arg(long)]
    pub notified: Option<Day>,
    /// The step it is held at (default: the case's step).
    #[arg(long)]
    pub step: Option<String>,
    /// A short note (no special-category data).
    #[arg(long)]
    pub note: Option<String>,
}

/// Record a meeting's attendance.
#[derive(Debug, Clone, clap::Args)]
pub struct AttendanceArgs {
    /// The meeting, e.g. C000042-M1 (printed when it was scheduled; `case list` shows it).
    pub meeting_id: String,
    /// What happened.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(procedure::MEETING_EVENTS))]
    pub event: String,
    /// A short note (no special-category data).
    #[arg(long)]
    pub note: Option<String>,
}

/// Record an exceptional withdrawal step.
#[derive(Debug, Clone, clap::Args)]
pub struct WithdrawalArgs {
    /// The case.
    pub case_id: String,
    /// The step.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(procedure::WITHDRAWAL_STEPS))]
    pub step: String,
    /// The day the student was notified (recommend, approve) or made the request
    /// (request-to-remain).
    #[arg(long)]
    pub on: Day,
    /// A short note (no special-category data).
    #[arg(long)]
    pub note: Option<String>,
}

/// Record a completion of procedures letter.
#[derive(Debug, Clone, clap::Args)]
pub struct LetterArgs {
    /// The case.
    pub case_id: String,
    /// The day the letter was sent.
    #[arg(long)]
    pub sent: Day,
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
            Command::Escalate(args) => {
                let on = args.on.map_or_else(|| warehouse.clock().today(), Day::date);
                let moved =
                    procedure::escalate(&warehouse, &args.case_id, args.to.as_deref(), on, args.note.as_deref())
                        .await?;
                println!(
                    "case {} moved from {} to {} ({on})",
                    args.case_id,
                    moved.from.as_deref().unwrap_or("no step"),
                    moved.to
                );
            }
            Command::Meeting(args) => {
                let plan = procedure::MeetingPlan {
                    case_id: &args.case_id,
                    step: args.step.as_deref(),
                    held_on: args.on.date(),
                    time: args.at.as_deref(),
                    place: args.place.as_deref(),
                    attendees: &args.attendees,
                    notified: args.notified.map(Day::date),
                    note: args.note.as_deref(),
                };
                let scheduled = procedure::schedule_meeting(&warehouse, &plan).await?;
                println!("scheduled meeting {} on case {} ({})", scheduled.meeting_id, args.case_id, args.on.date());
                if let Some(rule) = &scheduled.rule {
                    println!("notice: {rule}");
                }
                if scheduled.short_by > 0 {
                    eprintln!(
                        "warning: meeting {} is flagged: the student had {} day(s) less notice than required",
                        scheduled.meeting_id, scheduled.short_by
                    );
                }
            }
            Command::Attendance(args) => {
                procedure::meeting_attendance(&warehouse, &args.meeting_id, &args.event, args.note.as_deref()).await?;
                println!("recorded meeting {} as {}", args.meeting_id, args.event);
            }
            Command::Withdrawal(args) => {
                let done =
                    procedure::withdrawal(&warehouse, &args.case_id, &args.step, args.on.date(), args.note.as_deref())
                        .await?;
                println!("recorded exceptional withdrawal: {} on case {} ({})", args.step, args.case_id, args.on);
                match (&done.remain_by, &done.rule) {
                    (Some(by), Some(rule)) => println!("final date to request to remain {by}: {rule}"),
                    (Some(by), None) if done.late => {
                        println!("the request was made after the final date to remain ({by}): recorded as late")
                    }
                    _ => {}
                }
            }
            Command::Letter(args) => {
                procedure::completion_letter(&warehouse, &args.case_id, args.sent.date(), args.note.as_deref()).await?;
                println!("recorded the completion of procedures letter on case {} ({})", args.case_id, args.sent);
            }
            Command::List(args) => {
                let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
                let today = args.as_of.map_or_else(|| warehouse.clock().today(), Day::date);
                procedure::register(&ctx, &warehouse.config().review, date_to_days(today)).await?;
                let frame = queries::plan(&ctx, "review/case_list", &[]).await?;
                output::write_frame(frame, "review/case_list", global.format(), global.out.as_deref()).await?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
