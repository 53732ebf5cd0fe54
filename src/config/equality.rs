//! `[equality]`: census dates, the yearly privacy budget and the noise mechanism of the
//! ethnicity analysis, and the k of its record-level extracts.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::year::MonthDay;

/// Noise added to released counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// Discrete Laplace noise: pure epsilon-differential privacy.
    Laplace,
    /// Discrete Gaussian noise under zero-concentrated DP, charged as (epsilon, delta)-DP.
    Gaussian,
}

/// What a neighbouring dataset is, and so how far one student can move the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Neighbours {
    /// One student more or fewer: each table's counts move by at most 1.
    AddRemove,
    /// One student's data replaced: each table's counts move by at most 2.
    Replace,
}

impl Neighbours {
    /// The input distance (symmetric difference of student records) it stands for.
    pub fn distance(self) -> u32 {
        match self {
            Neighbours::AddRemove => 1,
            Neighbours::Replace => 2,
        }
    }
}

/// `[equality]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EqualityConfig {
    /// Census dates of each academic year: `MM-DD` or `end:TERM`.
    pub census: Vec<Census>,
    /// Epsilon all releases about one academic year may spend together.
    pub yearly_epsilon: f64,
    /// Noise mechanism.
    pub mechanism: Mechanism,
    /// Delta at which a Gaussian release is charged.
    pub delta: f64,
    /// Neighbouring datasets.
    pub neighbours: Neighbours,
    /// Confidence of published accuracy intervals.
    pub confidence: f64,
    /// Ethnicity code/label to group mapping (relative paths are under the warehouse).
    pub groups_file: PathBuf,
    /// Smallest quasi-identifier class published in an extract.
    pub k: usize,
    /// Fewest distinct ethnicity groups in every class of an extract (l-diversity).
    pub l: usize,
    /// Extracts that may be made about one academic year.
    pub extracts_per_year: usize,
    /// Fewest students by which a population must differ from one already released or
    /// extracted (when it differs at all) for a new release or extract to be made.
    pub min_population_change: usize,
}

impl Default for EqualityConfig {
    fn default() -> Self {
        EqualityConfig {
            census: ["12-01", "end:spring"].map(|c| c.parse().expect("a census date")).to_vec(),
            yearly_epsilon: 2.0,
            mechanism: Mechanism::Laplace,
            delta: 1e-7,
            neighbours: Neighbours::AddRemove,
            confidence: 0.95,
            groups_file: PathBuf::from(crate::domain::reference::GROUPS_FILE),
            k: 10,
            l: 2,
            extracts_per_year: 4,
            min_population_change: 10,
        }
    }
}

/// A census date as configured: `MM-DD` or `end:TERM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Census {
    /// A day of the academic year.
    Day(MonthDay),
    /// The last day of the named term.
    EndOf(String),
}

impl std::str::FromStr for Census {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.strip_prefix("end:") {
            Some("") => Err(format!("census date '{text}' names no term")),
            Some(term) => Ok(Census::EndOf(term.to_string())),
            None => text.parse().map(Census::Day).map_err(|_| format!("'{text}' is neither MM-DD nor end:TERM")),
        }
    }
}

impl std::fmt::Display for Census {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Census::Day(day) => write!(f, "{day}"),
            Census::EndOf(term) => write!(f, "end:{term}"),
        }
    }
}

crate::domain::text_serde!(Census);

impl EqualityConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.census.is_empty() {
            return Err("equality.census: give at least one census date".into());
        }
        if !(self.yearly_epsilon.is_finite() && self.yearly_epsilon > 0.0) {
            return Err("equality.yearly_epsilon: must be a positive number".into());
        }
        if !(self.delta > 0.0 && self.delta < 1e-3) {
            return Err("equality.delta: must be above 0 and below 0.001".into());
        }
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return Err("equality.confidence: must be between 0.5 and 1 (e.g. 0.95)".into());
        }
        if self.k < 2 {
            return Err("equality.k: must be at least 2".into());
        }
        if self.l < 2 || self.l > self.k {
            return Err("equality.l: must be at least 2 and at most k".into());
        }
        if self.extracts_per_year == 0 {
            return Err("equality.extracts_per_year: must be at least 1".into());
        }
        if self.min_population_change == 0 {
            return Err("equality.min_population_change: must be at least 1".into());
        }
        Ok(())
    }
}
