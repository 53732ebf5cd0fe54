//! `[rating]`: how daily engagement ratings are worked out.

use serde::{Deserialize, Serialize};

use crate::domain::signal::{self, Signal};
use crate::domain::terms::Basis;

/// Rating bands, lowest first.
pub const RATINGS: &[&str] = &["Very Low", "Low", "Partial", "Good", "High"];

/// `[rating]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RatingConfig {
    /// Trailing window in calendar days: 7, 14 or 21.
    pub window_days: u32,
    /// `absolute` or `cohort`.
    pub basis: Basis,
    /// Cohorts smaller than this are banded absolutely.
    pub min_cohort_size: u32,
    /// Share of the score that comes from attendance, when sessions are expected.
    pub attendance_weight: f64,
    /// Weighted activity points per teaching day in the window that count as full activity.
    pub activity_points_per_day: f64,
    /// Absence kinds that excuse the sessions they cover.
    pub excusing_absence_kinds: Vec<String>,
    /// Absence kinds that exempt the days they cover from rating and case-raising
    /// (authorised absence, dissertation period, placement block, break in learning);
    /// their sessions are excused too.
    pub exempting_absence_kinds: Vec<String>,
    /// Days after an exemption ends that are still exempt. Unset: the rating window less
    /// one day, so that no rated day's window holds an exempt day.
    pub exemption_grace_days: Option<u32>,
    /// Points per event of each signal.
    pub weights: SignalWeights,
    /// Absolute band thresholds on the score.
    pub bands: Bands,
    /// Cohort band thresholds on the cohort share.
    pub cohort_bands: Bands,
}

/// Points per event of each signal; `[rating.weights]` keys are the signals' names.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalWeights([f64; 7]);

impl SignalWeights {
    /// The weight of one signal.
    pub fn get(&self, signal: Signal) -> f64 {
        self.0[signal.index()]
    }
}

impl Default for SignalWeights {
    fn default() -> Self {
        SignalWeights(Signal::ALL.map(Signal::default_weight))
    }
}

/// Written as a table of the signals in [`Signal::ALL`] order (the rating digest reads it).
impl Serialize for SignalWeights {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(Signal::ALL.len()))?;
        for signal in Signal::ALL {
            map.serialize_entry(signal.name(), &self.get(signal))?;
        }
        map.end()
    }
}

/// Read from a table of signal names; a signal left out keeps its default, an unknown
/// name is refused.
impl<'de> Deserialize<'de> for SignalWeights {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SignalWeights;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of points per event by signal")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut weights = SignalWeights::default();
                while let Some(key) = map.next_key::<String>()? {
                    let signal =
                        Signal::parse(&key).ok_or_else(|| serde::de::Error::unknown_field(&key, &signal::NAMES))?;
                    weights.0[signal.index()] = map.next_value()?;
                }
                Ok(weights)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
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

impl Default for RatingConfig {
    fn default() -> Self {
        RatingConfig {
            window_days: 14,
            basis: Basis::Absolute,
            min_cohort_size: 10,
            attendance_weight: 0.6,
            activity_points_per_day: 10.0,
            excusing_absence_kinds: vec!["authorised".into()],
            exempting_absence_kinds: vec!["authorised".into()],
            exemption_grace_days: None,
            weights: SignalWeights::default(),
            bands: Bands { low: 0.15, partial: 0.35, good: 0.60, high: 0.85 },
            cohort_bands: Bands { low: 0.10, partial: 0.25, good: 0.50, high: 0.80 },
        }
    }
}

impl RatingConfig {
    /// Absence kinds that excuse sessions: the excusing kinds and the exempting ones.
    pub fn excusing_kinds(&self) -> String {
        let mut kinds: Vec<&str> = self.excusing_absence_kinds.iter().map(String::as_str).collect();
        for kind in &self.exempting_absence_kinds {
            if !kinds.contains(&kind.as_str()) {
                kinds.push(kind);
            }
        }
        kinds.join(",")
    }

    /// Days after an exemption ends that are still exempt.
    pub fn grace_days(&self) -> u32 {
        self.exemption_grace_days.unwrap_or(self.window_days.saturating_sub(1))
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
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if ![7, 14, 21].contains(&self.window_days) {
            return Err("rating.window_days: must be 7, 14 or 21".into());
        }
        if !(0.0..=1.0).contains(&self.attendance_weight) {
            return Err("rating.attendance_weight: must be between 0 and 1".into());
        }
        if self.activity_points_per_day <= 0.0 || !self.activity_points_per_day.is_finite() {
            return Err("rating.activity_points_per_day: must be above 0".into());
        }
        for signal in Signal::ALL {
            let v = self.weights.get(signal);
            if v < 0.0 || !v.is_finite() {
                return Err(format!("rating.weights.{}: must be 0 or more", signal.name()));
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
