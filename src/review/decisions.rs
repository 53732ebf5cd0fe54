//! Decisions on cases and appeals against them, with the dates a university must be able to
//! show it kept: `rollcall case decide`, `case appeal`, `case appeal-outcome`.
//!
//! A decision (continue, intermit, withdraw, transfer) records the day the student was
//! notified; the appeal deadline is that day plus `[review] appeal_working_days` working
//! days (10 by default: LJMU and Essex both give 10), counted with the same working-day
//! function the UKVI return uses (weekends and the warehouse's England and Wales bank
//! holidays left out), and recorded with the rule that produced it. An appeal lodged after
//! the deadline is recorded as late, never refused: a panel may still hear it. Each step
//! is one row of `case_decisions`.

use chrono::NaiveDate;
use datafusion::scalar::ScalarValue;

use crate::domain::time::{date_to_days, days_to_date};
use crate::engine::cells;
use crate::engine::job::Job;
use crate::engine::session::Access;
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::row::{self, Cell, Row};
use crate::warehouse::tables::{self, TableDef};

/// The decisions a case can end in.
pub const DECISIONS: &[&str] = &["continue", "intermit", "withdraw", "transfer"];

/// The outcomes of an appeal.
pub const APPEAL_OUTCOMES: &[&str] = &["upheld", "not-upheld"];

/// One `case_decisions` row.
pub(super) struct Step<'a> {
    pub(super) case_id: &'a str,
    pub(super) student_id: &'a str,
    pub(super) step: &'static str,
    pub(super) value: &'a str,
    pub(super) on: i32,
    pub(super) due: Option<i32>,
    pub(super) rule: Option<String>,
    pub(super) note: Option<&'a str>,
    pub(super) recorded_by: &'a str,
    pub(super) recorded_at: i64,
}

impl Row for Step<'_> {
    const TABLE: TableDef = tables::CASE_DECISIONS;

    fn cells(&self) -> Vec<Cell> {
        let mut cells = vec![
            ("case_id", row::text(self.case_id)),
            ("student_id", row::text(self.student_id)),
            ("step", row::text(self.step)),
            ("value", row::text(self.value)),
            ("on", row::day(Some(self.on))),
            ("due", row::day(self.due)),
            ("recorded_by", row::text(self.recorded_by)),
            ("recorded_at", row::instant(Some(self.recorded_at))),
        ];
        cells.extend(self.rule.as_ref().map(|r| ("rule", row::text(r))));
        cells.extend(self.note.map(|n| ("note", row::text(n))));
        cells
    }
}

/// A decision recorded: the appeal deadline and the rule that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The last day to appeal.
    pub appeal_by: NaiveDate,
    /// How it was worked out, in words.
    pub rule: String,
}

/// An appeal recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appealed {
    /// The deadline it was measured against.
    pub appeal_by: NaiveDate,
    /// Whether it came after the deadline.
    pub late: bool,
}

pub(super) async fn student_of(ctx: &datafusion::prelude::SessionContext, case_id: &str) -> Result<String> {
    let found = queries::collect(ctx, "review/case_lookup", &[("case_id", ScalarValue::from(case_id))]).await?;
    cells::string_at(&found, "student_id")?
        .ok_or_else(|| Error::Usage(format!("no case {case_id}; `rollcall case list` shows them")))
}

/// Who records, and when: the account and instant a row carries.
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    /// The member of staff (an account name from the command line, a staff id from the console).
    pub who: &'a str,
    /// When, UTC microseconds.
    pub at: i64,
}

/// Works out the `case_decisions` row of a decision on a case, notified to the student on
/// `notified`, with its appeal deadline (nothing written).
pub async fn decision_row(
    ctx: &datafusion::prelude::SessionContext,
    review: &crate::config::ReviewConfig,
    case_id: &str,
    decision: &str,
    notified: NaiveDate,
    note: Option<&str>,
    by: By<'_>,
) -> Result<(Vec<Cell>, Decided)> {
    if !DECISIONS.contains(&decision) {
        return Err(Error::Usage(format!("decision: expected one of {}", DECISIONS.join(", "))));
    }
    let student = student_of(ctx, case_id).await?;
    let days = review.appeal_working_days;
    let params =
        [("notified", cells::date(date_to_days(notified))), ("days", ScalarValue::Int64(Some(i64::from(days))))];
    let due = cells::date_at(&queries::collect(ctx, "review/appeal_due", &params).await?, "appeal_by")?
        .ok_or_else(|| Error::Internal("no appeal deadline worked out".into()))?;
    let rule = format!(
        "{days} working days after the student was notified on {notified} (weekends and England and Wales bank \
         holidays not counted; [review] appeal_working_days)"
    );
    let step = Step {
        case_id,
        student_id: &student,
        step: "decision",
        value: decision,
        on: date_to_days(notified),
        due: Some(due),
        rule: Some(rule.clone()),
        note,
        recorded_by: by.who,
        recorded_at: by.at,
    };
    Ok((step.cells(), Decided { appeal_by: days_to_date(due), rule }))
}

/// Records a decision on a case, notified to the student on `notified`.
pub async fn decide(
    warehouse: &Warehouse,
    case_id: &str,
    decision: &str,
    notified: NaiveDate,
    note: Option<&str>,
) -> Result<Decided> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let who = crate::warehouse::os_user();
    let by = By { who: &who, at: warehouse.clock().now_micros() };
    let (row, decided) =
        decision_row(&job.ctx, &warehouse.config().review, case_id, decision, notified, note, by).await?;
    warehouse.append_named(&tables::CASE_DECISIONS, &[row], "case decision").await?;
    Ok(decided)
}

/// Works out the `case_decisions` row of an appeal lodged on `lodged` against the case's
/// latest decision; late when after the deadline (recorded, not refused).
pub async fn appeal_row(
    ctx: &datafusion::prelude::SessionContext,
    case_id: &str,
    lodged: NaiveDate,
    note: Option<&str>,
    by: By<'_>,
) -> Result<(Vec<Cell>, Appealed)> {
    let student = student_of(ctx, case_id).await?;
    let found = queries::collect(ctx, "review/case_decision", &[("case_id", ScalarValue::from(case_id))]).await?;
    let due = cells::date_at(&found, "appeal_by")?.ok_or_else(|| {
        Error::Usage(format!("case {case_id} has no decision to appeal against; record it with `rollcall case decide`"))
    })?;
    let late = date_to_days(lodged) > due;
    let step = Step {
        case_id,
        student_id: &student,
        step: "appeal",
        value: if late { "lodged late" } else { "lodged" },
        on: date_to_days(lodged),
        due: Some(due),
        rule: None,
        note,
        recorded_by: by.who,
        recorded_at: by.at,
    };
    Ok((step.cells(), Appealed { appeal_by: days_to_date(due), late }))
}

/// Records an appeal lodged on `lodged` against the case's latest decision; late when after
/// the deadline (recorded, not refused).
pub async fn appeal(warehouse: &Warehouse, case_id: &str, lodged: NaiveDate, note: Option<&str>) -> Result<Appealed> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let who = crate::warehouse::os_user();
    let by = By { who: &who, at: warehouse.clock().now_micros() };
    let (row, appealed) = appeal_row(&job.ctx, case_id, lodged, note, by).await?;
    warehouse.append_named(&tables::CASE_DECISIONS, &[row], "case appeal").await?;
    Ok(appealed)
}

/// Records the outcome of the appeal on a case.
pub async fn appeal_outcome(
    warehouse: &Warehouse,
    case_id: &str,
    outcome: &str,
    on: NaiveDate,
    note: Option<&str>,
) -> Result<()> {
    if !APPEAL_OUTCOMES.contains(&outcome) {
        return Err(Error::Usage(format!("appeal outcome: expected one of {}", APPEAL_OUTCOMES.join(", "))));
    }
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let student = student_of(&job.ctx, case_id).await?;
    let found = queries::collect(&job.ctx, "review/case_decision", &[("case_id", ScalarValue::from(case_id))]).await?;
    if !cells::bool_at(&found, "appealed")?.unwrap_or(false) {
        return Err(Error::Usage(format!(
            "case {case_id} has no appeal lodged; record it with `rollcall case appeal`"
        )));
    }
    let step = Step {
        case_id,
        student_id: &student,
        step: "appeal-outcome",
        value: outcome,
        on: date_to_days(on),
        due: None,
        rule: None,
        note,
        recorded_by: &crate::warehouse::os_user(),
        recorded_at: warehouse.clock().now_micros(),
    };
    warehouse.append_rows(&[step], "case appeal outcome").await?;
    Ok(())
}
