//! `[ukvi]` and `[funder]`: the statutory returns' rules.

use serde::{Deserialize, Serialize};

use crate::domain::terms::{AttendingRule, EngagementRule};
use crate::domain::year::MonthDay;

/// `[ukvi]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UkviConfig {
    /// Working days allowed between an event and its report.
    pub report_within_working_days: u32,
    /// Days after the course start by which a sponsored student must have engaged.
    pub no_engagement_days_after_start: u32,
    /// `missed-contact-points` or `days-without-engagement`.
    pub engagement_rule: EngagementRule,
    /// Sessions or days, by the rule.
    pub engagement_threshold: u32,
}

impl Default for UkviConfig {
    fn default() -> Self {
        UkviConfig {
            report_within_working_days: 10,
            no_engagement_days_after_start: 14,
            engagement_rule: EngagementRule::MissedContactPoints,
            engagement_threshold: 10,
        }
    }
}

impl UkviConfig {
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if self.engagement_threshold == 0 || self.report_within_working_days == 0 {
            return Err("ukvi: engagement_threshold and report_within_working_days must be at least 1".into());
        }
        Ok(())
    }
}

/// `[funder]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FunderConfig {
    /// How a student is judged attending in a liability period.
    pub attending_rule: AttendingRule,
    /// The period's last teaching days (up to the return's day) the rule looks at.
    pub window_teaching_days: u32,
    /// Days of those rated above Very Low (`rated-above-very-low`) or engaged
    /// (`engaged-days`) that make a student attending.
    pub min_days: u32,
    /// Days without engagement before a period's end that make a student not attending
    /// (`engaged-within-days`).
    pub not_attending_after_days: u32,
    /// Liability periods.
    pub periods: Vec<LiabilityPeriod>,
}

/// One liability period.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiabilityPeriod {
    /// Its name in the return.
    pub name: String,
    /// First day, `MM-DD`.
    pub starts: MonthDay,
    /// Last day, `MM-DD`.
    pub ends: MonthDay,
}

impl Default for FunderConfig {
    fn default() -> Self {
        FunderConfig {
            attending_rule: AttendingRule::RatedAboveVeryLow,
            window_teaching_days: 20,
            min_days: 10,
            not_attending_after_days: 28,
            periods: [("term 1", "08-01", "12-31"), ("term 2", "01-01", "04-15"), ("term 3", "04-16", "07-31")]
                .into_iter()
                .map(|(n, s, e)| LiabilityPeriod {
                    name: n.into(),
                    starts: s.parse().expect("a day of the year"),
                    ends: e.parse().expect("a day of the year"),
                })
                .collect(),
        }
    }
}

impl FunderConfig {
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if self.window_teaching_days == 0 || self.min_days == 0 || self.min_days > self.window_teaching_days {
            return Err("funder: min_days must be between 1 and window_teaching_days".into());
        }
        if self.periods.is_empty() {
            return Err("funder.periods: at least one liability period is needed".into());
        }
        Ok(())
    }
}
