//! `rollcall equality --year YEAR --epsilon EPS --out DIR`, `rollcall equality budget` and
//! `rollcall equality extract --out FILE`.

use std::process::ExitCode;

use datafusion::scalar::ScalarValue;

use super::GlobalArgs;
use crate::domain::year::AcademicYear;
use crate::engine::session::{self, Access};
use crate::equality::{self, extract};
use crate::error::{Error, Result};
use crate::queries;

/// Differentially private ethnicity analysis.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// The ledger or an extract, instead of a release.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Academic year, e.g. 2025-26.
    #[arg(long)]
    pub year: Option<AcademicYear>,
    /// Privacy budget this release spends (all its tables and census dates together).
    #[arg(long)]
    pub epsilon: Option<f64>,
    /// Draw and charge a new release even if this question was answered before (only after
    /// the data changed: every release is charged).
    #[arg(long)]
    pub new_release: bool,
}

/// `equality` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The privacy-budget ledger of a year: spent and left, release by release.
    Budget(BudgetArgs),
    /// A pseudonymised, k-anonymous record-level extract for approved analysts (--out FILE).
    Extract(ExtractArgs),
}

/// `equality budget`
#[derive(Debug, clap::Args)]
pub struct BudgetArgs {
    /// Academic year (default: the current one).
    #[arg(long)]
    pub year: Option<AcademicYear>,
}

/// `equality extract`
#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// Academic year (default: the latest with ratings).
    #[arg(long)]
    pub year: Option<AcademicYear>,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self.command {
            Some(Command::Budget(args)) => {
                let year = args.year.unwrap_or_else(|| AcademicYear::of(warehouse.clock().today()));
                let cap = warehouse.config().equality.yearly_epsilon;
                let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
                let entries = equality::ledger::entries(&ctx, year).await?;
                let spent: f64 = entries.iter().map(|e| e.epsilon).sum();
                let frame = queries::plan(
                    &ctx,
                    "equality/budget",
                    &[("year", ScalarValue::from(year.to_string())), ("cap", ScalarValue::from(cap))],
                )
                .await?;
                super::output::write_frame(frame, "equality/budget", global.format(), global.out.as_deref()).await?;
                eprintln!(
                    "privacy budget {year}: epsilon {spent:.4} spent of {cap} in {} release(s), {:.4} left",
                    entries.len(),
                    (cap - spent).max(0.0)
                );
            }
            Some(Command::Extract(args)) => {
                let file = global
                    .out
                    .as_deref()
                    .ok_or_else(|| Error::Usage("give the extract's file with --out FILE".into()))?;
                let year = match args.year {
                    Some(year) => year,
                    None => {
                        let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
                        let batches = queries::collect(&ctx, "equality/latest_year", &[]).await?;
                        let latest = crate::engine::cells::string_at(&batches, "academic_year")?
                            .ok_or_else(|| Error::Usage("nothing is rated yet; give --year YEAR".into()))?;
                        latest.parse().map_err(Error::Internal)?
                    }
                };
                let report = extract::extract(&warehouse, year, file).await?;
                crate::compliance::audit::note("extract_id", report.extract_id.clone());
                crate::compliance::audit::note("rows", report.rows);
                println!(
                    "wrote equality extract {} for {year}: {} rows, {} generalised, {} suppressed (k = {})",
                    report.extract_id,
                    report.rows,
                    report.generalised,
                    report.suppressed,
                    warehouse.config().equality.k
                );
                for (step, n) in report.steps.iter().filter(|(_, n)| *n > 0) {
                    println!("  {step}: {n} rows");
                }
                for f in &report.files {
                    println!("  {}", f.display());
                }
            }
            None => {
                let (Some(year), Some(epsilon)) = (self.year, self.epsilon) else {
                    return Err(Error::Usage(
                        "give --year YEAR --epsilon EPS --out DIR for a release, or `equality budget` / \
                         `equality extract`"
                            .into(),
                    ));
                };
                let dir = global
                    .out
                    .as_deref()
                    .ok_or_else(|| Error::Usage("give the release's directory with --out DIR".into()))?;
                let outcome = equality::release(&warehouse, year, epsilon, self.new_release, dir).await?;
                crate::compliance::audit::note("release_id", outcome.release_id.clone());
                crate::compliance::audit::note("epsilon_charged", outcome.charged);
                if outcome.reserved {
                    println!(
                        "re-served stored release {} (this question was answered before; nothing spent)",
                        outcome.release_id
                    );
                } else {
                    println!("made release {}: epsilon {:.4} charged", outcome.release_id, outcome.charged);
                }
                println!(
                    "privacy budget {year}: {:.4} spent of {}, {:.4} left",
                    outcome.spent,
                    outcome.cap,
                    (outcome.cap - outcome.spent).max(0.0)
                );
                for f in &outcome.files {
                    println!("  {}", f.display());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
