//! `rollcall ingest KIND FILE...`

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{GlobalArgs, thousands};
use crate::error::{Error, Result};
use crate::ingest::{self, FileOutcome, IngestOptions, IngestReport, Loaded, Source};

/// Validate and load interchange files, or read the files universities' systems export.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// What the files hold: an interchange kind, or an export format (moodle-log,
    /// moodle-report, teams-attendance, xapi, lecture-capture, jisc-udd with folders).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(Source::names()))]
    pub kind: String,
    /// The files, loaded in this order; each is committed or refused whole.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Commit a file's good rows and write its bad rows to FILE.rejects.csv, instead of refusing it.
    #[arg(long)]
    pub quarantine: bool,
    /// Where rejects files go (default: beside each input file).
    #[arg(long, requires = "quarantine")]
    pub rejects_dir: Option<PathBuf>,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        let max_listed = warehouse.config().ingest.max_listed_problems;
        let options = IngestOptions {
            quarantine: self.quarantine,
            rejects_dir: self.rejects_dir.clone(),
            progress: !global.quiet && std::io::stderr().is_terminal(),
        };
        let source =
            Source::by_name(&self.kind).ok_or_else(|| Error::Usage(format!("unknown kind '{}'", self.kind)))?;
        let loaded = ingest::load(&warehouse, &source, &self.files, &options).await?;
        print_loaded(&loaded, max_listed);
        note_run(source.name(), self.files.len(), loaded.rows_read(), loaded.refused());
        match source {
            Source::UddFolders if loaded.refused() > 0 => Err(Error::Rejected {
                summary: "a UDD file was refused; the kinds before it were committed, nothing after it".into(),
            }),
            Source::UddFolders => Ok(ExitCode::SUCCESS),
            _ => outcome(loaded.refused(), loaded.files()),
        }
    }
}

/// Prints what loading did: problems to stderr, counts to stdout.
pub fn print_loaded(loaded: &Loaded, max_listed: usize) {
    for report in &loaded.reports {
        if report.exported {
            print_export_report(report, max_listed);
        } else {
            print_report(report, max_listed);
        }
    }
}

/// Records what an ingest run did in the audit trail (counts only).
fn note_run(kind: &str, files: usize, rows_read: u64, refused: usize) {
    crate::compliance::audit::note("kind", kind);
    crate::compliance::audit::note("files", files);
    crate::compliance::audit::note("rows_read", rows_read);
    crate::compliance::audit::note("files_refused", refused);
}

/// Success, or the failure that names how many files were refused.
fn outcome(refused: usize, files: usize) -> Result<ExitCode> {
    match refused {
        0 => Ok(ExitCode::SUCCESS),
        n => Err(Error::Rejected {
            summary: format!("{n} of {files} file(s) refused; nothing from a refused file was committed"),
        }),
    }
}

/// Prints a file's problems (at most `max_listed`, then a count) to stderr, each named by
/// line and by `what` the file calls a column.
fn print_problems(name: &std::path::Display, problems: &[ingest::parse::Reject], max_listed: usize, what: &str) {
    for p in problems.iter().take(max_listed) {
        if p.line == 0 {
            // About the file as a whole.
            eprintln!("{name}: {}", p.reason);
        } else if p.column.is_empty() {
            eprintln!("{name}:{}: {}", p.line, p.reason);
        } else {
            eprintln!("{name}:{}: {what} '{}': {}", p.line, p.column, p.reason);
        }
    }
    if problems.len() > max_listed {
        eprintln!("{name}: ... and {} more problem(s)", thousands((problems.len() - max_listed) as u64));
    }
}

/// Prints problems and warnings to stderr and the one-line summary to stdout.
fn print_report(report: &IngestReport, max_listed: usize) {
    let (mut added, mut held, mut rejected) = (0, 0, 0);
    for note in &report.notes {
        println!("{note}");
    }
    for file in &report.files {
        let name = file.path.display();
        for warning in &file.warnings {
            eprintln!("warning: {warning}");
        }
        match &file.outcome {
            FileOutcome::AlreadyIngested => eprintln!("{name}: already ingested (same content), nothing added"),
            FileOutcome::Committed { added: a, already_held: h, rejected: r, rejects_file } => {
                added += a;
                held += h;
                rejected += r;
                if let Some(rejects) = rejects_file {
                    eprintln!("{name}: {} row(s) quarantined to {}", thousands(*r), rejects.display());
                }
            }
            FileOutcome::Refused { problems } => {
                print_problems(&name, problems, max_listed, "column");
                let rows = problems.iter().map(|p| p.line).collect::<std::collections::BTreeSet<_>>().len();
                eprintln!(
                    "{name}: refused, nothing committed ({} problem(s) in {} row(s); fix them or use --quarantine)",
                    thousands(problems.len() as u64),
                    thousands(rows as u64)
                );
            }
        }
    }
    let secs = report.elapsed.as_secs_f64();
    let read = report.rows_read();
    let rate = if secs > 0.0 { (read as f64 / secs) as u64 } else { read };
    println!(
        "ingested {}: {} file(s), {} rows read, {} added, {} already held, {} rejected, in {:.1} s ({} rows/s)",
        report.kind,
        report.files.len(),
        thousands(read),
        thousands(added),
        thousands(held),
        thousands(rejected),
        secs,
        thousands(rate)
    );
    if let Some(att) = &report.attendance {
        let parts: Vec<String> = att.by_outcome.iter().map(|(o, n)| format!("{} {o}", thousands(*n as u64))).collect();
        println!("swipes reconciled: {}", if parts.is_empty() { "none held".into() } else { parts.join(", ") });
    }
}

/// Prints what each exported file gave: problems to stderr, counts to stdout.
fn print_export_report(report: &IngestReport, max_listed: usize) {
    let (mut read, mut kept, mut added, mut held, mut attended, mut unmapped) = (0, 0, 0, 0, 0, 0);
    let mut rejected = 0;
    let mut dropped: std::collections::BTreeMap<&str, u64> = Default::default();
    let mut by_domain: std::collections::BTreeMap<String, u64> = Default::default();
    for file in &report.files {
        let name = file.path.display();
        for warning in &file.warnings {
            eprintln!("warning: {warning}");
        }
        let counts = match &file.outcome {
            FileOutcome::AlreadyIngested => {
                eprintln!("{name}: already ingested (same content), nothing added");
                continue;
            }
            FileOutcome::Refused { problems } => {
                print_problems(&name, problems, max_listed, "field");
                eprintln!(
                    "{name}: refused, nothing committed ({} problem(s); fix them or use --quarantine)",
                    thousands(problems.len() as u64)
                );
                continue;
            }
            FileOutcome::Committed { rejects_file, .. } => {
                let counts = file.export.clone().unwrap_or_default();
                print_problems(&name, &counts.quarantined, max_listed, "field");
                if let Some(rejects) = rejects_file {
                    eprintln!("{name}: malformed rows quarantined to {}", rejects.display());
                }
                counts
            }
        };
        read += file.rows_read;
        kept += counts.kept;
        rejected += counts.rejected;
        added += counts.activity_added;
        held += counts.activity_held;
        attended += counts.attendance_added;
        unmapped += counts.unmapped.values().sum::<u64>();
        for (reason, n) in &counts.dropped {
            *dropped.entry(*reason).or_insert(0) += n;
        }
        for (domain, n) in &counts.unmapped {
            *by_domain.entry(domain.clone()).or_insert(0) += n;
        }
        if report.files.len() <= 5 {
            println!(
                "{name}: {}",
                counts_line(file.rows_read, counts.kept, &counts.dropped, &counts.unmapped, counts.rejected)
            );
        }
    }
    if report.files.len() > 5 {
        println!(
            "{} files: {}",
            thousands(report.files.len() as u64),
            counts_line(read, kept, &dropped, &by_domain, rejected)
        );
    }
    let secs = report.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { (read as f64 / secs) as u64 } else { read };
    println!(
        "ingested {}: {} file(s), {} rows read, {} kept, {} unmapped; {} activity rows added, {} already held, {} attendances added, in {:.1} s ({} rows/s)",
        report.kind,
        report.files.len(),
        thousands(read),
        thousands(kept),
        thousands(unmapped),
        thousands(added),
        thousands(held),
        thousands(attended),
        secs,
        thousands(rate)
    );
    if let Some(att) = &report.attendance {
        let parts: Vec<String> = att.by_outcome.iter().map(|(o, n)| format!("{} {o}", thousands(*n as u64))).collect();
        println!("swipes reconciled: {}", if parts.is_empty() { "none held".into() } else { parts.join(", ") });
    }
}

/// Every row read, accounted for: `read = kept + dropped + unmapped + rejected`, then the
/// reasons.
fn counts_line(
    read: u64,
    kept: u64,
    dropped: &std::collections::BTreeMap<&str, u64>,
    unmapped: &std::collections::BTreeMap<String, u64>,
    rejected: u64,
) -> String {
    let balance = format!(
        "{} rows read = {} kept + {} dropped + {} unmapped + {} rejected",
        thousands(read),
        thousands(kept),
        thousands(dropped.values().sum()),
        thousands(unmapped.values().sum()),
        thousands(rejected)
    );
    let mut parts = vec![balance];
    for (reason, n) in dropped {
        parts.push(format!("{} dropped: {reason}", thousands(*n)));
    }
    for (domain, n) in unmapped {
        parts.push(format!("{} not mapped to a student (domain {domain})", thousands(*n)));
    }
    parts.join("; ")
}
