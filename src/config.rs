//! `rollcall.toml`: the settings later jobs read, with defaults, validation on load and the
//! commented template `rollcall init` writes.
//!
//! Precedence: built-in defaults < the file (`--config`, else `WAREHOUSE/rollcall.toml`)
//! < environment variables named on the setting < command-line flags.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The name of the configuration file inside a warehouse.
pub const CONFIG_FILE: &str = "rollcall.toml";

/// Environment variable naming the pseudonymisation key file.
pub const KEY_FILE_ENV: &str = "ROLLCALL_PSEUDONYM_KEY_FILE";

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The escalation preset this warehouse was initialised with.
    #[serde(default = "default_preset")]
    pub preset: String,
    /// Time zone for timestamps written without an offset (IANA name).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Ingest settings.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// Privacy settings.
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// Where the file was read from (not a setting).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[ingest]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// A swipe counts from this many minutes before a session starts until it ends.
    #[serde(default = "default_window")]
    pub swipe_window_before_minutes: u32,
    /// How many problems an ingest lists before it only counts them.
    #[serde(default = "default_max_problems")]
    pub max_listed_problems: usize,
}

/// `[privacy]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// File holding the secret key for pseudonyms (outside the warehouse, not world-readable).
    /// `ROLLCALL_PSEUDONYM_KEY_FILE` overrides it.
    #[serde(default)]
    pub pseudonym_key_file: Option<PathBuf>,
}

fn default_preset() -> String {
    "staged-review".into()
}
fn default_timezone() -> String {
    "Europe/London".into()
}
fn default_window() -> u32 {
    30
}
fn default_max_problems() -> usize {
    50
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig { swipe_window_before_minutes: default_window(), max_listed_problems: default_max_problems() }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            preset: default_preset(),
            timezone: default_timezone(),
            ingest: IngestConfig::default(),
            privacy: PrivacyConfig::default(),
            source: None,
        }
    }
}

/// The escalation presets `rollcall init --preset` accepts.
pub const PRESETS: &[&str] = &["staged-review", "consecutive-weeks", "wellbeing-window"];

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::parse(&text, path)
    }

    /// Parses and validates configuration text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut config: Config = toml::from_str(text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.message().to_string()
                + &e.span().map(|s| format!(" (line {})", line_of(text, s.start))).unwrap_or_default(),
        })?;
        config.source = Some(path.to_path_buf());
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let fail = |message: String| Error::Config { path: self.source.clone().unwrap_or_default(), message };
        if !PRESETS.contains(&self.preset.as_str()) {
            return Err(fail(format!(
                "preset: unknown preset '{}', expected one of {}",
                self.preset,
                PRESETS.join(", ")
            )));
        }
        self.tz().map_err(|m| fail(format!("timezone: {m}")))?;
        if self.ingest.swipe_window_before_minutes > 12 * 60 {
            return Err(fail("ingest.swipe_window_before_minutes: must be at most 720".into()));
        }
        Ok(())
    }

    /// The configured time zone.
    pub fn tz(&self) -> std::result::Result<Tz, String> {
        self.timezone.parse::<Tz>().map_err(|_| format!("unknown time zone '{}'", self.timezone))
    }

    /// The key file: `ROLLCALL_PSEUDONYM_KEY_FILE` if set, else `[privacy] pseudonym_key_file`
    /// (relative paths are relative to the configuration file).
    pub fn key_file(&self) -> Option<PathBuf> {
        if let Some(env) = std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(env));
        }
        let file = self.privacy.pseudonym_key_file.clone()?;
        if file.is_relative()
            && let Some(dir) = self.source.as_deref().and_then(Path::parent)
        {
            return Some(dir.join(file));
        }
        Some(file)
    }

    /// The commented `rollcall.toml` that `rollcall init` writes.
    pub fn template(preset: &str) -> String {
        TEMPLATE.replace("{preset}", preset)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

const TEMPLATE: &str = r#"# Rollcall configuration for this warehouse.
# Every setting has a default; delete a line to use it. Unknown keys are refused so that
# a typing mistake cannot silently fall back to a default.

# Escalation preset: staged-review, consecutive-weeks or wellbeing-window.
preset = "{preset}"

# Timestamps written without an offset are local time in this zone (GMT/BST: the clock
# changes are applied). An ambiguous time on the night the clocks go back is read as the
# first occurrence (BST); write an explicit offset (+00:00) to mean the second.
timezone = "Europe/London"

# Term dates are data, not settings: load them with `rollcall ingest terms FILE`.

[ingest]
# A card swipe counts for a session from this many minutes before it starts until it ends.
swipe_window_before_minutes = 30
# An ingest lists at most this many problems, then only counts the rest.
max_listed_problems = 50

[privacy]
# Secret key for the keyed pseudonyms (HMAC-SHA256) that hold ethnicity apart from the
# student record. Keep it outside the warehouse, readable only by the account that runs
# Rollcall (chmod 600). The environment variable ROLLCALL_PSEUDONYM_KEY_FILE overrides it.
# Create one with:  head -c 32 /dev/urandom > /etc/rollcall/pseudonym.key
# pseudonym_key_file = "/etc/rollcall/pseudonym.key"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_for_every_preset() {
        for preset in PRESETS {
            let config = Config::parse(&Config::template(preset), Path::new("t.toml")).unwrap();
            assert_eq!(config.preset, *preset);
            assert_eq!(config.ingest.swipe_window_before_minutes, 30);
        }
    }

    #[test]
    fn unknown_key_names_line() {
        let err =
            Config::parse("preset = \"staged-review\"\nwindow = 3\n", Path::new("x.toml")).unwrap_err().to_string();
        assert!(err.contains("x.toml"), "{err}");
        assert!(err.contains("window"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_preset_and_zone_refused() {
        let err = Config::parse("preset = \"lax\"", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("unknown preset 'lax'"));
        let err = Config::parse("timezone = \"Mars/Base\"", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("timezone"));
    }
}
