//! `rollcall keys rotate --new-key FILE`

use std::path::PathBuf;
use std::process::ExitCode;

use super::GlobalArgs;
use crate::config::KEY_FILE_ENV;
use crate::error::Result;

/// Pseudonymisation keys.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Re-pseudonymise the equality table under a new key, atomically.
    Rotate(RotateArgs),
}

/// `keys rotate`
#[derive(Debug, Clone, clap::Args)]
pub struct RotateArgs {
    /// The new key file (outside the warehouse, not world-readable, 16 bytes or more).
    #[arg(long)]
    pub new_key: PathBuf,
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        match self {
            Command::Rotate(args) => {
                let r = crate::privacy::rotate::rotate(&warehouse, &args.new_key).await?;
                if r.already {
                    println!(
                        "the warehouse's pseudonyms are already under this key (fingerprint recorded); nothing to do. \
                         To change keys, create a new one with `head -c 32 /dev/urandom > FILE`"
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                println!(
                    "{} the pseudonym key: {} equality rows now under the new key{}",
                    if r.resumed { "finished rotating" } else { "rotated" },
                    r.rows,
                    if r.dropped > 0 {
                        format!(", {} rows matching no held student left out", r.dropped)
                    } else {
                        String::new()
                    }
                );
                println!(
                    "point {KEY_FILE_ENV} (or [privacy] pseudonym_key_file) at {} now, then destroy the old key",
                    args.new_key.display()
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
