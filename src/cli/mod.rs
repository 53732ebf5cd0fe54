//! The command line: one file per subcommand, each with `Args` and `run`.

pub mod audit;
pub mod case;
pub mod console;
pub mod demo;
pub mod disclose;
pub mod equality;
pub mod ingest;
pub mod init;
pub mod keys;
pub mod mail;
pub mod output;
pub mod rate;
pub mod report;
pub mod ret;
pub mod retention;
pub mod review;
pub mod sar;
pub mod sql;
pub mod swipes;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::warehouse::Warehouse;
use output::Format;

/// Student attendance and engagement monitoring for UK universities.
#[derive(Debug, Clone, Parser)]
#[command(name = "rollcall", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// The warehouse directory.
    #[arg(long, global = true, env = crate::config::env::WAREHOUSE, default_value = "warehouse")]
    pub warehouse: PathBuf,
    /// Configuration file (default: WAREHOUSE/rollcall.toml).
    #[arg(long, global = true, env = crate::config::env::CONFIG)]
    pub config: Option<PathBuf>,
    /// Output format of list commands (default: table on a terminal, csv otherwise).
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Write the result to this file instead of standard output (a directory for reports).
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,
    /// Print no progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// When another job holds the warehouse lock, wait at most this many seconds, then
    /// give up (exit 1) with nothing done (default: wait until it is released).
    #[arg(long, global = true, value_name = "SECONDS")]
    pub wait: Option<u64>,
}

impl GlobalArgs {
    /// Opens the warehouse these options point at.
    pub fn open(&self) -> Result<Warehouse> {
        let wait = self.wait.map(std::time::Duration::from_secs);
        Warehouse::open(&self.warehouse, self.config.as_deref()).map(|w| w.with_lock_wait(wait)).map_err(|e| match e {
            Error::NoWarehouse { path } => Error::Warehouse {
                path,
                message: format!(
                    "no warehouse here; create one with `rollcall init` or point --warehouse / {} at an existing one",
                    crate::config::env::WAREHOUSE
                ),
            },
            other => other,
        })
    }

    /// The output format in force.
    pub fn format(&self) -> Format {
        Format::resolve(self.format, self.out.as_deref())
    }
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Create the warehouse, its tables and a commented rollcall.toml.
    Init(init::Args),
    /// Validate and load interchange files.
    Ingest(ingest::Args),
    /// Compute daily engagement ratings up to a day (only what is new).
    Rate(rate::Args),
    /// List the ratings of one day, with their components.
    Ratings(rate::RatingsArgs),
    /// Who to contact and why: raise the escalation ladder's actions and list open cases.
    Review(review::Args),
    /// Statutory returns: UKVI (Home Office) and funding bodies.
    #[command(subcommand)]
    Return(ret::Command),
    /// Reports for committees (the Senate annual report).
    #[command(subcommand)]
    Report(report::Command),
    /// Record and list case outcomes.
    #[command(subcommand)]
    Case(case::Command),
    /// E-mails to students named by the escalation ladder (send, list, release).
    #[command(subcommand)]
    Mail(mail::Command),
    /// Differentially private ethnicity analysis, its privacy budget and pseudonymised extracts.
    Equality(equality::Args),
    /// Pseudonymisation keys.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Retention: the scheduled purge of students past their retention date, and legal holds.
    #[command(subcommand)]
    Retention(retention::Command),
    /// Subject-access export: everything held about one student (--out DIR).
    Sar(sar::Args),
    /// Record an ad-hoc disclosure (refused without a legal basis or an active consent).
    Disclose(disclose::DiscloseArgs),
    /// Record (or withdraw) a student's written authorisation to share their data.
    Consent(disclose::ConsentArgs),
    /// The hash-chained audit trail.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Run a read-only SQL query over the warehouse tables.
    Sql(sql::Args),
    /// Swipes for staff to look into (a card in two rooms at once).
    #[command(subcommand)]
    Swipes(swipes::Command),
    /// Build a synthetic university in a fresh warehouse and run every job on it.
    Demo(demo::Args),
    /// The web console for staff and students (see README, "Web console").
    Serve(console::ServeArgs),
    /// Local accounts of the web console.
    #[command(subcommand)]
    Users(console::UsersCommand),
}

impl Command {
    /// The allocator's arenas for the command (`allocator::Arenas`): eight for the rating,
    /// whose writers and query threads allocate side by side, one for ingest, whose files
    /// reuse the memory the file before freed, two for the rest.
    pub fn arenas(&self) -> crate::allocator::Arenas {
        match self {
            Command::Rate(_) => crate::allocator::Arenas::Eight,
            Command::Ingest(_) => crate::allocator::Arenas::One,
            _ => crate::allocator::Arenas::Two,
        }
    }

    /// The name an audit entry gives the command; `None` for commands that touch no
    /// personal data in this warehouse.
    fn audited(&self) -> Option<&'static str> {
        Some(match self {
            Command::Init(_) | Command::Demo(_) | Command::Audit(_) => return None,
            Command::Ingest(_) => "ingest",
            Command::Rate(_) => "rate",
            Command::Ratings(_) => "ratings",
            Command::Review(_) => "review",
            Command::Return(ret::Command::Ukvi(_)) => "return ukvi",
            Command::Return(ret::Command::Funder(_)) => "return funder",
            Command::Report(_) => "report senate",
            Command::Case(_) => "case",
            Command::Mail(mail::Command::Send(a)) if a.dry_run => "mail send --dry-run",
            Command::Mail(mail::Command::Send(_)) => "mail send",
            Command::Mail(mail::Command::List) => "mail list",
            Command::Mail(mail::Command::Release(_)) => "mail release",
            Command::Equality(_) => "equality",
            Command::Keys(_) => "keys rotate",
            Command::Retention(retention::Command::Purge(a)) if a.dry_run => "retention purge --dry-run",
            Command::Retention(retention::Command::Purge(_)) => "retention purge",
            Command::Retention(_) => "retention hold",
            Command::Sar(_) => "sar",
            Command::Disclose(_) => "disclose",
            Command::Consent(_) => "consent",
            Command::Sql(_) => "sql",
            Command::Swipes(_) => "swipes suspicious",
            // The console writes an entry for each sign-in, view and refusal itself.
            Command::Serve(_) => return None,
            Command::Users(console::UsersCommand::List) => "users list",
            Command::Users(console::UsersCommand::Add(_)) => "users add",
            Command::Users(console::UsersCommand::Remove(_)) => "users remove",
        })
    }
}

impl Command {
    /// Whether the command only reads the warehouse and writes its output whole at the end
    /// (so running it again after a failed read repeats nothing).
    fn reads_only(&self) -> bool {
        matches!(self, Command::Sql(_) | Command::Ratings(_) | Command::Report(_) | Command::Audit(_))
    }
}

/// Runs the parsed command line, then appends its entry to the warehouse's audit trail.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    if let Some(out) = &cli.global.out {
        refuse_output_over_the_warehouse(&cli.global, out)?;
    }
    let audited = cli.command.audited();
    // The equality extract is record-level: it stays owner-only whatever `[output] mode` says.
    let opens_output = !matches!(&cli.command, Command::Equality(e) if e.command.is_some());
    let global = cli.global.clone();
    let root = cli.global.warehouse.clone();
    let out = cli.global.out.clone();
    let ((result, details), said) = output::said(crate::compliance::audit::scoped(async {
        if let Command::Sql(args) = &cli.command {
            crate::compliance::audit::note(
                "query_sha256",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(args.query.as_bytes())),
            );
        }
        let again = cli.command.reads_only().then(|| cli.clone());
        match (dispatch(cli).await, again) {
            // A purge or key rotation removed files this read had started on (they hold no
            // lock): read again from the tables' new versions, once.
            (Err(e), Some(again)) if e.is_vanished_file() => {
                eprintln!(
                    "a table changed while it was being read (files removed by a purge or clean-up); reading again"
                );
                dispatch(again).await.map_err(|e| {
                    if e.is_vanished_file() {
                        Error::Warehouse {
                            path: root.clone(),
                            message: "tables kept changing while they were read (a purge or key rotation is \
                                      running); run the command again when it has finished"
                                .into(),
                        }
                    } else {
                        e
                    }
                })
            }
            (result, _) => result,
        }
    }))
    .await;
    if let (Ok(_), Some(path), true) = (&result, out.as_deref(), opens_output)
        && path.exists()
        && audited.is_some()
    {
        crate::warehouse::apply_output_mode(path, global.open()?.config().output.mode)?;
    }
    // Only a warehouse that exists gets an entry (a mistyped --warehouse does not create one).
    if let Some(name) = audited
        && root.join(crate::config::CONFIG_FILE).is_file()
    {
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("error:{}", e.code()),
        };
        let outputs = out.as_deref().map(crate::compliance::audit::outputs_at).unwrap_or_default();
        let appended = crate::compliance::audit::append(&root, name, &outcome, details, outputs);
        if let (Ok(_), Err(e)) = (&result, appended) {
            return Err(e);
        }
    }
    // Only now, with the entry written, is what the command said printed.
    output::flush_said(&said)?;
    result
}

/// `--out` may not point inside the warehouse (its tables, log, configuration and audit
/// trail) or at the pseudonym key: an output written there would break later jobs.
fn refuse_output_over_the_warehouse(global: &GlobalArgs, out: &std::path::Path) -> Result<()> {
    let absolute = |p: &std::path::Path| {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        // Resolve what exists (symbolic links included); keep the rest as written.
        let mut existing = p.clone();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name().map(|n| n.to_os_string()), existing.parent().map(|d| d.to_path_buf())) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    existing = parent;
                }
                _ => return p,
            }
        }
        let mut resolved = existing.canonicalize().unwrap_or(existing);
        resolved.extend(rest.into_iter().rev());
        resolved
    };
    let target = absolute(out);
    if global.warehouse.join(crate::config::CONFIG_FILE).is_file() && target.starts_with(absolute(&global.warehouse)) {
        return Err(Error::Usage(format!(
            "--out {}: that is inside the warehouse; write outputs elsewhere",
            out.display()
        )));
    }
    if let Ok(warehouse) = global.open()
        && let Some(key) = warehouse.config().key_file()
        && absolute(&key) == target
    {
        return Err(Error::Usage(format!("--out {}: that is the pseudonym key", out.display())));
    }
    Ok(())
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Init(args) => args.run(&cli.global).await,
        Command::Ingest(args) => args.run(&cli.global).await,
        Command::Rate(args) => args.run(&cli.global).await,
        Command::Ratings(args) => args.run(&cli.global).await,
        Command::Review(args) => args.run(&cli.global).await,
        Command::Case(command) => command.run(&cli.global).await,
        Command::Mail(command) => command.run(&cli.global).await,
        Command::Return(command) => command.run(&cli.global).await,
        Command::Report(command) => command.run(&cli.global).await,
        Command::Equality(args) => args.run(&cli.global).await,
        Command::Keys(command) => command.run(&cli.global).await,
        Command::Retention(command) => command.run(&cli.global).await,
        Command::Sar(args) => args.run(&cli.global).await,
        Command::Disclose(args) => args.run(&cli.global).await,
        Command::Consent(args) => args.run(&cli.global).await,
        Command::Audit(command) => command.run(&cli.global).await,
        Command::Sql(args) => args.run(&cli.global).await,
        Command::Swipes(command) => command.run(&cli.global).await,
        Command::Demo(args) => args.run(&cli.global).await,
        Command::Serve(args) => args.run(&cli.global).await,
        Command::Users(command) => command.run(&cli.global).await,
    }
}

/// Formats a count with thousands separators.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
