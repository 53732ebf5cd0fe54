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

/// How much a run recomputes beyond what changed since the last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recompute {
    /// Only what changed: new days, days late data touched, everything when the model or
    /// the reference data changed.
    Changed,
    /// Every rating, from the daily rollups as they stand (their days that new data
    /// touched recomputed first): what a change of settings the rollups do not read does.
    Ratings,
    /// Every rollup from the raw events, then every rating.
    Everything,
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
    /// The first and last day the new activity, swipes, absences, student records or
    /// status periods fall on.
    pub first_day: Option<i32>,
    /// See `first_day`.
    pub last_day: Option<i32>,
    /// The days each rollup's own new rows fall on (`rating/changes`).
    pub rollups: Rollups,
    /// Sessions, class lists, terms or bank holidays changed.
    pub reference_changed: bool,
}

/// Days whose daily rollups are recomputed, for each of the two: a day's new activity
/// leaves `daily_attendance` as it was, and new swipes `daily_activity`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rollups {
    /// `daily_activity`'s days (first, last).
    pub activity: Option<(i32, i32)>,
    /// `daily_attendance`'s days (first, last).
    pub attendance: Option<(i32, i32)>,
}

impl Rollups {
    /// Both rollups over the same days.
    pub fn both(days: (i32, i32)) -> Self {
        Rollups { activity: Some(days), attendance: Some(days) }
    }

    /// The days either rollup recomputes, first to last.
    pub fn span(&self) -> Option<(i32, i32)> {
        let days = self.activity.into_iter().chain(self.attendance);
        days.reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every rating is recomputed and replaced.
    pub full: bool,
    /// The rollups are recomputed whole from the raw events and replaced (with `full`).
    pub full_rollups: bool,
    /// Why, in words for the run's summary.
    pub why: String,
    /// Days whose daily rollups are recomputed, each rollup's own.
    pub roll: Rollups,
    /// Days rated.
    pub rate: Option<(i32, i32)>,
}

/// Whether the rollups a run with digest `held` left still hold under `digest`: the two
/// are the same, or agree on the third part, what the rollups are made by
/// (`rating::model_digest`). Otherwise, runs before the rollups were digested recorded two
/// parts and runs before the queries were digested one: their rollups are taken as changed.
pub fn rollups_hold(held: &str, digest: &str) -> bool {
    let rollups = held.split('-').nth(2);
    held == digest || (rollups.is_some() && rollups == digest.split('-').nth(2))
}

/// Decides a run rating up to `as_of` under a rating model with `digest`
/// (`SETTINGS-QUERIES-ROLLUPS`, see `rating::model_digest`). `changes` is what was ingested
/// since `last` (needed only when `last` exists, its rollups' part of the digest still
/// holds and `recompute` is not `Everything`).
pub fn plan(
    recompute: Recompute,
    digest: &str,
    as_of: i32,
    span: Span,
    last: Option<&LastRun>,
    changes: Option<Changes>,
) -> Plan {
    let mut plan = Plan { full: false, full_rollups: false, why: String::new(), roll: Rollups::default(), rate: None };
    let held = last.and_then(|l| l.digest.as_deref());
    let changed_model = held.is_some_and(|held| held != digest);
    let rollups_hold = held.is_none_or(|held| rollups_hold(held, digest));
    let why_changed = match held {
        Some(held) if held.split('-').next() != digest.split('-').next() => {
            "rating settings changed since the last run"
        }
        _ => "the rating queries changed since the last run (a new version of Rollcall)",
    };
    let reference_changed = changes.is_some_and(|c| c.reference_changed);
    match (last, changes) {
        _ if recompute == Recompute::Everything => {
            plan.full_rollups = true;
            plan.why = "full recomputation asked for".into();
        }
        (None, _) => {
            plan.full_rollups = true;
            plan.why = "first rating run".into();
        }
        _ if reference_changed => {
            plan.full_rollups = true;
            plan.why = "sessions, class lists, terms or bank holidays changed since the last run".into();
        }
        _ if !rollups_hold => {
            plan.full_rollups = true;
            plan.why = format!("{why_changed}, and the daily rollups with them");
        }
        (Some(last), changes) => {
            let rated_through = last.rated_through.unwrap_or(span.first_teaching - 1);
            let (lo, hi) = changes.map_or((None, None), |c| (c.first_day, c.last_day));
            let mut rate_lo = rated_through + 1;
            let mut rate_hi = as_of;
            let touched = if let (Some(lo), Some(hi)) = (lo, hi) {
                plan.roll = changes.map(|c| c.rollups).unwrap_or_default();
                rate_lo = rate_lo.min(lo);
                if lo <= rated_through {
                    rate_hi = rate_hi.max(rated_through);
                }
                format!("data ingested since the last run touched {} to {}", days_to_date(lo), days_to_date(hi))
            } else {
                "no data ingested since the last run".into()
            };
            plan.why = match recompute {
                _ if changed_model => format!("{why_changed}; the daily rollups stand, {touched}"),
                Recompute::Ratings => format!("every rating asked for, from the daily rollups; {touched}"),
                _ => touched,
            };
            if changed_model || recompute == Recompute::Ratings {
                plan.full = true;
                plan.rate = Some((span.first_teaching, as_of.max(rated_through)));
            } else {
                let rate_lo = rate_lo.max(span.first_teaching);
                if rate_lo <= rate_hi {
                    plan.rate = Some((rate_lo, rate_hi));
                }
            }
        }
    }
    if plan.full_rollups {
        plan.full = true;
        let first_data = span.first_teaching - LONGEST_WINDOW;
        let rated_through = last.and_then(|r| r.rated_through).unwrap_or(as_of);
        plan.roll = Rollups::both((
            first_data.min(span.last_data.unwrap_or(first_data)),
            span.last_data.unwrap_or(as_of).max(as_of),
        ));
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
        let rollups = days.map(Rollups::both).unwrap_or_default();
        Some(Changes { first_day: days.map(|d| d.0), last_day: days.map(|d| d.1), rollups, reference_changed })
    }

    #[test]
    fn a_first_run_rolls_up_from_the_widest_window_and_rates_every_teaching_day() {
        let p = plan(Recompute::Changed, "d", 140, SPAN, None, None);
        assert!(p.full);
        assert_eq!(p.why, "first rating run");
        assert_eq!(p.roll, Rollups::both((79, 150)), "a full recomputation makes both rollups");
        assert_eq!(p.rate, Some((100, 140)));
        // Data reaching past the day asked for is rolled up; rating stops at the day.
        let p = plan(Recompute::Changed, "d", 160, SPAN, None, None);
        assert_eq!((p.roll.span(), p.rate), (Some((79, 160)), Some((100, 160))));
    }

    #[test]
    fn changed_settings_or_reference_data_recompute_everything_rated_so_far() {
        let p = plan(Recompute::Changed, "new-q", 120, SPAN, Some(&last("old-q", 130)), None);
        assert!(p.full && p.why.contains("settings changed"), "{p:?}");
        let p = plan(Recompute::Changed, "s-new", 120, SPAN, Some(&last("s-old", 130)), None);
        assert!(p.full && p.why.contains("rating queries changed"), "{p:?}");
        let p = plan(Recompute::Changed, "s-new", 120, SPAN, Some(&last("s", 130)), None);
        assert!(p.full && p.why.contains("rating queries changed"), "a run from before queries were digested: {p:?}");
        assert_eq!(p.rate, Some((100, 130)), "days already rated are rated again, not dropped");
        let p = plan(Recompute::Changed, "d", 140, SPAN, Some(&last("d", 130)), changes(Some((120, 121)), true));
        assert!(p.full && p.why.contains("class lists"), "{p:?}");
        assert_eq!(p.rate, Some((100, 140)));
        let p = plan(Recompute::Everything, "d", 140, SPAN, Some(&last("d", 130)), None);
        assert!(p.full && p.why == "full recomputation asked for");
    }

    #[test]
    fn a_change_the_rollups_do_not_read_rates_every_day_again_from_them() {
        // Bands changed (settings part), the rollups' part the same: ratings in full, and
        // only the days new data touched rolled up again.
        let last_run = last("s1-q-r", 130);
        let p = plan(Recompute::Changed, "s2-q-r", 140, SPAN, Some(&last_run), changes(Some((120, 121)), false));
        assert!(p.full && !p.full_rollups, "{p:?}");
        assert_eq!((p.roll.span(), p.rate), (Some((120, 121)), Some((100, 140))));
        assert!(p.why.contains("settings changed") && p.why.contains("rollups stand"), "{p:?}");
        let p = plan(Recompute::Changed, "s1-q2-r", 120, SPAN, Some(&last_run), changes(None, false));
        assert!(p.full && !p.full_rollups && p.why.contains("queries changed"), "{p:?}");
        assert_eq!((p.roll.span(), p.rate), (None, Some((100, 130))), "days already rated are rated again");
        // Asked for, with the same model.
        let p = plan(Recompute::Ratings, "s1-q-r", 140, SPAN, Some(&last_run), changes(None, false));
        assert!(p.full && !p.full_rollups && p.why.contains("every rating asked for"), "{p:?}");
        assert_eq!((p.roll.span(), p.rate), (None, Some((100, 140))));
        // The rollups' part changed (or was not recorded), or reference data changed: everything.
        for (held, changed) in [("s1-q-r", "s2-q-r2"), ("s1-q", "s2-q-r")] {
            let p = plan(Recompute::Changed, changed, 140, SPAN, Some(&last(held, 130)), changes(None, false));
            assert!(p.full_rollups && p.why.contains("rollups with them"), "{p:?}");
            assert_eq!((p.roll.span(), p.rate), (Some((79, 150)), Some((100, 140))));
        }
        let p = plan(Recompute::Ratings, "s2-q-r", 140, SPAN, Some(&last_run), changes(Some((120, 121)), true));
        assert!(p.full_rollups && p.why.contains("class lists"), "{p:?}");
        // A first run rolls everything up, whatever was asked.
        assert!(plan(Recompute::Ratings, "s-q-r", 140, SPAN, None, None).full_rollups);
    }

    #[test]
    fn new_days_alone_are_rated_incrementally() {
        let p = plan(Recompute::Changed, "d", 135, SPAN, Some(&last("d", 130)), changes(None, false));
        assert!(!p.full);
        assert_eq!(p.why, "no data ingested since the last run");
        assert_eq!((p.roll.span(), p.rate), (None, Some((131, 135))));
        // Nothing to do when the day asked for is already rated.
        let p = plan(Recompute::Changed, "d", 130, SPAN, Some(&last("d", 130)), changes(None, false));
        assert_eq!((p.roll.span(), p.rate), (None, None));
    }

    #[test]
    fn late_data_rolls_up_its_days_and_rates_from_them_through_everything_rated() {
        let p = plan(Recompute::Changed, "d", 132, SPAN, Some(&last("d", 140)), changes(Some((110, 112)), false));
        assert!(!p.full);
        assert_eq!(p.roll.span(), Some((110, 112)));
        assert_eq!(p.rate, Some((110, 140)), "ratings after the late data move with it");
        // Data before teaching starts rolls up but rating starts on the first teaching day.
        let p = plan(Recompute::Changed, "d", 135, SPAN, Some(&last("d", 130)), changes(Some((90, 95)), false));
        assert_eq!((p.roll.span(), p.rate), (Some((90, 95)), Some((100, 135))));
        // A run without a recorded digest is not taken as changed settings.
        let unknown = LastRun { since: None, digest: None, rated_through: Some(130) };
        let p = plan(Recompute::Changed, "d", 131, SPAN, Some(&unknown), changes(None, false));
        assert_eq!((p.full, p.rate), (false, Some((131, 131))));
    }

    #[test]
    fn each_rollup_is_made_again_for_the_days_its_own_new_rows_touched() {
        // A day's activity alone: its activity rollup, not its attendance's, and the
        // ratings from that day.
        let activity = Rollups { activity: Some((131, 131)), attendance: None };
        let new = Changes { first_day: Some(131), last_day: Some(131), rollups: activity, reference_changed: false };
        let p = plan(Recompute::Changed, "d", 131, SPAN, Some(&last("d", 130)), Some(new));
        assert_eq!((p.roll, p.rate), (activity, Some((131, 131))));
        // Late swipes and a day's activity: each rollup its own days; ratings from the first.
        let both = Rollups { activity: Some((131, 131)), attendance: Some((110, 112)) };
        let new = Changes { first_day: Some(110), last_day: Some(131), rollups: both, reference_changed: false };
        let p = plan(Recompute::Changed, "d", 131, SPAN, Some(&last("d", 130)), Some(new));
        assert_eq!((p.roll, p.rate), (both, Some((110, 131))));
        assert_eq!(p.roll.span(), Some((110, 131)));
        // A status period alone: no rollup, the days from its start rated again.
        let new = Changes {
            first_day: Some(120),
            last_day: Some(120),
            rollups: Rollups::default(),
            reference_changed: false,
        };
        let p = plan(Recompute::Changed, "d", 130, SPAN, Some(&last("d", 130)), Some(new));
        assert_eq!((p.roll, p.rate), (Rollups::default(), Some((120, 130))));
        assert!(p.why.contains("touched"), "{p:?}");
    }
}
