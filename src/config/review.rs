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
    /// Working days a student has, from the day they were told their exceptional withdrawal
    /// was approved, to ask to remain a student (the final date to remain).
    #[serde(default = "ten")]
    pub remain_working_days: u32,
    /// What happens to a meeting at a step with `notice_days` scheduled at shorter notice:
    /// `flag` records it with the shortfall, `refuse` does not record it.
    #[serde(default)]
    pub short_notice: ShortNotice,
    /// The procedure's steps: who owns a case at each, what moves it to the next, and what
    /// closes it. Rungs name the step their cases start at (`starts_at`).
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// What `rollcall case meeting` does with a meeting notified later than its step requires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShortNotice {
    /// Record it, flagged with the shortfall.
    #[default]
    Flag,
    /// Do not record it.
    Refuse,
}

/// One step of the case procedure (`[[review.steps]]`), e.g. the personal tutor, the
/// department's progress officer, the faculty, a progress committee.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Its name, e.g. `progress-officer`: letters, digits and '-'.
    pub name: String,
    /// How staff and reports call it, e.g. "Department progress officer".
    pub label: String,
    /// Who owns a case at this step, e.g. "personal tutor".
    pub owner: String,
    /// The step a case moves to when it is escalated.
    #[serde(default)]
    pub next: Option<String>,
    /// Outcomes that move a case at this step to `next` (a missed meeting: `no-show`).
    #[serde(default)]
    pub escalate_on: Vec<Outcome>,
    /// A case still rated in its rung's ratings this many weeks after reaching this step
    /// moves to `next` (checked by `rollcall review`).
    #[serde(default)]
    pub still_low_weeks: Option<u32>,
    /// Outcomes that close a case at this step.
    #[serde(default)]
    pub closes_on: Vec<Outcome>,
    /// Calendar days of notice a student must have of a meeting at this step (Essex:
    /// faculty meetings and progress committees, at least a week).
    #[serde(default)]
    pub notice_days: Option<u32>,
}

/// The outcomes that close a case at no step (as the review list closes cases).
pub const CLOSING_OUTCOMES: &[Outcome] =
    &[Outcome::Agreement, Outcome::Intermitted, Outcome::Withdrawn, Outcome::NoFurtherAction];

/// An action's name in words: `withdrawal-review` is "Withdrawal review".
pub fn action_words(action: &str) -> String {
    let words = action.replace('-', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl ReviewConfig {
    /// Every action the ladder raises with its label: each rung's, and each
    /// `beyond_limit_action` (in words).
    pub fn action_labels(&self) -> Vec<(String, String)> {
        let mut labels: Vec<(String, String)> = Vec::new();
        for rung in &self.rungs {
            if !labels.iter().any(|(a, _)| *a == rung.action) {
                let label = rung.label.clone().unwrap_or_else(|| action_words(&rung.action));
                labels.push((rung.action.clone(), label));
            }
            if let Some(beyond) = &rung.beyond_limit_action
                && !labels.iter().any(|(a, _)| a == beyond)
            {
                labels.push((beyond.clone(), action_words(beyond)));
            }
        }
        labels
    }

    /// The step named `name`.
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The step cases raised by `action` start at: the rung's `starts_at`, else (a
    /// `beyond_limit_action`) the step of the rung that raises it.
    pub fn start_step(&self, action: &str) -> Option<&Step> {
        let rung = self
            .rungs
            .iter()
            .find(|r| r.action == action)
            .or_else(|| self.rungs.iter().find(|r| r.beyond_limit_action.as_deref() == Some(action)))?;
        let name =
            if rung.action == action { rung.starts_at.as_deref() } else { rung.beyond_limit_starts_at.as_deref() };
        self.step(name?)
    }
}

fn ten() -> u32 {
    10
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            rungs: Vec::new(),
            appeal_working_days: ten(),
            remain_working_days: ten(),
            short_notice: ShortNotice::default(),
            steps: Vec::new(),
        }
    }
}

/// One rung of the escalation ladder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rung {
    /// Action raised, e.g. `weekly-review`.
    pub action: String,
    /// How reports name the action, e.g. "Weekly review (autumn weeks 1-5)" (default: the
    /// action's name in words).
    #[serde(default)]
    pub label: Option<String>,
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
    /// The procedure step (`[[review.steps]]`) its cases start at.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// The step a `beyond_limit_action` case starts at.
    #[serde(default)]
    pub beyond_limit_starts_at: Option<String>,
}

impl ReviewConfig {
    fn validate_steps(&self) -> std::result::Result<(), String> {
        for (i, step) in self.steps.iter().enumerate() {
            let key = format!("review.steps[{}] ({})", i + 1, step.name);
            let fail = |m: &str| Err(format!("{key}: {m}"));
            if step.name.is_empty() || !step.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return fail("name must be letters, digits and '-' only");
            }
            if self.steps.iter().filter(|s| s.name == step.name).count() > 1 {
                return fail("another step has the same name");
            }
            if step.label.trim().is_empty() || step.owner.trim().is_empty() {
                return fail("label and owner must not be empty");
            }
            match &step.next {
                Some(next) if self.step(next).is_none() => {
                    return fail(&format!("next names no step: '{next}'"));
                }
                Some(next) if *next == step.name => return fail("next must be another step"),
                None if !step.escalate_on.is_empty() || step.still_low_weeks.is_some() => {
                    return fail("escalate_on and still_low_weeks need next (the step a case moves to)");
                }
                _ => {}
            }
            if let Some(both) = step.escalate_on.iter().find(|o| step.closes_on.contains(o)) {
                return fail(&format!("'{both}' cannot both escalate and close a case"));
            }
            if step.still_low_weeks == Some(0) || step.notice_days == Some(0) {
                return fail("still_low_weeks and notice_days must be at least 1");
            }
        }
        Ok(())
    }
}

/// What separates a rung's cohort values when the ladder is handed to SQL.
pub const COHORT_SEPARATOR: char = '|';

impl ReviewConfig {
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        self.validate_steps()?;
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
            for (field, step) in
                [("starts_at", &rung.starts_at), ("beyond_limit_starts_at", &rung.beyond_limit_starts_at)]
            {
                if let Some(step) = step
                    && self.step(step).is_none()
                {
                    return fail(&format!("{field} names no step of [[review.steps]]: '{step}'"));
                }
            }
        }
        Ok(())
    }
}
