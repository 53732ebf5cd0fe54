//! `rollcall.toml`: the settings later jobs read, with defaults, validation on load and the
//! commented template `rollcall init` writes.
//!
//! Precedence: built-in defaults < the file (`--config`, else `WAREHOUSE/rollcall.toml`)
//! < environment variables named on the setting < command-line flags.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod console;
pub mod mail;
pub mod env;
pub mod equality;
pub mod rating;
pub mod returns;
pub mod review;
pub use console::ConsoleConfig;
pub use equality::{EqualityConfig, Mechanism, Neighbours};
pub use mail::MailConfig;
pub use rating::{Bands, RATINGS, RatingConfig, SignalWeights};
pub use returns::{FunderConfig, LiabilityPeriod, UkviConfig};
pub use review::{OUTCOMES, PRESETS, ReviewConfig, Rung, ladder_template};

/// The name of the configuration file inside a warehouse.
pub const CONFIG_FILE: &str = "rollcall.toml";

/// Environment variable naming the pseudonymisation key file.
pub const KEY_FILE_ENV: &str = env::PSEUDONYM_KEY_FILE;

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The escalation preset this warehouse was initialised with.
    pub preset: String,
    /// Time zone for timestamps written without an offset (IANA name).
    pub timezone: String,
    /// Ingest settings.
    pub ingest: IngestConfig,
    /// Query engine settings.
    pub engine: EngineConfig,
    /// Privacy settings.
    pub privacy: PrivacyConfig,
    /// How daily engagement ratings are worked out.
    pub rating: RatingConfig,
    /// The escalation ladder: who is put forward for review, when and why.
    pub review: ReviewConfig,
    /// Home Office (UKVI) reporting of sponsored students.
    pub ukvi: UkviConfig,
    /// Funding-body returns.
    pub funder: FunderConfig,
    /// Equality (ethnicity) analysis: census dates, privacy budget, extracts.
    pub equality: EqualityConfig,
    /// Third-party disclosures.
    pub disclosure: DisclosureConfig,
    /// Files written for users (`--out`): who may read them.
    pub output: OutputConfig,
    /// Export formats read by `rollcall ingest` (Moodle, Teams, xAPI, lecture capture, UDD).
    pub formats: FormatsConfig,
    /// The web console (`rollcall serve`).
    pub console: ConsoleConfig,
    /// E-mails to students (`rollcall mail send`).
    pub mail: MailConfig,
    /// Where the file was read from (not a setting).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[output]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// Mode of the files a command writes with `--out` (and the demo's outputs), in octal;
    /// `0600`, the default, keeps them to the account that ran Rollcall. The equality
    /// extract and rejects files stay 0600 whatever this says.
    pub mode: FileMode,
}

/// A file mode written in octal (`0640`): the owner may always read and write, and no
/// one else may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileMode(u32);

impl FileMode {
    /// The permission bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// The mode for a directory holding such files: search where read is allowed.
    pub fn directory_bits(self) -> u32 {
        let read = self.0 & 0o444;
        self.0 | (read >> 2)
    }
}

impl Default for FileMode {
    fn default() -> Self {
        FileMode(0o600)
    }
}

impl std::str::FromStr for FileMode {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let bits = u32::from_str_radix(text, 8)
            .ok()
            .filter(|b| *b <= 0o777)
            .ok_or_else(|| format!("output.mode '{text}' is not an octal file mode such as 0600 or 0640"))?;
        if bits & 0o600 != 0o600 {
            return Err(format!("output.mode '{text}' must let the owner read and write (0600 at least)"));
        }
        if bits & 0o022 != 0 || bits & 0o111 != 0 {
            return Err(format!("output.mode '{text}' must not let others write, nor make files executable"));
        }
        Ok(FileMode(bits))
    }
}

impl std::fmt::Display for FileMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

crate::domain::text_serde!(FileMode);

/// `[ingest]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// A swipe counts from this many minutes before a session starts until it ends.
    pub swipe_window_before_minutes: u32,
    /// How many problems an ingest lists before it only counts them.
    pub max_listed_problems: usize,
    /// One card in two rooms fewer minutes apart than this is listed as suspicious.
    pub min_minutes_between_rooms: u32,
}

/// `[engine]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Memory for sorts, aggregations and joins (MiB); 0 for no limit.
    pub memory_limit_mib: u64,
}

/// `[privacy]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// File holding the secret key for pseudonyms (outside the warehouse, not world-readable).
    /// `ROLLCALL_PSEUDONYM_KEY_FILE` overrides it.
    pub pseudonym_key_file: Option<PathBuf>,
    /// File holding the secret key that seals audit-trail entries (outside the warehouse,
    /// not world-readable). `ROLLCALL_AUDIT_KEY_FILE` overrides it.
    pub audit_key_file: Option<PathBuf>,
    /// The lawful basis the university's privacy notice gives for monitoring engagement;
    /// subject-access exports state it.
    pub lawful_basis: crate::domain::terms::LawfulBasis,
    /// Whether a subject-access page names the staff who recorded or viewed something
    /// (otherwise "a member of staff"; the data files always hold the values as stored).
    pub sar_staff_names: bool,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            pseudonym_key_file: None,
            audit_key_file: None,
            lawful_basis: crate::domain::terms::LawfulBasis::PublicTask,
            sar_staff_names: false,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig { swipe_window_before_minutes: 30, max_listed_problems: 50, min_minutes_between_rooms: 5 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            preset: "staged-review".into(),
            timezone: "Europe/London".into(),
            ingest: IngestConfig::default(),
            engine: EngineConfig::default(),
            privacy: PrivacyConfig::default(),
            rating: RatingConfig::default(),
            review: ReviewConfig::default(),
            ukvi: UkviConfig::default(),
            funder: FunderConfig::default(),
            equality: EqualityConfig::default(),
            disclosure: DisclosureConfig::default(),
            output: OutputConfig::default(),
            formats: FormatsConfig::default(),
            console: ConsoleConfig::default(),
            mail: MailConfig::default(),
            source: None,
        }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::parse(&text, path)
    }

    /// Parses and validates configuration text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut config: Config = toml::from_str(text).map_err(|e| Error::config_syntax(path, text, e))?;
        config.source = Some(path.to_path_buf());
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let fail = |message: String| Error::Config { path: self.source.clone().unwrap_or_default(), message };
        self.rating.validate().map_err(fail)?;
        self.review.validate().map_err(fail)?;
        self.ukvi.validate().map_err(fail)?;
        self.funder.validate().map_err(fail)?;
        self.equality.validate().map_err(fail)?;
        self.mail.validate().map_err(fail)?;
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
        self.secret_file(KEY_FILE_ENV, self.privacy.pseudonym_key_file.as_deref())
    }

    /// The audit seal's key file: `ROLLCALL_AUDIT_KEY_FILE` if set, else `[privacy]
    /// audit_key_file` (relative paths are relative to the configuration file).
    pub fn audit_key_file(&self) -> Option<PathBuf> {
        self.secret_file(env::AUDIT_KEY_FILE, self.privacy.audit_key_file.as_deref())
    }

    fn secret_file(&self, var: &str, configured: Option<&Path>) -> Option<PathBuf> {
        if let Some(env) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(env));
        }
        let file = configured?.to_path_buf();
        if file.is_relative()
            && let Some(dir) = self.source.as_deref().and_then(Path::parent)
        {
            return Some(dir.join(file));
        }
        Some(file)
    }

    /// The commented `rollcall.toml` that `rollcall init` writes.
    pub fn template(preset: &str) -> String {
        TEMPLATE.replace("{preset}", preset).replace("{ladder}", ladder_template(preset))
    }
}

/// The commented `rollcall.toml`, with `{preset}` and `{ladder}` to fill in.
const TEMPLATE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/settings/rollcall.toml"));

/// `[formats]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FormatsConfig {
    /// Read `a/b/yy` in Moodle's Logs report as month/day.
    pub moodle_report_month_first: bool,
    /// Read `a/b/yy` in a Teams attendance report whose dates do not show their order as
    /// month/day (`true`) or day/month (`false`); unset, such a report is refused.
    pub teams_month_first: Option<bool>,
    /// Read `a/b/yyyy` in lecture-capture exports as month/day (Panopto writes US dates).
    pub lecture_capture_month_first: bool,
    /// Meeting titles mapped to a module or a session.
    pub teams_meetings: Vec<TeamsMeeting>,
}

impl Default for FormatsConfig {
    fn default() -> Self {
        FormatsConfig {
            moodle_report_month_first: false,
            teams_month_first: None,
            lecture_capture_month_first: true,
            teams_meetings: Vec::new(),
        }
    }
}

/// One `[[formats.teams_meetings]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsMeeting {
    /// The meeting title, as in the report's summary (compared without regard to case).
    pub title: String,
    /// The module whose online session at the meeting's time it is.
    pub module_code: Option<String>,
    /// The session it is.
    pub session_id: Option<String>,
}

/// `[disclosure]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisclosureConfig {
    /// Legal bases an ad-hoc disclosure may rest on (besides a student's consent).
    pub legal_bases: Vec<String>,
}

impl Default for DisclosureConfig {
    fn default() -> Self {
        DisclosureConfig {
            legal_bases: ["legal-obligation", "crime-prevention", "vital-interests", "public-task"]
                .map(String::from)
                .to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_for_every_preset() {
        for preset in PRESETS {
            let config = Config::parse(&Config::template(preset), Path::new("t.toml")).unwrap();
            assert_eq!(config.preset, *preset);
            assert_eq!(config.ingest.swipe_window_before_minutes, 30);
            assert_eq!(config.rating, RatingConfig::default(), "the template spells out the defaults");
            assert!(!config.review.rungs.is_empty());
        }
        let staged = Config::parse(&Config::template("staged-review"), Path::new("t.toml")).unwrap();
        assert_eq!(
            staged.review.rungs.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            ["weekly-review", "fortnightly-review", "referral", "supported-decision"]
        );
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
    fn rating_and_ladder_settings_are_checked() {
        let base = Config::template("staged-review");
        for (from, to, expect) in [
            ("window_days = 14", "window_days = 10", "rating.window_days"),
            ("basis = \"absolute\"", "basis = \"relative\"", "rating.basis"),
            ("good = 0.60", "good = 0.30", "rating.bands"),
            (
                "ratings = [\"Very Low\", \"Low\"]\nterm = \"autumn\"\nterm_weeks = [1, 5]",
                "ratings = [\"Terrible\"]",
                "unknown rating 'Terrible'",
            ),
            ("trigger = \"rating\"", "trigger = \"vibes\"", "unknown trigger 'vibes'"),
            ("on_or_after = \"12-01\"", "on_or_after = \"12-41\"", "not a MM-DD"),
        ] {
            assert!(base.contains(from), "{from}");
            let err = Config::parse(&base.replacen(from, to, 1), Path::new("x.toml")).unwrap_err().to_string();
            assert!(err.contains(expect), "{err}");
        }
    }

    #[test]
    fn unknown_preset_and_zone_refused() {
        let err = Config::parse("preset = \"lax\"", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("unknown preset 'lax'"));
        let err = Config::parse("timezone = \"Mars/Base\"", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("timezone"));
    }
}
