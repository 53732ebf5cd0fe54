//! Fault injection for the crash tests (`tests/it/faults.rs`).
//!
//! Every durable step a command takes (a Delta commit, a vacuum, a log clean-up, a file
//! replaced whole, an audit entry) calls [`step`]. With `ROLLCALL_FAULT_KILL_AT=N` in the
//! environment, the process kills itself with SIGKILL right after its N-th step, as a
//! power cut or `kill -9` would stop it: no destructors, no buffers flushed, no lock
//! released by the program. Unset (always, outside the tests), a step costs one atomic
//! increment. `ROLLCALL_FAULT_PAUSE_READ_MS=N` holds a reading command for N milliseconds
//! once, between loading the tables' snapshots and reading their files, so a test can run
//! a purge in that gap.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the step after which the process is killed.
pub const KILL_AT_ENV: &str = crate::config::env::FAULT_KILL_AT;

static STEPS: AtomicU64 = AtomicU64::new(0);

fn kill_at() -> Option<u64> {
    static KILL_AT: OnceLock<Option<u64>> = OnceLock::new();
    *KILL_AT.get_or_init(|| std::env::var(KILL_AT_ENV).ok().and_then(|v| v.trim().parse().ok()))
}

/// Records that a durable step has completed; the process is killed here when it is the
/// step named by [`KILL_AT_ENV`].
pub fn step() {
    let n = STEPS.fetch_add(1, Ordering::SeqCst) + 1;
    if kill_at() == Some(n) {
        // SIGKILL from outside the program's own code paths, as an operator's `kill -9`.
        let _ = std::process::Command::new("kill").args(["-KILL", &std::process::id().to_string()]).status();
        std::thread::sleep(std::time::Duration::from_secs(5));
        std::process::abort();
    }
}

/// The environment variable holding a reader between its snapshot and its read.
pub const PAUSE_READ_ENV: &str = crate::config::env::FAULT_PAUSE_READ_MS;

/// Holds a reading command here once, for the milliseconds named by [`PAUSE_READ_ENV`].
pub fn pause_reader() {
    static PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let Some(ms) = std::env::var(PAUSE_READ_ENV).ok().and_then(|v| v.trim().parse::<u64>().ok()) else { return };
    if !PAUSED.swap(true, Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
