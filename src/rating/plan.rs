//! Which days a rating run rolls up and rates: a pure decision over what the warehouse
//! holds, what the last run left and what was ingested since (see the module
//! documentation of `rating`).

use crate::domain::time::days_to_date;

/// Days before the first teaching day whose rollups the widest window (21 days) reads.
const LONGEST_WINDOW: i32 = 21;

/// What the warehouse holds.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// The first teaching day.
    pub first_teaching: i32,
    /// The last day any activity or session falls on. Only a full run reads it (it takes a
    /// read of every event), so an incremental run leaves it `None`.
    pub last_data: Option<i32>,
}

/// What the last rating run recorded.
#[derive(Debug, Clone)]
pub struct LastRun {
    /// The latest ingest it had seen (the watermark).
    pub since: Option<i64>,
    /// The digest of its rating model: settings and queries (`rating::model_digest`).
    pub digest: Option<String>,
    /// The last day rated so far.
    pub rated_through: Option<i32>,
}

/// What was ingested after the last run.
#[derive(Debug, Clone, Copy)]
pub struct Changes {
    /// The first and last day the new activity, swipes or absences fall on.
    pub first_day: Option<i32>,
    /// See `first_day`.
    pub last_day: Option<i32>,
    /// Sessions, class lists, terms or bank holidays changed.
    pub reference_changed: bool,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Everything is recomputed and replaced.
    pub full: bool,
    /// Why, in words for the run's summary.
    pub why: String,
    /// Days whose daily rollups are recomputed.
    pub roll: Option<(i32, i32)>,
    /// Days rated.
    pub rate: Option<(i32, i32)>,
}

/// Decides a run rating up to `as_of` under settings with `digest`. `changes` is what was
/// ingested since `last` (needed only when `last` exists, its settings still hold and
/// `force_full` is off).
pub fn plan(
    force_full: bool,
    digest: &str,
    as_of: i32,
    span: Span,
    last: Option<&LastRun>,
    changes: Option<Changes>,
) -> Plan {
    let mut plan = Plan { full: force_full, why: String::new(), roll: None, rate: None };
    match (last, changes) {
        _ if force_full => plan.why = "full recomputation asked for".into(),
        (None, _) => {
            plan.full = true;
            plan.why = "first rating run".into();
        }
        (Some(LastRun { digest: Some(held), .. }), _) if held != digest => {
            plan.full = true;
            // `SETTINGS-QUERIES`; runs before queries were digested recorded settings alone.
            let settings = |d: &str| d.split('-').next().unwrap_or_default().to_string();
            plan.why = if settings(held) != settings(digest) {
                "rating settings changed since the last run".into()
            } else {
                "the rating queries changed since the last run (a new version of Rollcall)".into()
            };
        }
        (Some(_), Some(changes)) if changes.reference_changed => {
            plan.full = true;
            plan.why = "sessions, class lists, terms or bank holidays changed since the last run".into();
        }
        (Some(last), changes) => {
            let rated_through = last.rated_through.unwrap_or(span.first_teaching - 1);
            let (lo, hi) = changes.map_or((None, None), |c| (c.first_day, c.last_day));
            let mut rate_lo = rated_through + 1;
            let mut rate_hi = as_of;
            if let (Some(lo), Some(hi)) = (lo, hi) {
                plan.roll = Some((lo, hi));
                rate_lo = rate_lo.min(lo);
                if lo <= rated_through {
                    rate_hi = rate_hi.max(rated_through);
                }
                plan.why =
                    format!("data ingested since the last run touched {} to {}", days_to_date(lo), days_to_date(hi));
            } else {
                plan.why = "no data ingested since the last run".into();
            }
            let rate_lo = rate_lo.max(span.first_teaching);
            if rate_lo <= rate_hi {
                plan.rate = Some((rate_lo, rate_hi));
            }
        }
    }
    if plan.full {
        let first_data = span.first_teaching - LONGEST_WINDOW;
        let rated_through = last.and_then(|r| r.rated_through).unwrap_or(as_of);
        plan.roll =
            Some((first_data.min(span.last_data.unwrap_or(first_data)), span.last_data.unwrap_or(as_of).max(as_of)));
        plan.rate = Some((span.first_teaching, as_of.max(rated_through)));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: Span = Span { first_teaching: 100, last_data: Some(150) };

    fn last(digest: &str, rated_through: i32) -> LastRun {
        LastRun { since: Some(1), digest: Some(digest.into()), rated_through: Some(rated_through) }
    }

    fn changes(days: Option<(i32, i32)>, reference_changed: bool) -> Option<Changes> {
        Some(Changes { first_day: days.map(|d| d.0), last_day: days.map(|d| d.1), reference_changed })
    }

    #[test]
    fn a_first_run_rolls_up_from_the_widest_window_and_rates_every_teaching_day() {
        let p = plan(false, "d", 140, SPAN, None, None);
        assert!(p.full);
        assert_eq!(p.why, "first rating run");
        assert_eq!(p.roll, Some((79, 150)));
        assert_eq!(p.rate, Some((100, 140)));
        // Data reaching past the day asked for is rolled up; rating stops at the day.
        let p = plan(false, "d", 160, SPAN, None, None);
        assert_eq!((p.roll, p.rate), (Some((79, 160)), Some((100, 160))));
    }

    #[test]
    fn changed_settings_or_reference_data_recompute_everything_rated_so_far() {
        let p = plan(false, "new-q", 120, SPAN, Some(&last("old-q", 130)), None);
        assert!(p.full && p.why.contains("settings changed"), "{p:?}");
        let p = plan(false, "s-new", 120, SPAN, Some(&last("s-old", 130)), None);
        assert!(p.full && p.why.contains("rating queries changed"), "{p:?}");
        let p = plan(false, "s-new", 120, SPAN, Some(&last("s", 130)), None);
        assert!(p.full && p.why.contains("rating queries changed"), "a run from before queries were digested: {p:?}");
        assert_eq!(p.rate, Some((100, 130)), "days already rated are rated again, not dropped");
        let p = plan(false, "d", 140, SPAN, Some(&last("d", 130)), changes(Some((120, 121)), true));
        assert!(p.full && p.why.contains("class lists"), "{p:?}");
        assert_eq!(p.rate, Some((100, 140)));
        let p = plan(true, "d", 140, SPAN, Some(&last("d", 130)), None);
        assert!(p.full && p.why == "full recomputation asked for");
    }

    #[test]
    fn new_days_alone_are_rated_incrementally() {
        let p = plan(false, "d", 135, SPAN, Some(&last("d", 130)), changes(None, false));
        assert!(!p.full);
        assert_eq!(p.why, "no data ingested since the last run");
        assert_eq!((p.roll, p.rate), (None, Some((131, 135))));
        // Nothing to do when the day asked for is already rated.
        let p = plan(false, "d", 130, SPAN, Some(&last("d", 130)), changes(None, false));
        assert_eq!((p.roll, p.rate), (None, None));
    }

    #[test]
    fn late_data_rolls_up_its_days_and_rates_from_them_through_everything_rated() {
        let p = plan(false, "d", 132, SPAN, Some(&last("d", 140)), changes(Some((110, 112)), false));
        assert!(!p.full);
        assert_eq!(p.roll, Some((110, 112)));
        assert_eq!(p.rate, Some((110, 140)), "ratings after the late data move with it");
        // Data before teaching starts rolls up but rating starts on the first teaching day.
        let p = plan(false, "d", 135, SPAN, Some(&last("d", 130)), changes(Some((90, 95)), false));
        assert_eq!((p.roll, p.rate), (Some((90, 95)), Some((100, 135))));
        // A run without a recorded digest is not taken as changed settings.
        let unknown = LastRun { since: None, digest: None, rated_through: Some(130) };
        let p = plan(false, "d", 131, SPAN, Some(&unknown), changes(None, false));
        assert_eq!((p.full, p.rate), (false, Some((131, 131))));
    }
}
