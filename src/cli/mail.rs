//! `rollcall mail send [--dry-run]`, `rollcall mail list` and `rollcall mail release ID`

use std::process::ExitCode;

use super::{GlobalArgs, output};
use crate::engine::session::{self, Access};
use crate::error::Result;
use crate::queries;
use crate::review::mail;

/// E-mails to students named by the escalation ladder.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Make the messages of cases raised since the last run and send what is waiting (for
    /// cron, after `rollcall review`).
    Send(SendArgs),
    /// Every message made, newest first, with when it was sent (no addresses or text).
    List,
    /// Let a message whose last attempt has an unknown result (check the mail server's log
    /// for its Message-ID first), or one given up, be sent by the next `mail send`.
    Release(ReleaseArgs),
}

/// Make and send the messages.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// Say what would be made and sent; write and send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Release a message.
#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseArgs {
    /// The message id, as `mail send` or `mail list` shows it.
    pub message_id: String,
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self {
            Command::Send(args) => {
                let report = mail::send(&warehouse, args.dry_run).await?;
                if args.dry_run {
                    println!(
                        "dry run: {} message(s) would be made and {} sent; nothing was written or sent",
                        report.made, report.held
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                println!(
                    "e-mails: {} made, {} sent, {} failed (tried again next run), {} held",
                    report.made, report.sent, report.failed, report.held
                );
                if let Some(why) = &report.held_because {
                    println!("held: {why}");
                }
                if report.no_address > 0 {
                    println!("{} case(s) have no e-mail address for the student: no message made", report.no_address);
                }
                for id in &report.unknown {
                    println!(
                        "unknown: {id}: the last attempt ended without an answer; look for it in the mail server's log, \
                         then `rollcall mail release {id}` if it did not arrive"
                    );
                }
                for id in &report.given_up {
                    println!(
                        "given up: {id}: refused {} times; `rollcall mail release {id}` to try again",
                        warehouse.config().mail.max_attempts
                    );
                }
                // Exit status 1 (with a line on stderr) when a message needs attention, so cron tells someone.
                let attention = report.unknown.len() + report.given_up.len() + report.failed;
                if attention > 0 {
                    eprintln!("error: {attention} e-mail(s) not sent: see the lines above");
                    return Ok(ExitCode::FAILURE);
                }
            }
            Command::List => {
                let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
                let frame = queries::plan(&ctx, "mail/list", &[]).await?;
                output::write_frame(frame, "mail/list", global.format(), global.out.as_deref()).await?;
            }
            Command::Release(args) => {
                mail::release(&warehouse, &args.message_id).await?;
                println!("released {}: the next `rollcall mail send` sends it", args.message_id);
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
