//! `[review]`: the escalation ladder, and the presets `rollcall init` offers.

use serde::{Deserialize, Serialize};

use crate::domain::terms::{Outcome, Trigger};
use crate::domain::year::MonthDay;

use super::rating::RATINGS;

/// The escalation presets `rollcall init --preset` accepts.
pub const PRESETS: &[&str] = &["staged-review", "consecutive-weeks", "wellbeing-window"];

/// The commented `[[review.rungs]]` of a preset, as `rollcall init` writes them.
pub fn ladder_template(preset: &str) -> &'static str {
    match preset {
        "consecutive-weeks" => {
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/settings/presets/consecutive-weeks.toml"))
        }
        "wellbeing-window" => {
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/settings/presets/wellbeing-window.toml"))
        }
        _ => include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/settings/presets/staged-review.toml")),
    }
}

/// Case outcomes staff can record.
pub const OUTCOMES: &[&str] = Outcome::NAMES;

/// `[review]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {
    /// The ladder's rungs, in order.
    #[serde(default)]
    pub rungs: Vec<Rung>,
    /// Working days a student has to appeal a decision on their case, from the day they
    /// were notified (weekends and bank holidays not counted).
    #[serde(default = "ten")]
    pub appeal_working_days: u32,
}

fn ten() -> u32 {
    10
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig { rungs: Vec::new(), appeal_working_days: ten() }
    }
}

/// One rung of the escalation ladder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rung {
    /// Action raised, e.g. `weekly-review`.
    pub action: String,
    /// What puts a student on the rung.
    pub trigger: Trigger,
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
    pub on_or_after: Option<MonthDay>,
    /// Only on or before this day of the academic year (`MM-DD`).
    #[serde(default)]
    pub on_or_before: Option<MonthDay>,
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
    pub limit_outcome: Option<Outcome>,
    /// How many `limit_outcome` outcomes a year before `beyond_limit_action` is raised instead.
    #[serde(default)]
    pub limit_per_year: u32,
    /// Raised instead once the limit is reached.
    #[serde(default)]
    pub beyond_limit_action: Option<String>,
    /// The outcome that triggers a `case-outcome` rung.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Only outcomes recorded on cases of this action (`case-outcome` rungs).
    #[serde(default)]
    pub on_action: Option<String>,
    /// Only for students at these levels (empty: any).
    #[serde(default)]
    pub levels: Vec<u32>,
    /// Only for students in these stages (years of the programme).
    #[serde(default)]
    pub stages: Vec<u32>,
    /// Only for these modes of study (`full-time`, `part-time`, `distance`).
    #[serde(default)]
    pub modes: Vec<String>,
    /// Only for students of these departments.
    #[serde(default)]
    pub departments: Vec<String>,
    /// Only for students on these programmes.
    #[serde(default)]
    pub programmes: Vec<String>,
    /// The e-mail sent to the student when the action is raised: a template's name
    /// (`WAREHOUSE/templates/mail/NAME.txt`), sent by `rollcall mail send`.
    #[serde(default)]
    pub email: Option<String>,
}

/// What separates a rung's cohort values when the ladder is handed to SQL.
pub const COHORT_SEPARATOR: char = '|';

impl ReviewConfig {
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
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
            match rung.trigger {
                Trigger::Rating | Trigger::LowEngagementDays if rung.ratings.is_empty() => {
                    return fail("ratings must name at least one rating");
                }
                Trigger::WeeksWithoutAttendance if rung.weeks == 0 => return fail("weeks must be at least 1"),
                Trigger::LowEngagementDays if rung.days < 7 => return fail("days must be at least 7"),
                _ => {}
            }
            if let Some([from, to]) = rung.term_weeks
                && (from == 0 || to < from)
            {
                return fail("term_weeks must be [from, to] with 1 <= from <= to");
            }
            if (rung.trigger == Trigger::CaseOutcome) != rung.outcome.is_some() {
                return fail(
                    "a case-outcome rung, and only one, names the outcome that triggers it (outcome = \"no-show\")",
                );
            }
            let texts = rung.modes.iter().chain(&rung.departments).chain(&rung.programmes);
            if let Some(bad) = texts.into_iter().find(|t| t.trim().is_empty() || t.contains(COHORT_SEPARATOR)) {
                return fail(&format!("'{bad}' cannot name a cohort (empty, or holding '{COHORT_SEPARATOR}')"));
            }
            if let Some(email) = &rung.email
                && (email.is_empty() || !email.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            {
                return fail("email must name a template: letters, digits and '-' only");
            }
            if rung.limit_outcome.is_some() && (rung.limit_per_year == 0 || rung.beyond_limit_action.is_none()) {
                return fail("limit_outcome needs limit_per_year (1 or more) and beyond_limit_action");
            }
        }
        Ok(())
    }
}
