//! `rollcall review --as-of DATE`

use std::process::ExitCode;

use super::{GlobalArgs, output, thousands};
use crate::domain::day::Day;
use crate::error::Result;
use crate::review;

/// Who to contact and why: raise the ladder's actions and list open cases.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The review day (YYYY-MM-DD); ratings are brought up to it first.
    #[arg(long)]
    pub as_of: Day,
    /// Show what would be raised without recording anything.
    #[arg(long)]
    pub dry_run: bool,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        let outcome = review::review(&warehouse, self.as_of.date(), self.dry_run).await?;
        // Standard output carries only the list, so it can be piped or saved as it is.
        eprintln!("{}", super::rate::summary(&outcome.rate));
        crate::compliance::audit::note("ratings", outcome.rate.ratings);
        crate::compliance::audit::note("cases_raised", outcome.raised);
        crate::compliance::audit::note("cases_escalated", outcome.escalated);
        eprintln!(
            "review {}: {} new action(s), {} case(s) moved to their next step (still rated low){}; preset {}. These are recommendations for staff to review: \
             no decision rests on them alone and no student's status has been changed.",
            self.as_of,
            thousands(outcome.raised),
            thousands(outcome.escalated),
            if self.dry_run { " (dry run: nothing recorded)" } else { "" },
            warehouse.config().preset
        );
        output::write_frame(outcome.list, "review/open_cases", global.format(), global.out.as_deref()).await?;
        Ok(ExitCode::SUCCESS)
    }
}
