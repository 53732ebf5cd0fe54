//! Each case's position in the procedure and its dated items, looked up by case without a
//! query: worked out once per state of the tables (with the console's session) and kept
//! beside it, so a student's page adds no SQL for its cases' steps, deadlines and meetings.

use std::collections::{BTreeMap, HashMap};

use crate::config::ReviewConfig;
use crate::domain::time::days_to_date;
use crate::review::procedure::{Deadline, Position, Registered};

/// Positions and dated items by case.
pub(super) struct Casework {
    positions: HashMap<String, Position>,
    deadlines: HashMap<String, Vec<Deadline>>,
}

impl Casework {
    pub(super) fn new(registered: Registered) -> Casework {
        let mut deadlines: HashMap<String, Vec<Deadline>> = HashMap::new();
        for d in registered.deadlines {
            deadlines.entry(d.case_id.clone()).or_default().push(d);
        }
        let positions = registered.positions.into_iter().map(|p| (p.case_id.clone(), p)).collect();
        Casework { positions, deadlines }
    }

    /// Adds to each case row (keyed by `case_id`) its step's label and owner, its status and
    /// the rule that put it there, and its next dated item on `today` (a day number): overdue
    /// items first, then the earliest; `overdue` is "true" or "false".
    pub(super) fn annotate(&self, config: &ReviewConfig, cases: &mut [BTreeMap<String, String>], today: i32) {
        for case in cases {
            let Some(id) = case.get("case_id").cloned() else { continue };
            if let Some(p) = self.positions.get(&id) {
                let step = p.step.as_deref().and_then(|s| config.step(s));
                case.insert("step_label".into(), step.map(|s| s.label.clone()).unwrap_or_default());
                case.insert("owner".into(), step.map(|s| s.owner.clone()).unwrap_or_default());
                case.insert("status".into(), p.status.to_string());
                case.insert("step_rule".into(), p.rule.clone());
            }
            let mut items: Vec<&Deadline> =
                self.deadlines.get(&id).map(|d| d.iter().filter(|d| d.listed(today)).collect()).unwrap_or_default();
            items.sort_by_key(|d| (!d.overdue(today), d.due));
            let next = items.first();
            let overdue = next.is_some_and(|d| d.overdue(today));
            case.insert("overdue".into(), overdue.to_string());
            if let Some(d) = next {
                case.insert("next_due".into(), days_to_date(d.due).to_string());
                let item = match (&d.staff_action, overdue) {
                    (Some(action), true) => format!("{}: {action}", d.item),
                    _ => d.item.clone(),
                };
                case.insert("next_item".into(), item);
                case.insert("next_rule".into(), d.rule.clone().unwrap_or_default());
            }
        }
    }

    /// The meetings on these cases still to have their attendance recorded, oldest first.
    pub(super) fn meetings(&self, case_ids: &[String]) -> Vec<BTreeMap<String, String>> {
        let mut found: Vec<&Deadline> = case_ids
            .iter()
            .filter_map(|c| self.deadlines.get(c))
            .flatten()
            .filter(|d| d.meeting_id.is_some())
            .collect();
        found.sort_by_key(|d| (d.due, d.meeting_id.clone()));
        found
            .into_iter()
            .map(|d| {
                BTreeMap::from([
                    ("meeting_id".to_string(), d.meeting_id.clone().unwrap_or_default()),
                    ("case_id".to_string(), d.case_id.clone()),
                    ("held_on".to_string(), days_to_date(d.due).to_string()),
                    ("item".to_string(), d.item.clone()),
                ])
            })
            .collect()
    }
}
