//! `rollcall serve [--listen ADDR]` and `rollcall users add|list|remove`: the web console
//! and its local accounts.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::ExitCode;

use super::GlobalArgs;
use crate::console::accounts::{self, Holder};
use crate::error::{Error, Result};

/// `serve`
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one). Behind a reverse proxy keep
    /// the loopback address; cookies are marked Secure on any other.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

impl ServeArgs {
    /// Runs the console until the process is stopped.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        // What the console does in the background (the index read, the dashboard worked
        // out, rows applied from the queue) and its errors, on standard error: error codes
        // and timings only, never personal data.
        // Rollcall's own lines only: the libraries under it log every table read at INFO.
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        use tracing_subscriber::{Layer, filter::Targets, fmt};
        let own = Targets::new().with_target("rollcall", tracing::Level::INFO);
        let _ = tracing_subscriber::registry()
            .with(fmt::layer().with_writer(std::io::stderr).with_ansi(false).with_target(false).with_filter(own))
            .try_init();
        crate::console::serve(warehouse, self.listen, |bound| {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "console listening on http://{bound}/ (stop with Ctrl-C)");
            let _ = out.flush();
        })
        .await?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Local accounts of the web console.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UsersCommand {
    /// Add an account; the password is read from the first line of standard input.
    Add(AddArgs),
    /// List accounts (names and who they are; never passwords).
    List,
    /// Remove an account.
    Remove(RemoveArgs),
}

/// `users add`
#[derive(Debug, Clone, clap::Args)]
pub struct AddArgs {
    /// What the user types to sign in.
    pub username: String,
    /// The member of staff it signs in as (their roles come from the staff list).
    #[arg(long, conflicts_with = "student", required_unless_present = "student")]
    pub staff: Option<String>,
    /// The student it signs in as (their own page only).
    #[arg(long)]
    pub student: Option<String>,
    /// Reset the password (and holder) of an existing account.
    #[arg(long)]
    pub replace: bool,
}

/// `users remove`
#[derive(Debug, Clone, clap::Args)]
pub struct RemoveArgs {
    /// The account.
    pub username: String,
}

impl UsersCommand {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self {
            UsersCommand::Add(args) => {
                let mut password = String::new();
                std::io::stdin().lock().read_line(&mut password).map_err(|e| Error::io("<stdin>", e))?;
                let password = password.trim_end_matches(['\r', '\n']);
                let holder = match (args.staff, args.student) {
                    (Some(staff), _) => Holder::Staff(staff),
                    (None, Some(student)) => Holder::Student(student),
                    (None, None) => return Err(Error::Usage("give --staff ID or --student ID".into())),
                };
                accounts::add(&warehouse, &args.username, password, holder, args.replace)?;
                crate::compliance::audit::note("accounts_added", 1);
                println!("account {} added", args.username);
            }
            UsersCommand::List => {
                println!("username,holder,id,locked");
                for a in accounts::list(&warehouse)? {
                    let (kind, id) = match &a.holder {
                        Holder::Staff(id) => ("staff", id),
                        Holder::Student(id) => ("student", id),
                    };
                    let locked = a.locked_until.is_some_and(|t| t > warehouse.clock().now_micros());
                    println!("{},{kind},{id},{}", a.username, if locked { "yes" } else { "no" });
                }
            }
            UsersCommand::Remove(args) => {
                if !accounts::remove(&warehouse, &args.username)? {
                    return Err(Error::Usage("no such account".into()));
                }
                crate::compliance::audit::note("accounts_removed", 1);
                println!("account {} removed", args.username);
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
