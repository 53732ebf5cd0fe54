//! `rollcall rate --as-of DATE` and `rollcall ratings --date DATE`

use std::process::ExitCode;

use super::{GlobalArgs, output, thousands};
use crate::domain::day::Day;
use crate::engine::session::{self, Access};
use crate::error::Result;
use crate::queries;
use crate::rating::{self, RateReport, Recompute};

/// Compute daily engagement ratings up to a day (only what is new).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Rate every teaching day up to and including this day (YYYY-MM-DD).
    #[arg(long)]
    pub as_of: Day,
    /// Recompute every rollup from the raw events and every rating, not just what changed.
    #[arg(long, conflicts_with = "all_days")]
    pub full: bool,
    /// Rate every day again from the daily rollups as they stand (their days that new data
    /// touched recomputed first), as a change of the rating's bands, weights or window does.
    #[arg(long)]
    pub all_days: bool,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        let recompute = match (self.full, self.all_days) {
            (true, _) => Recompute::Everything,
            (false, true) => Recompute::Ratings,
            (false, false) => Recompute::Changed,
        };
        let report = rating::rate(&warehouse, self.as_of.date(), recompute).await?;
        crate::compliance::audit::note("ratings", report.ratings);
        println!("{}", summary(&report));
        Ok(ExitCode::SUCCESS)
    }
}

/// The one-line summary of a rating run.
pub fn summary(report: &RateReport) -> String {
    let rated = match report.rated {
        Some((a, b)) => format!("rated {a} to {b} ({} ratings)", thousands(report.ratings)),
        None => "nothing to rate".into(),
    };
    let phases: Vec<String> =
        report.phases.iter().map(|(name, took)| format!("{name} {:.1} s", took.as_secs_f64())).collect();
    let phases = if phases.is_empty() { String::new() } else { format!(" ({})", phases.join(", ")) };
    format!("rate: {}: {rated} in {:.1} s{phases}; {}", report.mode, report.elapsed.as_secs_f64(), report.why)
}

/// List the ratings of one day, with their components.
#[derive(Debug, Clone, clap::Args)]
pub struct RatingsArgs {
    /// The day (YYYY-MM-DD).
    #[arg(long)]
    pub date: Day,
}

impl RatingsArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
        let frame =
            queries::plan(&ctx, "rating/ratings_on", &[("date", crate::engine::cells::date(self.date.number()))])
                .await?;
        output::write_frame(frame, "rating/ratings_on", global.format(), global.out.as_deref()).await?;
        Ok(ExitCode::SUCCESS)
    }
}
