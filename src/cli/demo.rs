//! `rollcall demo`: generate a synthetic university, ingest it into a fresh warehouse and
//! run every job, printing where the results are.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{GlobalArgs, output, thousands};
use crate::config::{CONFIG_FILE, PRESETS};
use crate::demo::{self, DemoSpec};
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::ingest::{self, IngestOptions, kinds};
use crate::warehouse::{Warehouse, write_atomically};

const MARKER: &str = ".rollcall-demo";

/// Build a synthetic university in a fresh warehouse and run every job on it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Students in the generated year (graduates held for retention come on top).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    pub students: u32,
    /// Seed for every random draw: the same seed gives the same university.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Directory for the demo: input files, key and warehouse (replaced if it holds an earlier demo).
    #[arg(long, default_value = "demo")]
    pub dir: PathBuf,
    /// First calendar year of the generated academic year.
    #[arg(long, default_value_t = 2025)]
    pub year: i32,
    /// Escalation preset of the demo warehouse.
    #[arg(long, default_value = "staged-review", value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    pub preset: String,
    /// Only write the input files; do not build a warehouse.
    #[arg(long)]
    pub generate_only: bool,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        prepare_dir(&self.dir)?;
        let spec = DemoSpec { students: self.students, seed: self.seed, year: self.year, ..DemoSpec::default() };
        let input = self.dir.join("input");
        println!(
            "generating {} students (seed {}) into {} ...",
            thousands(u64::from(spec.students)),
            spec.seed,
            input.display()
        );
        let files = tokio::task::block_in_place(|| demo::generate(&spec, &input))?;
        let c = &files.counts;
        println!(
            "  {} students, {} sessions, {} class-list rows, {} swipes, {} activity rows, {} absences; {} generated to disengage (truth.csv)",
            thousands(c.students),
            thousands(c.sessions),
            thousands(c.class_list_rows),
            thousands(c.swipes),
            thousands(c.activity),
            thousands(c.absences),
            thousands(c.disengaging)
        );
        if self.generate_only {
            return Ok(ExitCode::SUCCESS);
        }

        let key = write_demo_key(&self.dir.join("keys"))?;
        let root = self.dir.join("warehouse");
        ingest::init_warehouse(&root, &self.preset).await?;
        let config_path = root.join(CONFIG_FILE);
        let config = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let config = config.replace(
            "# pseudonym_key_file = \"/etc/rollcall/pseudonym.key\"",
            &format!("pseudonym_key_file = \"{}\"", key.display()),
        );
        write_atomically(&config_path, config.as_bytes())?;
        let warehouse = Warehouse::open(&root, None)?;
        println!("warehouse {} (preset {})", warehouse.root().display(), self.preset);

        let options =
            IngestOptions { progress: !global.quiet && std::io::stderr().is_terminal(), ..IngestOptions::default() };
        // Bank holidays come with `init`; the generator writes every other kind.
        for kind in kinds::ALL.iter().filter(|k| k.name != kinds::BANK_HOLIDAYS.name) {
            let report = ingest::ingest(&warehouse, kind, &[files.file(kind.name)], &options).await?;
            super::ingest::print_report(&report, warehouse.config().ingest.max_listed_problems);
            if report.refused() > 0 {
                return Err(Error::Internal(format!("the demo's own {} file was refused", kind.name)));
            }
        }

        let ctx = session::build(&warehouse, Access::Analyst).await?;
        let summary = ctx
            .sql(
                "SELECT (SELECT count(*) FROM students) AS students, \
                        (SELECT count(*) FROM sessions) AS sessions, \
                        (SELECT count(*) FROM attendance) AS attended, \
                        (SELECT count(*) FROM rejected_swipes) AS rejected_swipes, \
                        (SELECT count(*) FROM activity) AS activity_rows",
            )
            .await
            .map_err(|e| Error::query("demo summary", e))?
            .collect()
            .await
            .map_err(|e| Error::query("demo summary", e))?;
        println!();
        output::write(&summary, output::Format::Table, None)?;
        println!("explore it with, for example:");
        println!(
            "  rollcall --warehouse {} sql \"SELECT reason, count(*) FROM rejected_swipes GROUP BY reason\"",
            root.display()
        );
        println!("input files: {}  pseudonym key: {}", input.display(), key.display());
        Ok(ExitCode::SUCCESS)
    }
}

/// Makes `dir` ready for a fresh demo, replacing an earlier demo but nothing else.
fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(Error::Usage(format!(
                "{} exists and does not hold an earlier demo; choose another --dir",
                dir.display()
            )));
        }
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    std::fs::write(dir.join(MARKER), "rollcall demo directory: `rollcall demo` replaces it\n")
        .map_err(|e| Error::io(dir, e))
}

/// Writes a fresh random pseudonym key readable only by its owner.
fn write_demo_key(dir: &Path) -> Result<PathBuf> {
    use rand::RngCore;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = std::path::absolute(dir.join("pseudonym.key")).map_err(|e| Error::io(dir, e))?;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    std::fs::write(&path, key).map_err(|e| Error::io(&path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| Error::io(&path, e))?;
    }
    Ok(path)
}
