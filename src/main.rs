//! The `rollcall` binary: parse the command line, run it, map the outcome to an exit code
//! (0 success, 1 failure, 2 usage error; a closed output pipe is not a failure).

use std::process::ExitCode;

use clap::Parser;
use rollcall::cli::{self, Cli};
use rollcall::error::Error;

fn main() -> ExitCode {
    // clap exits with status 2 on a usage error, as the interchange contract requires.
    let cli = Cli::parse();
    // Before the runtime starts its threads.
    rollcall::allocator::set_arenas(cli.command.arenas());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("rollcall: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
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
