//! What the benchmarks share.

/// This process's peak resident memory (VmHWM) in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Gives this process the allocator heaps `rollcall` takes for the command `args` (as typed
/// after `rollcall`; they need only parse): the allocator's settings are part of what is
/// measured, and [`rollcall::cli::Command::arenas`] alone decides them.
pub fn set_arenas_as(args: &[&str]) {
    use clap::Parser;
    let cli = rollcall::cli::Cli::try_parse_from(std::iter::once("rollcall").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("a benchmark's command does not parse: {e}"));
    rollcall::allocator::set_arenas(cli.command.arenas());
}
