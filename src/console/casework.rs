//! What a student's page shows of their cases and reported absences, looked up by student
//! and case without a query: each student's cases with their latest outcome, each case's
//! position in the procedure and its dated items, the absences students reported. Worked
//! out once per state of the tables and day (with the console's session) and kept beside
//! it, so a student's page adds no SQL for them.

use std::collections::{BTreeMap, HashMap};

use datafusion::prelude::SessionContext;

use crate::config::ReviewConfig;
use crate::domain::time::days_to_date;
use crate::error::Result;
use crate::queries;
use crate::review::procedure::{self, Deadline, Position, next_item};

/// Cases, positions and dated items, and reported absences, by student or case.
pub(super) struct Casework {
    /// Each student's cases (`console/student_cases` rows), newest first.
    cases: HashMap<String, Vec<BTreeMap<String, String>>>,
    positions: HashMap<String, Position>,
    deadlines: HashMap<String, Vec<Deadline>>,
    /// Each student's reported absences (`console/student_absences` rows), newest first.
    absences: HashMap<String, Vec<BTreeMap<String, String>>>,
}

impl Casework {
    /// Reads them from `ctx`, registering the case procedure's tables in it for `today` (a
    /// day number; see [`procedure::register`]).
    pub(super) async fn read(ctx: &SessionContext, config: &ReviewConfig, today: i32) -> Result<Casework> {
        let registered = procedure::register(ctx, config, today).await?;
        let mut deadlines: HashMap<String, Vec<Deadline>> = HashMap::new();
        for d in registered.deadlines {
            deadlines.entry(d.case_id.clone()).or_default().push(d);
        }
        let positions = registered.positions.into_iter().map(|p| (p.case_id.clone(), p)).collect();
        let by_student = |rows: Vec<BTreeMap<String, String>>| {
            let mut found: HashMap<String, Vec<BTreeMap<String, String>>> = HashMap::new();
            for row in rows {
                found.entry(row.get("student_id").cloned().unwrap_or_default()).or_default().push(row);
            }
            found
        };
        let cases = by_student(super::pages::rows(&queries::collect(ctx, "console/student_cases", &[]).await?));
        let absences = by_student(super::pages::rows(&queries::collect(ctx, "console/student_absences", &[]).await?));
        Ok(Casework { cases, positions, deadlines, absences })
    }

    /// One student's cases with their latest outcome, newest first.
    pub(super) fn cases_of(&self, student_id: &str) -> Vec<BTreeMap<String, String>> {
        self.cases.get(student_id).cloned().unwrap_or_default()
    }

    /// The absences one student reported, newest first.
    pub(super) fn absences_of(&self, student_id: &str) -> &[BTreeMap<String, String>] {
        self.absences.get(student_id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Adds to each case row (keyed by `case_id`) its step's label and owner, its status and
    /// the rule that put it there, and its next dated item on `today` (a day number), as
    /// every case list picks it ([`next_item`]); `overdue` is "true" or "false".
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
            let items: Vec<&Deadline> = self.deadlines.get(&id).map(|d| d.iter().collect()).unwrap_or_default();
            let next = next_item(&items, today);
            case.insert("overdue".into(), next.as_ref().is_some_and(|n| n.overdue).to_string());
            if let Some(n) = next {
                case.insert("next_due".into(), days_to_date(n.due).to_string());
                case.insert("next_item".into(), n.item);
                case.insert("next_rule".into(), n.rule.unwrap_or_default());
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
