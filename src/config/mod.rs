//! `rollcall.toml`: the settings later jobs read, with defaults, validation on load and the
//! commented template `rollcall init` writes.
//!
//! Precedence: built-in defaults < the file (`--config`, else `WAREHOUSE/rollcall.toml`)
//! < environment variables named on the setting < command-line flags.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod equality;
pub use equality::{EqualityConfig, Mechanism, Neighbours};

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
    /// Query engine settings.
    #[serde(default)]
    pub engine: EngineConfig,
    /// Privacy settings.
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// How daily engagement ratings are worked out.
    #[serde(default)]
    pub rating: RatingConfig,
    /// The escalation ladder: who is put forward for review, when and why.
    #[serde(default)]
    pub review: ReviewConfig,
    /// Home Office (UKVI) reporting of sponsored students.
    #[serde(default)]
    pub ukvi: UkviConfig,
    /// Funding-body returns.
    #[serde(default)]
    pub funder: FunderConfig,
    /// Equality (ethnicity) analysis: census dates, privacy budget, extracts.
    #[serde(default)]
    pub equality: EqualityConfig,
    /// Third-party disclosures.
    #[serde(default)]
    pub disclosure: DisclosureConfig,
    /// Export formats read by `rollcall ingest` (Moodle, Teams, xAPI, lecture capture, UDD).
    #[serde(default)]
    pub formats: FormatsConfig,
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

/// `[engine]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Memory for sorts, aggregations and joins (MiB); 0 for no limit.
    #[serde(default = "default_memory_limit")]
    pub memory_limit_mib: u64,
}

fn default_memory_limit() -> u64 {
    0
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { memory_limit_mib: default_memory_limit() }
    }
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
            engine: EngineConfig::default(),
            privacy: PrivacyConfig::default(),
            rating: RatingConfig::default(),
            review: ReviewConfig::default(),
            ukvi: UkviConfig::default(),
            funder: FunderConfig::default(),
            equality: EqualityConfig::default(),
            disclosure: DisclosureConfig::default(),
            formats: FormatsConfig::default(),
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
        self.rating.validate().map_err(fail)?;
        self.review.validate().map_err(fail)?;
        self.ukvi.validate().map_err(fail)?;
        self.funder.validate().map_err(fail)?;
        self.equality.validate().map_err(fail)?;
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
        TEMPLATE.replace("{preset}", preset).replace("{ladder}", ladder_template(preset))
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

[engine]
# Memory the query engine may hold for sorts, aggregations and joins, in MiB; beyond it,
# sorts and aggregations spill to temporary files, and a job that needs more for a join
# stops with an error naming the limit. 0 means no limit.
memory_limit_mib = 0

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

[rating]
# Ratings are worked out for each teaching day (a weekday in a term that is not a bank
# holiday) from the trailing window of this many calendar days, the day itself included.
window_days = 14
# "absolute": bands by score. "cohort": bands by the student's place among students of the
# same programme and stage that day (the share of the cohort scoring no higher), falling
# back to absolute for cohorts smaller than min_cohort_size.
basis = "absolute"
min_cohort_size = 10
# The score is attendance_weight x attendance rate + (1 - attendance_weight) x activity
# score, for students with sessions expected in the window; otherwise the activity score.
attendance_weight = 0.6
# Weighted activity points per teaching day in the window that count as full activity
# (activity score 1): a window reaching back into a vacation asks for less.
activity_points_per_day = 10.0
# Absence kinds that excuse the sessions they cover.
excusing_absence_kinds = ["authorised"]

# Points per event of each signal. Distance learners are judged on vle and submission only.
[rating.weights]
vle = 1.0
lecture-capture = 2.0
library = 1.0
pc-login = 0.5
online-meeting = 3.0
submission = 5.0
records-login = 0.5

# Lowest score (absolute) for each band; below `low` is Very Low.
[rating.bands]
low = 0.15
partial = 0.35
good = 0.60
high = 0.85

# Lowest cohort share (cohort basis) for each band.
[rating.cohort_bands]
low = 0.10
partial = 0.25
good = 0.50
high = 0.80

# The escalation ladder. Each rung raises one action for a student when its trigger is met,
# at most once per episode (a week, a fortnight, a year, or a run of missed weeks or low
# days). Triggers:
#   rating                    the student's rating on the review date is in `ratings`
#   weeks-without-attendance  `weeks` consecutive completed teaching weeks with sessions
#                             expected and none attended (weeks with nothing expected,
#                             e.g. all excused by an authorised absence, are skipped)
#   low-engagement-days       every rating in the last `days` days is in `ratings`
# Optional conditions: term, term_weeks = [from, to], on_or_after / on_or_before ("MM-DD"),
# requires (an action already raised for the student this academic year), every_weeks
# (cadence of rating rungs; 0 = once a year). A rung with limit_outcome / limit_per_year
# raises beyond_limit_action instead once the student has had that many such outcomes this
# academic year. Where several weeks rungs are met at once, only the highest is raised.
[review]
{ladder}
[ukvi]
# Sponsored Student-route visa holders (visa_route = student) with a reportable event are
# listed by `rollcall return ukvi`, each with the day its rule was met and the day it must
# be reported by: that day plus report_within_working_days working days (weekends and
# England and Wales bank holidays skipped).
report_within_working_days = 10
# Did not enrol / never engaged: no engagement of any kind this many days after the course start.
no_engagement_days_after_start = 14
# Stopped engaging: "missed-contact-points" (this many consecutive expected sessions
# missed, sessions excused by an authorised absence not counted) or
# "days-without-engagement" (this many days with no engagement of any kind, days of
# authorised absence not counted).
engagement_rule = "missed-contact-points"
engagement_threshold = 10

[funder]
# A student counts as not attending when their last engagement in a liability period
# is more than this many days before the period's end (or the return's date).
not_attending_after_days = 28

# The liability periods of the academic year (MM-DD, within the year from 1 August).
[[funder.periods]]
name = "term 1"
starts = "08-01"
ends = "12-31"

[[funder.periods]]
name = "term 2"
starts = "01-01"
ends = "04-15"

[[funder.periods]]
name = "term 3"
starts = "04-16"
ends = "07-31"

[equality]
# Ethnicity is analysed only in aggregate, as differentially private counts, at these
# census dates of each academic year: "MM-DD", or "end:TERM" for the last day of a term.
census = ["12-01", "end:spring"]
# Privacy budget (epsilon) that all releases about one academic year may spend together.
yearly_epsilon = 2.0
# "laplace": discrete Laplace noise, pure epsilon-DP. "gaussian": discrete Gaussian noise
# under zero-concentrated DP, charged as (epsilon, delta)-DP at the delta below.
mechanism = "laplace"
delta = 1e-7
# Who counts as a neighbouring dataset: "add-remove" (one student more or fewer) or
# "replace" (one student's data changed: twice the sensitivity).
neighbours = "add-remove"
# Confidence of the accuracy intervals published with every count.
confidence = 0.95
# Ethnicity codes or labels to groups; edit the copy in the warehouse to change groups.
groups_file = "reference/ethnicity-groups.csv"
# Record-level extracts: quasi-identifier combinations rarer than this are generalised,
# then suppressed.
k = 10

[disclosure]
# Legal bases an ad-hoc disclosure (`rollcall disclose`) may rest on. Anything else needs
# the student's written consent (`rollcall consent`) covering the recipient, the fields
# and the date. "crime-prevention": DPA 2018 Sch. 2 para. 2 (police requests);
# "vital-interests": emergencies (NHS).
legal_bases = ["legal-obligation", "crime-prevention", "vital-interests", "public-task"]

[formats]
# How dates like 4/11/22 are read in exports written in a user's locale: false reads
# day/month (UK), true reads month/day (US). ISO dates are always understood.
moodle_report_month_first = false
teams_month_first = false
lecture_capture_month_first = true
# A Teams meeting counts as attendance of a timetabled online session when its time
# overlaps the session and its title contains the session's module code, or when a
# mapping below names the session (or module) for a title. Other meetings are recorded
# as online-meeting activity.
# [[formats.teams_meetings]]
# title = "Weekly seminar - Data Structures"
# module_code = "CS2001"        # or: session_id = "CS2001-SEM-07"
"#;

fn ladder_template(preset: &str) -> &'static str {
    match preset {
        "consecutive-weeks" => CONSECUTIVE_WEEKS,
        "wellbeing-window" => WELLBEING_WINDOW,
        _ => STAGED_REVIEW,
    }
}

const STAGED_REVIEW: &str = r#"# Staged review: weekly review of Very Low / Low students in autumn weeks 1-5, fortnightly
# in weeks 6-11, referral to the central progress team in December, and in March a
# supported decision (continue, intermit or withdraw) for referred students not improved.
# Priority categories are listed first.
[[review.rungs]]
action = "weekly-review"
trigger = "rating"
ratings = ["Very Low", "Low"]
term = "autumn"
term_weeks = [1, 5]
every_weeks = 1

[[review.rungs]]
action = "fortnightly-review"
trigger = "rating"
ratings = ["Very Low", "Low"]
term = "autumn"
term_weeks = [6, 11]
every_weeks = 2

[[review.rungs]]
action = "referral"
trigger = "rating"
ratings = ["Very Low", "Low"]
on_or_after = "12-01"
on_or_before = "12-31"
every_weeks = 0

[[review.rungs]]
action = "supported-decision"
trigger = "rating"
ratings = ["Very Low", "Low"]
on_or_after = "03-01"
on_or_before = "03-31"
requires = "referral"
every_weeks = 0
"#;

const CONSECUTIVE_WEEKS: &str = r#"# Consecutive weeks: an email after one teaching week without attendance, a second after
# three, and after four consecutive weeks a required interview and a Student Attendance
# Agreement. At most two agreements a year: after that, a withdrawal review instead.
[[review.rungs]]
action = "first-email"
trigger = "weeks-without-attendance"
weeks = 1

[[review.rungs]]
action = "second-email"
trigger = "weeks-without-attendance"
weeks = 3

[[review.rungs]]
action = "attendance-interview"
trigger = "weeks-without-attendance"
weeks = 4
limit_outcome = "agreement"
limit_per_year = 2
beyond_limit_action = "withdrawal-review"
"#;

const WELLBEING_WINDOW: &str = r#"# Wellbeing window: low or no engagement over two to three weeks of term leads to a
# personal-tutor contact. It has no effect on progression.
[[review.rungs]]
action = "tutor-contact"
trigger = "low-engagement-days"
ratings = ["Very Low", "Low"]
days = 14
"#;

/// `[rating]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RatingConfig {
    /// Trailing window in calendar days: 7, 14 or 21.
    #[serde(default = "default_rating_window")]
    pub window_days: u32,
    /// `absolute` or `cohort`.
    #[serde(default = "default_basis")]
    pub basis: String,
    /// Cohorts smaller than this are banded absolutely.
    #[serde(default = "default_min_cohort")]
    pub min_cohort_size: u32,
    /// Share of the score that comes from attendance, when sessions are expected.
    #[serde(default = "default_attendance_weight")]
    pub attendance_weight: f64,
    /// Weighted activity points per teaching day in the window that count as full activity.
    #[serde(default = "default_points_per_day")]
    pub activity_points_per_day: f64,
    /// Absence kinds that excuse the sessions they cover.
    #[serde(default = "default_excusing")]
    pub excusing_absence_kinds: Vec<String>,
    /// Points per event of each signal.
    #[serde(default)]
    pub weights: SignalWeights,
    /// Absolute band thresholds on the score.
    #[serde(default = "default_bands")]
    pub bands: Bands,
    /// Cohort band thresholds on the cohort share.
    #[serde(default = "default_cohort_bands")]
    pub cohort_bands: Bands,
}

/// Points per event of each activity source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SignalWeights {
    /// VLE (Moodle) events.
    #[serde(default = "one")]
    pub vle: f64,
    /// Lecture-capture views.
    #[serde(rename = "lecture-capture", default = "two")]
    pub lecture_capture: f64,
    /// Library use.
    #[serde(default = "one")]
    pub library: f64,
    /// PC logins.
    #[serde(rename = "pc-login", default = "half")]
    pub pc_login: f64,
    /// Online meetings attended.
    #[serde(rename = "online-meeting", default = "three")]
    pub online_meeting: f64,
    /// Coursework submissions.
    #[serde(default = "five")]
    pub submission: f64,
    /// Student-records logins.
    #[serde(rename = "records-login", default = "half")]
    pub records_login: f64,
}

/// Lowest value of each band above Very Low.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    /// Lowest value rated Low.
    pub low: f64,
    /// Lowest value rated Partial.
    pub partial: f64,
    /// Lowest value rated Good.
    pub good: f64,
    /// Lowest value rated High.
    pub high: f64,
}

fn one() -> f64 {
    1.0
}
fn two() -> f64 {
    2.0
}
fn three() -> f64 {
    3.0
}
fn five() -> f64 {
    5.0
}
fn half() -> f64 {
    0.5
}
fn default_rating_window() -> u32 {
    14
}
fn default_basis() -> String {
    "absolute".into()
}
fn default_min_cohort() -> u32 {
    10
}
fn default_attendance_weight() -> f64 {
    0.6
}
fn default_points_per_day() -> f64 {
    10.0
}
fn default_excusing() -> Vec<String> {
    vec!["authorised".into()]
}
fn default_bands() -> Bands {
    Bands { low: 0.15, partial: 0.35, good: 0.60, high: 0.85 }
}
fn default_cohort_bands() -> Bands {
    Bands { low: 0.10, partial: 0.25, good: 0.50, high: 0.80 }
}

impl Default for SignalWeights {
    fn default() -> Self {
        SignalWeights {
            vle: 1.0,
            lecture_capture: 2.0,
            library: 1.0,
            pc_login: 0.5,
            online_meeting: 3.0,
            submission: 5.0,
            records_login: 0.5,
        }
    }
}

impl Default for RatingConfig {
    fn default() -> Self {
        RatingConfig {
            window_days: default_rating_window(),
            basis: default_basis(),
            min_cohort_size: default_min_cohort(),
            attendance_weight: default_attendance_weight(),
            activity_points_per_day: default_points_per_day(),
            excusing_absence_kinds: default_excusing(),
            weights: SignalWeights::default(),
            bands: default_bands(),
            cohort_bands: default_cohort_bands(),
        }
    }
}

impl Bands {
    fn validate(&self, key: &str) -> std::result::Result<(), String> {
        let ok = 0.0 < self.low
            && self.low < self.partial
            && self.partial < self.good
            && self.good < self.high
            && self.high <= 1.0;
        if ok {
            Ok(())
        } else {
            Err(format!("{key}: thresholds must rise strictly: 0 < low < partial < good < high <= 1"))
        }
    }
}

impl RatingConfig {
    fn validate(&self) -> std::result::Result<(), String> {
        if ![7, 14, 21].contains(&self.window_days) {
            return Err("rating.window_days: must be 7, 14 or 21".into());
        }
        if !["absolute", "cohort"].contains(&self.basis.as_str()) {
            return Err(format!("rating.basis: '{}' is neither absolute nor cohort", self.basis));
        }
        if !(0.0..=1.0).contains(&self.attendance_weight) {
            return Err("rating.attendance_weight: must be between 0 and 1".into());
        }
        if self.activity_points_per_day <= 0.0 || !self.activity_points_per_day.is_finite() {
            return Err("rating.activity_points_per_day: must be above 0".into());
        }
        let w = &self.weights;
        for (name, v) in [
            ("vle", w.vle),
            ("lecture-capture", w.lecture_capture),
            ("library", w.library),
            ("pc-login", w.pc_login),
            ("online-meeting", w.online_meeting),
            ("submission", w.submission),
            ("records-login", w.records_login),
        ] {
            if v < 0.0 || !v.is_finite() {
                return Err(format!("rating.weights.{name}: must be 0 or more"));
            }
        }
        self.bands.validate("rating.bands")?;
        self.cohort_bands.validate("rating.cohort_bands")
    }

    /// A digest of every setting that changes ratings, recorded with each rating run so
    /// that changed settings lead to a full recomputation.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = serde_json::to_string(self).expect("settings serialise");
        hex::encode(&Sha256::digest(text.as_bytes())[..12])
    }
}

/// `[review]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {
    /// The ladder's rungs, in order.
    #[serde(default)]
    pub rungs: Vec<Rung>,
}

/// One rung of the escalation ladder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rung {
    /// Action raised, e.g. `weekly-review`.
    pub action: String,
    /// `rating`, `weeks-without-attendance` or `low-engagement-days`.
    pub trigger: String,
    /// Ratings that meet a rating or low-engagement trigger.
    #[serde(default)]
    pub ratings: Vec<String>,
    /// Only in this term.
    #[serde(default)]
    pub term: Option<String>,
    /// Only in these teaching weeks of the term, [from, to].
    #[serde(default)]
    pub term_weeks: Option<[u32; 2]>,
    /// Only on or after this day of the academic year (`MM-DD`).
    #[serde(default)]
    pub on_or_after: Option<String>,
    /// Only on or before this day of the academic year (`MM-DD`).
    #[serde(default)]
    pub on_or_before: Option<String>,
    /// Only for students with this action already raised this academic year.
    #[serde(default)]
    pub requires: Option<String>,
    /// Cadence of rating rungs in weeks (0 = once an academic year).
    #[serde(default)]
    pub every_weeks: u32,
    /// Consecutive weeks without attendance.
    #[serde(default)]
    pub weeks: u32,
    /// Days of low engagement.
    #[serde(default)]
    pub days: u32,
    /// Outcome counted against `limit_per_year`.
    #[serde(default)]
    pub limit_outcome: Option<String>,
    /// How many `limit_outcome` outcomes a year before `beyond_limit_action` is raised instead.
    #[serde(default)]
    pub limit_per_year: u32,
    /// Raised instead once the limit is reached.
    #[serde(default)]
    pub beyond_limit_action: Option<String>,
}

/// `[ukvi]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UkviConfig {
    /// Working days allowed between an event and its report.
    #[serde(default = "ten")]
    pub report_within_working_days: u32,
    /// Days after the course start by which a sponsored student must have engaged.
    #[serde(default = "fourteen")]
    pub no_engagement_days_after_start: u32,
    /// `missed-contact-points` or `days-without-engagement`.
    #[serde(default = "default_engagement_rule")]
    pub engagement_rule: String,
    /// Sessions or days, by the rule.
    #[serde(default = "ten")]
    pub engagement_threshold: u32,
}

fn ten() -> u32 {
    10
}
fn fourteen() -> u32 {
    14
}
fn default_engagement_rule() -> String {
    "missed-contact-points".into()
}

impl Default for UkviConfig {
    fn default() -> Self {
        UkviConfig {
            report_within_working_days: 10,
            no_engagement_days_after_start: 14,
            engagement_rule: default_engagement_rule(),
            engagement_threshold: 10,
        }
    }
}

impl UkviConfig {
    fn validate(&self) -> std::result::Result<(), String> {
        if !["missed-contact-points", "days-without-engagement"].contains(&self.engagement_rule.as_str()) {
            return Err(format!(
                "ukvi.engagement_rule: '{}' is neither missed-contact-points nor days-without-engagement",
                self.engagement_rule
            ));
        }
        if self.engagement_threshold == 0 || self.report_within_working_days == 0 {
            return Err("ukvi: engagement_threshold and report_within_working_days must be at least 1".into());
        }
        Ok(())
    }
}

/// `[funder]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunderConfig {
    /// Days without engagement before a period's end that make a student not attending.
    #[serde(default = "twenty_eight")]
    pub not_attending_after_days: u32,
    /// Liability periods.
    #[serde(default = "default_periods")]
    pub periods: Vec<LiabilityPeriod>,
}

/// One liability period.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiabilityPeriod {
    /// Its name in the return.
    pub name: String,
    /// First day, `MM-DD`.
    pub starts: String,
    /// Last day, `MM-DD`.
    pub ends: String,
}

fn twenty_eight() -> u32 {
    28
}
fn default_periods() -> Vec<LiabilityPeriod> {
    [("term 1", "08-01", "12-31"), ("term 2", "01-01", "04-15"), ("term 3", "04-16", "07-31")]
        .into_iter()
        .map(|(n, s, e)| LiabilityPeriod { name: n.into(), starts: s.into(), ends: e.into() })
        .collect()
}

impl Default for FunderConfig {
    fn default() -> Self {
        FunderConfig { not_attending_after_days: 28, periods: default_periods() }
    }
}

impl FunderConfig {
    fn validate(&self) -> std::result::Result<(), String> {
        if self.periods.is_empty() {
            return Err("funder.periods: at least one liability period is needed".into());
        }
        for p in &self.periods {
            for md in [&p.starts, &p.ends] {
                if parse_month_day(md).is_none() {
                    return Err(format!("funder.periods ({}): '{md}' is not a MM-DD day of the year", p.name));
                }
            }
        }
        Ok(())
    }
}

/// `[formats]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatsConfig {
    /// Read `a/b/yy` in Moodle's Logs report as month/day.
    #[serde(default)]
    pub moodle_report_month_first: bool,
    /// Read `a/b/yy` in Teams attendance reports as month/day.
    #[serde(default)]
    pub teams_month_first: bool,
    /// Read `a/b/yyyy` in lecture-capture exports as month/day (Panopto writes US dates).
    #[serde(default = "yes")]
    pub lecture_capture_month_first: bool,
    /// Meeting titles mapped to a module or a session.
    #[serde(default)]
    pub teams_meetings: Vec<TeamsMeeting>,
}

fn yes() -> bool {
    true
}

impl Default for FormatsConfig {
    fn default() -> Self {
        FormatsConfig {
            moodle_report_month_first: false,
            teams_month_first: false,
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
    #[serde(default)]
    pub module_code: Option<String>,
    /// The session it is.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// `[disclosure]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureConfig {
    /// Legal bases an ad-hoc disclosure may rest on (besides a student's consent).
    #[serde(default = "default_legal_bases")]
    pub legal_bases: Vec<String>,
}

fn default_legal_bases() -> Vec<String> {
    ["legal-obligation", "crime-prevention", "vital-interests", "public-task"].map(String::from).to_vec()
}

impl Default for DisclosureConfig {
    fn default() -> Self {
        DisclosureConfig { legal_bases: default_legal_bases() }
    }
}

/// Parses a `MM-DD` day of the year (29 February allowed).
pub fn parse_month_day(text: &str) -> Option<(u32, u32)> {
    use chrono::Datelike;
    if text.len() != 5 {
        return None;
    }
    let day = chrono::NaiveDate::parse_from_str(&format!("2024-{text}"), "%Y-%m-%d").ok()?;
    Some((day.month(), day.day()))
}

/// Rating bands, lowest first.
pub const RATINGS: &[&str] = &["Very Low", "Low", "Partial", "Good", "High"];

/// Case outcomes staff can record.
pub const OUTCOMES: &[&str] =
    &["contacted", "met", "no-show", "agreement", "intermitted", "withdrawn", "no-further-action"];

impl ReviewConfig {
    fn validate(&self) -> std::result::Result<(), String> {
        for (i, rung) in self.rungs.iter().enumerate() {
            let key = format!("review.rungs[{}] ({})", i + 1, rung.action);
            let fail = |m: &str| Err(format!("{key}: {m}"));
            if rung.action.trim().is_empty() {
                return fail("action must not be empty");
            }
            for r in &rung.ratings {
                if !RATINGS.contains(&r.as_str()) {
                    return fail(&format!("unknown rating '{r}', expected one of {}", RATINGS.join(", ")));
                }
            }
            match rung.trigger.as_str() {
                "rating" | "low-engagement-days" if rung.ratings.is_empty() => {
                    return fail("ratings must name at least one rating");
                }
                "rating" => {}
                "weeks-without-attendance" if rung.weeks == 0 => return fail("weeks must be at least 1"),
                "weeks-without-attendance" => {}
                "low-engagement-days" if rung.days < 7 => return fail("days must be at least 7"),
                "low-engagement-days" => {}
                other => {
                    return fail(&format!(
                        "unknown trigger '{other}', expected rating, weeks-without-attendance or low-engagement-days"
                    ));
                }
            }
            if let Some([from, to]) = rung.term_weeks
                && (from == 0 || to < from)
            {
                return fail("term_weeks must be [from, to] with 1 <= from <= to");
            }
            for md in [&rung.on_or_after, &rung.on_or_before].into_iter().flatten() {
                if parse_month_day(md).is_none() {
                    return fail(&format!("'{md}' is not a MM-DD day of the year"));
                }
            }
            if let Some(outcome) = &rung.limit_outcome {
                if !OUTCOMES.contains(&outcome.as_str()) {
                    return fail(&format!("unknown outcome '{outcome}'"));
                }
                if rung.limit_per_year == 0 || rung.beyond_limit_action.is_none() {
                    return fail("limit_outcome needs limit_per_year (1 or more) and beyond_limit_action");
                }
            }
        }
        Ok(())
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
