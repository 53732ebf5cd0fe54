//! Every environment variable Rollcall reads, in one registry: the README's table is
//! checked against it, so a variable cannot be added without being documented.

/// One environment variable.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    /// Its name.
    pub name: &'static str,
    /// What it sets, as the README says it.
    pub about: &'static str,
}

/// The warehouse directory when `--warehouse` is not given.
pub const WAREHOUSE: &str = "ROLLCALL_WAREHOUSE";
/// The configuration file when `--config` is not given.
pub const CONFIG: &str = "ROLLCALL_CONFIG";
/// The pseudonym key file; overrides `[privacy] pseudonym_key_file`.
pub const PSEUDONYM_KEY_FILE: &str = "ROLLCALL_PSEUDONYM_KEY_FILE";
/// The audit seal's key file; overrides `[privacy] audit_key_file`.
pub const AUDIT_KEY_FILE: &str = "ROLLCALL_AUDIT_KEY_FILE";
/// Fault injection (tests): the durable step after which the process kills itself.
pub const FAULT_KILL_AT: &str = "ROLLCALL_FAULT_KILL_AT";
/// Fault injection (tests): milliseconds a reading command waits between snapshot and read.
pub const FAULT_PAUSE_READ_MS: &str = "ROLLCALL_FAULT_PAUSE_READ_MS";
/// Activity keys an export adapter holds before writing a chunk.
pub const CHUNK_KEYS: &str = "ROLLCALL_CHUNK_KEYS";
/// Size from which an interchange file is read by several threads.
pub const SPLIT_BYTES: &str = "ROLLCALL_SPLIT_BYTES";

/// The registry.
pub const VARS: &[EnvVar] = &[
    EnvVar {
        name: WAREHOUSE,
        about: "the warehouse directory when `--warehouse` is not given (default `./warehouse`)",
    },
    EnvVar {
        name: CONFIG,
        about: "the settings file when `--config` is not given (default `WAREHOUSE/rollcall.toml`)",
    },
    EnvVar { name: PSEUDONYM_KEY_FILE, about: "the pseudonym key file; overrides `[privacy] pseudonym_key_file`" },
    EnvVar {
        name: AUDIT_KEY_FILE,
        about: "the key that seals audit-trail entries; overrides `[privacy] audit_key_file`",
    },
    EnvVar {
        name: FAULT_KILL_AT,
        about: "for the crash tests only: kill the process (SIGKILL) after its N-th durable step",
    },
    EnvVar {
        name: FAULT_PAUSE_READ_MS,
        about: "for the crash tests only: hold a reading command N ms between loading tables and reading them",
    },
    EnvVar {
        name: CHUNK_KEYS,
        about: "activity keys an export adapter holds before writing a chunk (default 1,048,576, about 100 MiB)",
    },
    EnvVar {
        name: SPLIT_BYTES,
        about: "size in bytes from which an interchange file is read by several threads (default 16 MiB)",
    },
];

/// A positive whole number from the environment variable `name`, else `default`.
pub fn positive(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README documents exactly the registry: every variable with its text, and no other.
    #[test]
    fn readme_lists_every_variable_of_the_registry() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        for var in VARS {
            let row = format!("| `{}` | {} |", var.name, var.about);
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
        let mut named: Vec<&str> = readme
            .match_indices("ROLLCALL_")
            .map(|(at, _)| {
                let rest = &readme[at..];
                &rest[..rest.find(|c: char| !(c.is_ascii_uppercase() || c == '_')).unwrap_or(rest.len())]
            })
            .collect();
        named.sort_unstable();
        named.dedup();
        let registered: Vec<&str> = VARS.iter().map(|v| v.name).collect();
        for name in named {
            assert!(registered.contains(&name), "README names {name}, which is not in the registry");
        }
    }
}
