//! The `rollcall` binary: parse the command line, run it, map the outcome to an exit code
//! (0 success, 1 failure, 2 usage error; a closed output pipe is not a failure).

use std::process::ExitCode;

use clap::Parser;
use rollcall::cli::{self, Cli};
use rollcall::error::Error;

#[tokio::main]
async fn main() -> ExitCode {
    // clap exits with status 2 on a usage error, as the interchange contract requires.
    let cli = Cli::parse();
    match cli::run(cli).await {
        Ok(code) => code,
        Err(err) if err.is_broken_pipe() => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rollcall: {err}");
            match err {
                Error::Usage(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
