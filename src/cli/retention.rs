//! `rollcall retention purge --as-of DATE [--dry-run]`, `rollcall retention hold STUDENT_ID`
//! and `rollcall retention release STUDENT_ID`.

use std::process::ExitCode;

use super::GlobalArgs;
use crate::compliance::retention;
use crate::domain::day::Day;
use crate::error::Result;

/// Retention: the scheduled purge and legal holds.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Erase, physically, every student past their retention date (see retention/schedule.toml).
    Purge(PurgeArgs),
    /// Place a legal hold: the purge keeps the student until it is released.
    Hold(HoldArgs),
    /// Release a student's legal hold.
    Release(ReleaseArgs),
}

/// `retention purge`
#[derive(Debug, Clone, clap::Args)]
pub struct PurgeArgs {
    /// Erase what is due on this day (YYYY-MM-DD).
    #[arg(long)]
    pub as_of: Day,
    /// List who would be erased and the rows per table, changing nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `retention hold`
#[derive(Debug, Clone, clap::Args)]
pub struct HoldArgs {
    /// The student.
    pub student_id: String,
    /// Why (a case reference; no personal data).
    #[arg(long)]
    pub reason: Option<String>,
}

/// `retention release`
#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseArgs {
    /// The student.
    pub student_id: String,
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self {
            Command::Purge(args) => {
                let report = retention::purge(&warehouse, args.as_of.date(), args.dry_run).await?;
                if args.dry_run {
                    println!("student_id,ended_on");
                    for d in &report.students {
                        println!("{},{}", d.student_id, d.ended_on);
                    }
                }
                let verb = if args.dry_run { "would erase" } else { "erased" };
                eprintln!(
                    "{verb} {} student(s) due by {} ({}); {} kept by a legal hold",
                    report.students.len(),
                    args.as_of,
                    report.rule,
                    report.held
                );
                for (table, rows) in report.rows.iter().filter(|(_, n)| **n > 0) {
                    eprintln!("  {table}: {rows} rows");
                }
                if !args.dry_run {
                    eprintln!("  {} superseded files removed; transaction logs cleaned", report.files_removed);
                }
                if !report.undetermined.is_empty() {
                    eprintln!(
                        "{} student(s) finished their studies with no end date held: their retention date cannot be \
                         computed and they are kept until one is ingested{}",
                        report.undetermined.len(),
                        if args.dry_run { ":" } else { " (run with --dry-run to list them)" }
                    );
                    if args.dry_run {
                        for id in &report.undetermined {
                            eprintln!("  {id}");
                        }
                    }
                }
            }
            Command::Hold(args) => {
                let id = retention::hold(&warehouse, &args.student_id, args.reason.as_deref(), false).await?;
                println!("placed legal hold {id}");
            }
            Command::Release(args) => {
                retention::hold(&warehouse, &args.student_id, None, true).await?;
                println!("released the legal hold");
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
