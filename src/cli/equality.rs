//! `rollcall equality --year YEAR --epsilon EPS --out DIR`, `rollcall equality budget` and
//! `rollcall equality extract --out FILE`.

use std::process::ExitCode;

use super::GlobalArgs;
use super::output::say;
use crate::domain::year::AcademicYear;
use crate::engine::session::{self, Access};
use crate::equality::{self, extract};
use crate::error::{Error, Result};
use crate::queries;

/// Differentially private ethnicity analysis.
#[derive(Debug, Clone, clap::Args)]
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
    /// Say what the release would charge and the budget it would leave; draw, write and
    /// spend nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `equality` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// The privacy-budget ledger of a year: spent and left, release by release.
    Budget(BudgetArgs),
    /// A pseudonymised, k-anonymous record-level extract for approved analysts (--out FILE).
    Extract(ExtractArgs),
}

/// `equality budget`
#[derive(Debug, Clone, clap::Args)]
pub struct BudgetArgs {
    /// Only the cohort of students who started in this academic year (default: every cohort).
    #[arg(long)]
    pub year: Option<AcademicYear>,
}

/// `equality extract`
#[derive(Debug, Clone, clap::Args)]
pub struct ExtractArgs {
    /// Academic year (default: the latest with ratings).
    #[arg(long)]
    pub year: Option<AcademicYear>,
    /// The data-protection officer's approval reference for this extract (recorded with
    /// it and in the audit trail).
    #[arg(long, value_name = "REF")]
    pub approval: String,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self.command {
            Some(Command::Budget(args)) => {
                let cap = equality::cap(&warehouse)?;
                let delta = warehouse.config().equality.delta;
                let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
                let entries = equality::ledger::entries(&ctx).await?;
                let problems = equality::ledger::problems(warehouse.root(), &entries)?;
                let spent = equality::ledger::spent(&entries, None, delta)?;
                let frame = queries::plan(&ctx, "equality/budget", &[]).await?;
                super::output::write_frame(frame, "equality/budget", global.format(), global.out.as_deref()).await?;
                for (cohort, s) in spent.iter().filter(|(c, _)| args.year.is_none_or(|y| y.to_string() == **c)) {
                    eprintln!(
                        "privacy budget of the students who started in {cohort}: epsilon {:.4} spent of {cap} in {} \
                         release(s) (Laplace {:.4}; Gaussian rho {:.4}{}), {:.4} left",
                        s.epsilon,
                        s.releases,
                        s.laplace_epsilon,
                        s.rho,
                        if s.rho > 0.0 { format!(" at delta {}", s.delta) } else { String::new() },
                        (cap - s.epsilon).max(0.0)
                    );
                }
                if spent.is_empty() {
                    eprintln!("no release has been charged yet; each cohort's budget is epsilon {cap}");
                }
                for p in &problems {
                    eprintln!("{p}");
                }
                if !problems.is_empty() {
                    return Err(Error::Refused(
                        "the privacy-budget ledger does not match the audit trail: the figures above cannot be trusted"
                            .into(),
                    ));
                }
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
                crate::compliance::audit::note("approval", args.approval.clone());
                let report = extract::extract(&warehouse, year, file, &args.approval).await?;
                crate::compliance::audit::note("extract_id", report.extract_id.clone());
                crate::compliance::audit::note("rows", report.rows);
                say(format!(
                    "wrote equality extract {} for {year}: {} rows, {} generalised, {} suppressed (k = {}, l = {})",
                    report.extract_id,
                    report.rows,
                    report.generalised,
                    report.suppressed,
                    warehouse.config().equality.k,
                    warehouse.config().equality.l
                ));
                for (step, n) in report.steps.iter().filter(|(_, n)| *n > 0) {
                    say(format!("  {step}: {n} rows"));
                }
                for f in &report.files {
                    say(format!("  {}", f.display()));
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
                let dir = match (global.out.as_deref(), self.dry_run) {
                    (Some(dir), _) => dir.to_path_buf(),
                    (None, true) => std::path::PathBuf::new(),
                    (None, false) => {
                        return Err(Error::Usage("give the release's directory with --out DIR".into()));
                    }
                };
                let outcome =
                    equality::release(&warehouse, year, epsilon, self.new_release, self.dry_run, &dir).await?;
                crate::compliance::audit::note("release_id", outcome.release_id.clone());
                crate::compliance::audit::note("epsilon_charged", if outcome.dry_run { 0.0 } else { outcome.charged });
                crate::compliance::audit::note("dry_run", outcome.dry_run);
                if outcome.dry_run {
                    say(format!(
                        "dry run: this release would charge epsilon {:.4} to the students who started in {}; nothing \
                         was drawn or spent",
                        outcome.charged,
                        outcome.spent.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                } else if outcome.completed {
                    say(format!(
                        "completed release {}: it was charged by a run that stopped before storing it; nothing charged \
                         again",
                        outcome.release_id
                    ));
                } else if outcome.reserved {
                    say(format!(
                        "re-served stored release {} (this question was answered before; nothing spent)",
                        outcome.release_id
                    ));
                } else {
                    say(format!("made release {}: epsilon {:.4} charged", outcome.release_id, outcome.charged));
                }
                for (cohort, spent) in &outcome.spent {
                    say(format!(
                        "privacy budget of the students who started in {cohort}: {:.4} spent of {}, {:.4} left{}",
                        spent.epsilon,
                        outcome.cap,
                        (outcome.cap - spent.epsilon).max(0.0),
                        if outcome.dry_run { " after it" } else { "" }
                    ));
                }
                for f in &outcome.files {
                    say(format!("  {}", f.display()));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
