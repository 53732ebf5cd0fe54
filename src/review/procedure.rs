//! The case procedure as the policies run it: the step each case is at and who owns it,
//! what moves it on, meetings with the notice they need, and exceptional withdrawal.
//!
//! Steps are data (`[[review.steps]]` in the ladder presets). A case starts at its rung's
//! `starts_at` step; where it stands now is worked out from what is recorded on it, in
//! order: an outcome in the step's `escalate_on` (a missed meeting counts as `no-show`)
//! moves it to `next`, one in `closes_on` closes it, a staff escalation (`rollcall case
//! escalate`) or a rating still low `still_low_weeks` after it reached its step (recorded
//! by `rollcall review`) moves it on, a decision marks it decided. Nothing derived is
//! written, so a record can never disagree with the history it came from; every position
//! carries the rule that produced it.
//!
//! Meetings (`case_meetings`) at a step with `notice_days` are checked against the day the
//! student was notified: shorter notice is flagged with the shortfall (or refused, with
//! `[review] short_notice = "refuse"`). Exceptional withdrawal (Essex policy, paragraph
//! 29) is recommended with the student notified in advance, approved with a final date to
//! ask to remain (`[review] remain_working_days` working days after the student was told),
//! a request to remain after that date is recorded as late, and the decision that follows
//! has the appeal window of [`super::decisions::decide`].

use std::sync::Arc;

use arrow::array::{Array, Date32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use super::decisions::{self, By, Step as Record};
use crate::config::ReviewConfig;
use crate::config::review::{CLOSING_OUTCOMES, ShortNotice};
use crate::domain::terms::Outcome;
use crate::domain::time::{date_to_days, days_to_date};
use crate::engine::cells;
use crate::engine::job::Job;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::row::{self, Cell, Row};
use crate::warehouse::tables::{self, TableDef};

/// Where a case stands in the procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The case.
    pub case_id: String,
    /// Its step (none when the ladder names no step for its action).
    pub step: Option<String>,
    /// `open`, `decided` (a decision recorded) or `closed` (a closing outcome recorded).
    pub status: &'static str,
    /// The day it reached its step or status.
    pub since: i32,
    /// The rule that put it there, in words.
    pub rule: String,
}

/// What a case's history says, one entry of `review/case_history`.
struct Entry<'a> {
    on: i32,
    kind: &'a str,
    value: &'a str,
    rule: Option<&'a str>,
}

fn label(config: &ReviewConfig, step: &str) -> String {
    config.step(step).map_or_else(|| step.to_string(), |s| s.label.to_lowercase())
}

fn day_text(day: i32) -> String {
    days_to_date(day).to_string()
}

/// Folds one case's history, oldest first, into its position.
fn position(config: &ReviewConfig, case_id: &str, action: &str, raised_on: i32, history: &[Entry<'_>]) -> Position {
    let start = config.start_step(action);
    let mut at = Position {
        case_id: case_id.to_string(),
        step: start.map(|s| s.name.clone()),
        status: "open",
        since: raised_on,
        rule: match start {
            Some(s) => format!("{action} cases start with the {} ([[review.rungs]] starts_at)", s.label.to_lowercase()),
            None => format!("no step is named for {action} cases ([[review.rungs]] starts_at)"),
        },
    };
    for entry in history {
        if at.status == "closed" {
            break;
        }
        let step = at.step.as_deref().and_then(|s| config.step(s));
        match entry.kind {
            "outcome" => {
                let Some(outcome) = Outcome::parse(entry.value) else { continue };
                let closes = step.map_or(CLOSING_OUTCOMES.contains(&outcome), |s| s.closes_on.contains(&outcome));
                if closes {
                    at.status = "closed";
                    at.since = entry.on;
                    at.rule = match step {
                        Some(s) => format!(
                            "{outcome} recorded on {} closes a case at the {} step ([[review.steps]] closes_on)",
                            day_text(entry.on),
                            s.label.to_lowercase()
                        ),
                        None => format!("{outcome} recorded on {} closes the case", day_text(entry.on)),
                    };
                } else if let Some(s) = step
                    && s.escalate_on.contains(&outcome)
                    && let Some(next) = &s.next
                {
                    at.rule = format!(
                        "{outcome} on {} at the {} step moves a case to the {} ([[review.steps]] escalate_on)",
                        day_text(entry.on),
                        s.label.to_lowercase(),
                        label(config, next)
                    );
                    at.step = Some(next.clone());
                    at.since = entry.on;
                }
            }
            "escalated" => {
                at.step = Some(entry.value.to_string());
                at.since = entry.on;
                at.rule = entry.rule.map_or_else(
                    || format!("escalated to the {} on {}", label(config, entry.value), day_text(entry.on)),
                    str::to_string,
                );
            }
            "decision" => {
                at.status = "decided";
                at.since = entry.on;
                at.rule = format!("decision '{}' notified on {}", entry.value, day_text(entry.on));
            }
            _ => {}
        }
    }
    at
}

/// Every case's position, from its history.
pub async fn positions(ctx: &SessionContext, config: &ReviewConfig) -> Result<Vec<Position>> {
    let batches = queries::collect(ctx, "review/case_history", &[]).await?;
    let Some(first) = batches.first() else { return Ok(Vec::new()) };
    // One batch, so that a case's rows (consecutive: the query orders by case) are together.
    let batch = arrow::compute::concat_batches(&first.schema(), &batches)?;
    let (case, action, raised) =
        (cells::texts(&batch, "case_id")?, cells::texts(&batch, "action")?, cells::days(&batch, "raised_on")?);
    let (on, kind, value, rule) = (
        cells::days(&batch, "on")?,
        cells::texts(&batch, "kind")?,
        cells::texts(&batch, "value")?,
        cells::texts(&batch, "rule")?,
    );
    let mut out = Vec::new();
    let mut from = 0;
    while from < batch.num_rows() {
        let mut to = from;
        while to < batch.num_rows() && case.value(to) == case.value(from) {
            to += 1;
        }
        let history: Vec<Entry<'_>> = (from..to)
            .filter(|&i| kind.is_valid(i))
            .map(|i| Entry {
                on: on.value(i),
                kind: kind.value(i),
                value: value.value(i),
                rule: rule.is_valid(i).then(|| rule.value(i)),
            })
            .collect();
        out.push(position(config, case.value(from), action.value(from), raised.value(from), &history));
        from = to;
    }
    Ok(out)
}

fn steps_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("case_id", DataType::Utf8, false),
        Field::new("step", DataType::Utf8, true),
        Field::new("step_label", DataType::Utf8, true),
        Field::new("owner", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, false),
        Field::new("step_since", DataType::Date32, false),
        Field::new("step_rule", DataType::Utf8, false),
    ]))
}

/// Registers `case_steps` (each case's position: step, its label and owner, status, since
/// and rule), `steps` (the configured steps), `action_labels` (each action's label) and
/// `case_next_items` (each case's next dated item on `today`, a day number, as [`next_item`]
/// picks it) in `ctx`, for the case lists and reports; returns the positions and every
/// dated item open on a case, for callers that look cases up without SQL.
pub async fn register(ctx: &SessionContext, config: &ReviewConfig, today: i32) -> Result<Registered> {
    let at = positions(ctx, config).await?;
    let step = |p: &Position| p.step.as_deref().and_then(|s| config.step(s));
    let batch = RecordBatch::try_new(
        steps_schema(),
        vec![
            Arc::new(at.iter().map(|p| Some(p.case_id.as_str())).collect::<StringArray>()),
            Arc::new(at.iter().map(|p| p.step.as_deref()).collect::<StringArray>()),
            Arc::new(at.iter().map(|p| step(p).map(|s| s.label.as_str())).collect::<StringArray>()),
            Arc::new(at.iter().map(|p| step(p).map(|s| s.owner.as_str())).collect::<StringArray>()),
            Arc::new(at.iter().map(|p| Some(p.status)).collect::<StringArray>()),
            Arc::new(at.iter().map(|p| Some(p.since)).collect::<Date32Array>()),
            Arc::new(at.iter().map(|p| Some(p.rule.as_str())).collect::<StringArray>()),
        ],
    )?;
    session::register_batches(ctx, "case_steps", steps_schema(), vec![batch])?;

    let steps = &config.steps;
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("owner", DataType::Utf8, false),
        Field::new("next", DataType::Utf8, true),
        Field::new("still_low_weeks", DataType::Int64, true),
        Field::new("notice_days", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(steps.iter().map(|s| Some(s.name.as_str())).collect::<StringArray>()),
            Arc::new(steps.iter().map(|s| Some(s.label.as_str())).collect::<StringArray>()),
            Arc::new(steps.iter().map(|s| Some(s.owner.as_str())).collect::<StringArray>()),
            Arc::new(steps.iter().map(|s| s.next.as_deref()).collect::<StringArray>()),
            Arc::new(steps.iter().map(|s| s.still_low_weeks.map(i64::from)).collect::<Int64Array>()),
            Arc::new(steps.iter().map(|s| s.notice_days.map(i64::from)).collect::<Int64Array>()),
        ],
    )?;
    session::register_batches(ctx, "steps", schema, vec![batch])?;

    let labels = config.action_labels();
    let schema = Arc::new(Schema::new(vec![
        Field::new("action", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(labels.iter().map(|(a, _)| Some(a.as_str())).collect::<StringArray>()),
            Arc::new(labels.iter().map(|(_, l)| Some(l.as_str())).collect::<StringArray>()),
        ],
    )?;
    session::register_batches(ctx, "action_labels", schema, vec![batch])?;

    // The dated items, read once (a case list judges them against its day).
    let batches = queries::collect(ctx, "review/case_deadlines", &[]).await?;
    let mut deadlines = Vec::new();
    for batch in &batches {
        let (case, meeting, due) =
            (cells::texts(batch, "case_id")?, cells::texts(batch, "meeting_id")?, cells::days(batch, "due")?);
        let (item, rule, action) =
            (cells::texts(batch, "item")?, cells::texts(batch, "rule")?, cells::texts(batch, "staff_action")?);
        let window = arrow::compute::cast(
            batch.column_by_name("window").ok_or_else(|| Error::Internal("case deadlines: no window".into()))?,
            &DataType::Boolean,
        )?;
        let window = window.as_any().downcast_ref::<arrow::array::BooleanArray>().expect("cast to boolean");
        for i in 0..batch.num_rows() {
            let text = |a: &StringArray| a.is_valid(i).then(|| a.value(i).to_string());
            deadlines.push(Deadline {
                case_id: case.value(i).to_string(),
                meeting_id: text(&meeting),
                due: due.value(i),
                item: item.value(i).to_string(),
                rule: text(&rule),
                staff_action: text(&action),
                window: window.value(i),
            });
        }
    }
    let registered = Registered { positions: at, deadlines };
    register_next_items(ctx, &registered.next_items(today))?;
    Ok(registered)
}

/// Registers `case_next_items`: each case's next dated item on the day it was worked out for.
fn register_next_items(ctx: &SessionContext, next: &[NextItem]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("case_id", DataType::Utf8, false),
        Field::new("next_due", DataType::Date32, false),
        Field::new("next_item", DataType::Utf8, false),
        Field::new("next_rule", DataType::Utf8, true),
        Field::new("overdue", DataType::Boolean, false),
        Field::new("overdue_items", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(next.iter().map(|n| Some(n.case_id.as_str())).collect::<StringArray>()),
            Arc::new(next.iter().map(|n| Some(n.due)).collect::<Date32Array>()),
            Arc::new(next.iter().map(|n| Some(n.item.as_str())).collect::<StringArray>()),
            Arc::new(next.iter().map(|n| n.rule.as_deref()).collect::<StringArray>()),
            Arc::new(next.iter().map(|n| Some(n.overdue)).collect::<arrow::array::BooleanArray>()),
            Arc::new(next.iter().map(|n| Some(n.overdue_items)).collect::<Int64Array>()),
        ],
    )?;
    session::register_batches(ctx, "case_next_items", schema, vec![batch])
}

/// A case's next dated item on a day, as every case list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextItem {
    /// The case.
    pub case_id: String,
    /// Its day.
    pub due: i32,
    /// What it is, with what staff must record once it is overdue.
    pub item: String,
    /// The rule that set the day.
    pub rule: Option<String>,
    /// Whether it is overdue.
    pub overdue: bool,
    /// How many of the case's items are overdue.
    pub overdue_items: i64,
}

/// The next of one case's dated items on `today` (a day number): of those still listed,
/// an overdue one first, then the earliest.
pub fn next_item(items: &[&Deadline], today: i32) -> Option<NextItem> {
    let listed = items.iter().filter(|d| d.listed(today));
    let next = listed.clone().min_by_key(|d| (!d.overdue(today), d.due))?;
    let overdue = next.overdue(today);
    let item = match (&next.staff_action, overdue) {
        (Some(action), true) => format!("{}: {action}", next.item),
        _ => next.item.clone(),
    };
    Some(NextItem {
        case_id: next.case_id.clone(),
        due: next.due,
        item,
        rule: next.rule.clone(),
        overdue,
        overdue_items: listed.filter(|d| d.overdue(today)).count() as i64,
    })
}

/// What [`register`] worked out, for callers that look cases up without SQL.
#[derive(Debug, Clone, Default)]
pub struct Registered {
    /// Every case's position.
    pub positions: Vec<Position>,
    /// Every dated item open on a case.
    pub deadlines: Vec<Deadline>,
}

impl Registered {
    /// Each case's next dated item on `today` (a day number), for the cases that have one.
    pub fn next_items(&self, today: i32) -> Vec<NextItem> {
        let mut by_case: std::collections::BTreeMap<&str, Vec<&Deadline>> = std::collections::BTreeMap::new();
        for d in &self.deadlines {
            by_case.entry(d.case_id.as_str()).or_default().push(d);
        }
        by_case.values().filter_map(|items| next_item(items, today)).collect()
    }
}

/// A dated item open on a case (`review/case_deadlines`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// The case.
    pub case_id: String,
    /// The meeting, for a meeting's item.
    pub meeting_id: Option<String>,
    /// Its day.
    pub due: i32,
    /// What it is, in words.
    pub item: String,
    /// The rule that set the day.
    pub rule: Option<String>,
    /// What staff must record once the day has passed (the item is then overdue).
    pub staff_action: Option<String>,
    /// The student's window: listed only until it closes.
    pub window: bool,
}

impl Deadline {
    /// Whether it is overdue on `today` (a day number).
    pub fn overdue(&self, today: i32) -> bool {
        self.staff_action.is_some() && self.due < today
    }

    /// Whether it is still listed on `today`.
    pub fn listed(&self, today: i32) -> bool {
        !(self.window && self.due < today)
    }
}

/// The position of one case, or a usage error naming it when there is no such case.
async fn position_of(ctx: &SessionContext, config: &ReviewConfig, case_id: &str) -> Result<Position> {
    positions(ctx, config)
        .await?
        .into_iter()
        .find(|p| p.case_id == case_id)
        .ok_or_else(|| Error::Usage(format!("no case {case_id}; `rollcall case list` shows them")))
}

/// A case moved on by staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalated {
    /// The step it was at.
    pub from: Option<String>,
    /// The step it is at now.
    pub to: String,
}

/// Moves a case to `to`, or to its step's `next`: a decision by the step's owner to refer
/// it upwards (Essex: the faculty refers a case to a progress committee).
pub async fn escalate(
    warehouse: &Warehouse,
    case_id: &str,
    to: Option<&str>,
    on: NaiveDate,
    note: Option<&str>,
) -> Result<Escalated> {
    let config = &warehouse.config().review;
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let at = position_of(&job.ctx, config, case_id).await?;
    if at.status == "closed" {
        return Err(Error::Usage(format!("case {case_id} is closed ({}); it cannot be escalated", at.rule)));
    }
    let from = at.step.clone();
    let to = match to {
        Some(to) => config.step(to).map(|s| s.name.clone()).ok_or_else(|| {
            let names: Vec<&str> = config.steps.iter().map(|s| s.name.as_str()).collect();
            Error::Usage(format!("--to: no step '{to}' in [[review.steps]]; the steps are {}", names.join(", ")))
        })?,
        None => from.as_deref().and_then(|s| config.step(s)).and_then(|s| s.next.clone()).ok_or_else(|| {
            Error::Usage(format!("case {case_id} is at a step with no next step; name one with --to"))
        })?,
    };
    if from.as_deref() == Some(to.as_str()) {
        return Err(Error::Usage(format!("case {case_id} is already at the {} step", label(config, &to))));
    }
    let student = decisions::student_of(&job.ctx, case_id).await?;
    let rule = format!(
        "escalated by staff on {on} from the {} to the {}",
        from.as_deref().map_or_else(|| "case's start".to_string(), |f| label(config, f)),
        label(config, &to)
    );
    let record = Record {
        case_id,
        student_id: &student,
        step: "escalated",
        value: &to,
        on: date_to_days(on),
        due: None,
        rule: Some(rule),
        note,
        recorded_by: &crate::warehouse::os_user(),
        recorded_at: warehouse.clock().now_micros(),
    };
    warehouse.append_rows(&[record], "case escalated").await?;
    Ok(Escalated { from, to })
}

/// Moves the newest open case of each student still rated low `still_low_weeks` after it
/// reached its step to the step's `next` (run by `rollcall review`, whose session holds
/// `rungs`); returns how many moved. With `dry_run`, counts without recording.
pub async fn escalate_still_low(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    as_of: NaiveDate,
    dry_run: bool,
) -> Result<u64> {
    let config = &warehouse.config().review;
    if config.steps.iter().all(|s| s.still_low_weeks.is_none()) {
        return Ok(0);
    }
    register(ctx, config, date_to_days(as_of)).await?;
    let found = queries::collect(ctx, "review/still_low", &[("as_of", cells::date(date_to_days(as_of)))]).await?;
    let mut moves: Vec<(String, String, String, String)> = Vec::new();
    for batch in &found {
        let (case, student, step, next) = (
            cells::texts(batch, "case_id")?,
            cells::texts(batch, "student_id")?,
            cells::texts(batch, "step")?,
            cells::texts(batch, "next")?,
        );
        let (weeks, rating, since) =
            (cells::ints(batch, "weeks")?, cells::texts(batch, "rating")?, cells::days(batch, "since")?);
        for i in 0..batch.num_rows() {
            let rule = format!(
                "still rated {} on {as_of}, {} weeks or more after reaching the {} step on {} ([[review.steps]] still_low_weeks)",
                rating.value(i),
                weeks.value(i),
                label(config, step.value(i)),
                day_text(since.value(i)),
            );
            moves.push((case.value(i).into(), student.value(i).into(), next.value(i).into(), rule));
        }
    }
    if !dry_run && !moves.is_empty() {
        let now = warehouse.clock().now_micros();
        let who = crate::warehouse::os_user();
        let records: Vec<Record<'_>> = moves
            .iter()
            .map(|(case, student, next, rule)| Record {
                case_id: case,
                student_id: student,
                step: "escalated",
                value: next,
                on: date_to_days(as_of),
                due: None,
                rule: Some(rule.clone()),
                note: None,
                recorded_by: &who,
                recorded_at: now,
            })
            .collect();
        warehouse.append_rows(&records, "cases escalated: still low").await?;
    }
    Ok(moves.len() as u64)
}

/// One `case_meetings` row.
struct MeetingRow<'a> {
    meeting_id: &'a str,
    case_id: &'a str,
    student_id: &'a str,
    event: &'a str,
    step: Option<&'a str>,
    held_on: i32,
    time: Option<&'a str>,
    place: Option<&'a str>,
    attendees: Option<&'a str>,
    notified_on: Option<i32>,
    notice_days: Option<i64>,
    notice_required: Option<i64>,
    rule: Option<&'a str>,
    note: Option<&'a str>,
    recorded_by: &'a str,
    recorded_at: i64,
}

impl Row for MeetingRow<'_> {
    const TABLE: TableDef = tables::CASE_MEETINGS;

    fn cells(&self) -> Vec<Cell> {
        let mut cells = vec![
            ("meeting_id", row::text(self.meeting_id)),
            ("case_id", row::text(self.case_id)),
            ("student_id", row::text(self.student_id)),
            ("event", row::text(self.event)),
            ("held_on", row::day(Some(self.held_on))),
            ("notified_on", row::day(self.notified_on)),
            ("recorded_by", row::text(self.recorded_by)),
            ("recorded_at", row::instant(Some(self.recorded_at))),
        ];
        let texts = [
            ("step", self.step),
            ("time", self.time),
            ("place", self.place),
            ("attendees", self.attendees),
            ("rule", self.rule),
            ("note", self.note),
        ];
        cells.extend(texts.into_iter().filter_map(|(name, v)| v.map(|v| (name, row::text(v)))));
        cells.extend(self.notice_days.map(|d| ("notice_days", row::int(d))));
        cells.extend(self.notice_required.map(|d| ("notice_required", row::int(d))));
        cells
    }
}

/// A meeting to schedule on a case.
#[derive(Debug, Clone)]
pub struct MeetingPlan<'a> {
    /// The case.
    pub case_id: &'a str,
    /// The step it is held at (default: the case's step).
    pub step: Option<&'a str>,
    /// The day.
    pub held_on: NaiveDate,
    /// The time, `HH:MM`.
    pub time: Option<&'a str>,
    /// Where.
    pub place: Option<&'a str>,
    /// Who attends, by role (e.g. `student, personal tutor`).
    pub attendees: &'a str,
    /// The day the student was told of it.
    pub notified: Option<NaiveDate>,
    /// A short note (no special-category data).
    pub note: Option<&'a str>,
}

/// A meeting scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// Its id, e.g. `C000042-M1`.
    pub meeting_id: String,
    /// The notice check, in words (none at a step without `notice_days`).
    pub rule: Option<String>,
    /// Days short of the notice required (0: enough, or none required).
    pub short_by: i64,
}

/// Schedules a meeting on a case; at a step with `notice_days`, checks the notice the
/// student was given, flagging (or, configured so, refusing) a meeting notified too late.
pub async fn schedule_meeting(warehouse: &Warehouse, plan: &MeetingPlan<'_>) -> Result<Scheduled> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let who = crate::warehouse::os_user();
    let by = By { who: &who, at: warehouse.clock().now_micros() };
    let (row, scheduled) = meeting_row(&job.ctx, &warehouse.config().review, plan, by).await?;
    warehouse.append_named(&tables::CASE_MEETINGS, &[row], "meeting scheduled").await?;
    Ok(scheduled)
}

/// Works out the `case_meetings` row of a meeting scheduled (nothing written): the notice
/// check of [`schedule_meeting`].
pub async fn meeting_row(
    ctx: &SessionContext,
    config: &ReviewConfig,
    plan: &MeetingPlan<'_>,
    by: By<'_>,
) -> Result<(Vec<Cell>, Scheduled)> {
    if let Some(time) = plan.time
        && chrono::NaiveTime::parse_from_str(time, "%H:%M").is_err()
    {
        return Err(Error::Usage("--at: expected a time of day as HH:MM (24-hour)".into()));
    }
    if plan.attendees.split(',').all(|a| a.trim().is_empty()) {
        return Err(Error::Usage("--attendees: name at least one role (e.g. \"student, personal tutor\")".into()));
    }
    let at = position_of(ctx, config, plan.case_id).await?;
    if at.status == "closed" {
        return Err(Error::Usage(format!("case {} is closed; a meeting cannot be scheduled on it", plan.case_id)));
    }
    let step = match plan.step {
        Some(name) => Some(
            config.step(name).ok_or_else(|| Error::Usage(format!("--step: no step '{name}' in [[review.steps]]")))?,
        ),
        None => at.step.as_deref().and_then(|s| config.step(s)),
    };
    let held = date_to_days(plan.held_on);
    let notified = plan.notified.map(date_to_days);
    let required = step.and_then(|s| s.notice_days).map(i64::from);
    if let Some(n) = notified
        && n > held
    {
        return Err(Error::Usage("--notified: the student cannot be told after the meeting day".into()));
    }
    let notice = notified.map(|n| i64::from(held - n));
    let (rule, short_by) = match (step, required) {
        (Some(s), Some(required)) => {
            let Some(notice) = notice else {
                return Err(Error::Usage(format!(
                    "a meeting at the {} step needs --notified (the day the student was told): it must be at least {required} days in advance ([[review.steps]] notice_days)",
                    s.label.to_lowercase()
                )));
            };
            let short_by = (required - notice).max(0);
            let verdict = if short_by > 0 {
                format!("SHORT NOTICE: {short_by} day(s) less than required")
            } else {
                "notice given as required".to_string()
            };
            let rule = format!(
                "student notified on {}, {notice} days before the meeting; the {} step requires at least {required} days ([[review.steps]] notice_days): {verdict}",
                days_to_date(notified.expect("notice implies notified")),
                s.label.to_lowercase()
            );
            (Some(rule), short_by)
        }
        _ => (None, 0),
    };
    if short_by > 0 && config.short_notice == ShortNotice::Refuse {
        return Err(Error::Usage(format!(
            "not scheduled: {} (set [review] short_notice = \"flag\" to record it flagged)",
            rule.as_deref().unwrap_or_default()
        )));
    }
    let student = decisions::student_of(ctx, plan.case_id).await?;
    let count = queries::collect(ctx, "review/meeting_count", &[("case_id", ScalarValue::from(plan.case_id))]).await?;
    let meeting_id = format!("{}-M{}", plan.case_id, cells::int_at(&count, "n")?.unwrap_or(0) + 1);
    let attendees: Vec<&str> = plan.attendees.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    let attendees = attendees.join(", ");
    let meeting = MeetingRow {
        meeting_id: &meeting_id,
        case_id: plan.case_id,
        student_id: &student,
        event: "scheduled",
        step: step.map(|s| s.name.as_str()),
        held_on: held,
        time: plan.time,
        place: plan.place,
        attendees: Some(&attendees),
        notified_on: notified,
        notice_days: notice,
        notice_required: required,
        rule: rule.as_deref(),
        note: plan.note,
        recorded_by: by.who,
        recorded_at: by.at,
    };
    Ok((meeting.cells(), Scheduled { meeting_id, rule, short_by }))
}

/// What staff record about a meeting.
pub const MEETING_EVENTS: &[&str] = &["attended", "no-show", "cancelled"];

/// Records whether the student attended a meeting (a no-show moves the case on where its
/// step says so), or that it was cancelled.
pub async fn meeting_attendance(
    warehouse: &Warehouse,
    meeting_id: &str,
    event: &str,
    note: Option<&str>,
) -> Result<()> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let who = crate::warehouse::os_user();
    let by = By { who: &who, at: warehouse.clock().now_micros() };
    let row = attendance_row(&job.ctx, meeting_id, event, note, by).await?;
    warehouse.append_named(&tables::CASE_MEETINGS, &[row], "meeting attendance").await?;
    Ok(())
}

/// Works out the `case_meetings` row recording a meeting's attendance or cancellation
/// (nothing written).
pub async fn attendance_row(
    ctx: &SessionContext,
    meeting_id: &str,
    event: &str,
    note: Option<&str>,
    by: By<'_>,
) -> Result<Vec<Cell>> {
    if !MEETING_EVENTS.contains(&event) {
        return Err(Error::Usage(format!("expected one of {}", MEETING_EVENTS.join(", "))));
    }
    let found =
        queries::collect(ctx, "review/meeting_lookup", &[("meeting_id", ScalarValue::from(meeting_id))]).await?;
    let case = cells::string_at(&found, "case_id")?.ok_or_else(|| {
        Error::Usage(format!("no meeting {meeting_id}; `rollcall case list` shows each case's next meeting"))
    })?;
    if cells::bool_at(&found, "settled")?.unwrap_or(false) {
        return Err(Error::Usage(format!("meeting {meeting_id} already has its attendance or cancellation recorded")));
    }
    let student = cells::string_at(&found, "student_id")?.unwrap_or_default();
    let step = cells::string_at(&found, "step")?;
    let held = cells::date_at(&found, "held_on")?.ok_or_else(|| Error::Internal("a meeting without a day".into()))?;
    let row = MeetingRow {
        meeting_id,
        case_id: &case,
        student_id: &student,
        event,
        step: step.as_deref(),
        held_on: held,
        time: None,
        place: None,
        attendees: None,
        notified_on: None,
        notice_days: None,
        notice_required: None,
        rule: None,
        note,
        recorded_by: by.who,
        recorded_at: by.at,
    };
    Ok(row.cells())
}

/// The steps of an exceptional withdrawal.
pub const WITHDRAWAL_STEPS: &[&str] = &["recommend", "approve", "request-to-remain"];

/// An exceptional withdrawal step recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalStep {
    /// The final date to request to remain (after approval).
    pub remain_by: Option<NaiveDate>,
    /// The rule that set it.
    pub rule: Option<String>,
    /// A request to remain made after the final date.
    pub late: bool,
}

/// Records a step of an exceptional withdrawal on a case (Essex policy, paragraph 29):
/// `recommend` (the student notified in advance on `on`), `approve` (notified on `on`; sets
/// the final date to request to remain), `request-to-remain` (made on `on`; late when after
/// the final date, recorded, not refused).
pub async fn withdrawal(
    warehouse: &Warehouse,
    case_id: &str,
    step: &str,
    on: NaiveDate,
    note: Option<&str>,
) -> Result<WithdrawalStep> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let student = decisions::student_of(&job.ctx, case_id).await?;
    let state =
        queries::collect(&job.ctx, "review/withdrawal_state", &[("case_id", ScalarValue::from(case_id))]).await?;
    let recommended = cells::bool_at(&state, "recommended")?.unwrap_or(false);
    let remain_by = cells::date_at(&state, "remain_by")?;
    let day = date_to_days(on);
    let (record, value, due, rule, late) = match step {
        "recommend" => ("withdrawal-recommended", "recommended", None, None, false),
        "approve" => {
            if !recommended {
                return Err(Error::Usage(format!(
                    "case {case_id} has no withdrawal recommendation; the student is told of it first (`rollcall case withdrawal {case_id} recommend`)"
                )));
            }
            let days = warehouse.config().review.remain_working_days;
            let params = [("notified", cells::date(day)), ("days", ScalarValue::Int64(Some(i64::from(days))))];
            let due = cells::date_at(&queries::collect(&job.ctx, "review/appeal_due", &params).await?, "appeal_by")?
                .ok_or_else(|| Error::Internal("no final date to remain worked out".into()))?;
            let rule = format!(
                "{days} working days after the student was told of the approval on {on} (weekends and England and Wales bank holidays not counted; [review] remain_working_days)"
            );
            ("withdrawal-approved", "approved", Some(due), Some(rule), false)
        }
        "request-to-remain" => {
            let due = remain_by.ok_or_else(|| {
                Error::Usage(format!("case {case_id} has no approved withdrawal to ask to remain against"))
            })?;
            let late = day > due;
            ("request-to-remain", if late { "lodged late" } else { "lodged" }, Some(due), None, late)
        }
        _ => return Err(Error::Usage(format!("expected one of {}", WITHDRAWAL_STEPS.join(", ")))),
    };
    let row = Record {
        case_id,
        student_id: &student,
        step: record,
        value,
        on: day,
        due,
        rule: rule.clone(),
        note,
        recorded_by: &crate::warehouse::os_user(),
        recorded_at: warehouse.clock().now_micros(),
    };
    warehouse.append_rows(&[row], "exceptional withdrawal").await?;
    Ok(WithdrawalStep { remain_by: due.map(days_to_date), rule, late })
}

/// Records the day a completion of procedures letter was sent on a case.
pub async fn completion_letter(
    warehouse: &Warehouse,
    case_id: &str,
    sent: NaiveDate,
    note: Option<&str>,
) -> Result<()> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let student = decisions::student_of(&job.ctx, case_id).await?;
    let row = Record {
        case_id,
        student_id: &student,
        step: "completion-letter",
        value: "sent",
        on: date_to_days(sent),
        due: None,
        rule: None,
        note,
        recorded_by: &crate::warehouse::os_user(),
        recorded_at: warehouse.clock().now_micros(),
    };
    warehouse.append_rows(&[row], "completion of procedures letter").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn staged() -> ReviewConfig {
        Config::parse(&Config::template("staged-review"), std::path::Path::new("t.toml")).unwrap().review
    }

    fn day(text: &str) -> i32 {
        date_to_days(text.parse().unwrap())
    }

    #[test]
    fn a_no_show_moves_a_case_up_and_a_closing_outcome_ends_it() {
        let config = staged();
        let history = [
            Entry { on: day("2025-10-06"), kind: "outcome", value: "contacted", rule: None },
            Entry { on: day("2025-10-08"), kind: "outcome", value: "no-show", rule: None },
        ];
        let at = position(&config, "C1", "weekly-review", day("2025-10-01"), &history);
        assert_eq!(at.step.as_deref(), Some("progress-officer"));
        assert_eq!((at.status, at.since), ("open", day("2025-10-08")));
        assert!(at.rule.contains("no-show on 2025-10-08 at the personal tutor step"), "{}", at.rule);

        let more = [
            Entry { on: day("2025-10-20"), kind: "escalated", value: "faculty", rule: Some("staff referred it") },
            Entry { on: day("2025-11-03"), kind: "decision", value: "continue", rule: None },
            Entry { on: day("2025-11-10"), kind: "outcome", value: "no-further-action", rule: None },
            Entry { on: day("2025-11-12"), kind: "escalated", value: "committee", rule: None },
        ];
        let all: Vec<Entry<'_>> = history.into_iter().chain(more).collect();
        let at = position(&config, "C1", "weekly-review", day("2025-10-01"), &all);
        assert_eq!((at.step.as_deref(), at.status), (Some("faculty"), "closed"), "nothing moves a closed case");
        assert_eq!(at.since, day("2025-11-10"));
    }

    #[test]
    fn a_case_with_no_step_closes_on_the_usual_outcomes() {
        let mut config = staged();
        config.steps.clear();
        for rung in &mut config.rungs {
            rung.starts_at = None;
        }
        let history = [Entry { on: day("2025-10-08"), kind: "outcome", value: "no-show", rule: None }];
        let at = position(&config, "C1", "weekly-review", day("2025-10-01"), &history);
        assert_eq!((at.step, at.status), (None, "open"));
        let history = [Entry { on: day("2025-10-08"), kind: "outcome", value: "withdrawn", rule: None }];
        assert_eq!(position(&config, "C1", "weekly-review", day("2025-10-01"), &history).status, "closed");
    }

    #[test]
    fn a_beyond_limit_action_starts_where_its_rung_says() {
        let config =
            Config::parse(&Config::template("consecutive-weeks"), std::path::Path::new("t.toml")).unwrap().review;
        assert_eq!(config.start_step("withdrawal-review").map(|s| s.name.as_str()), Some("faculty"));
        assert_eq!(config.start_step("first-email").map(|s| s.name.as_str()), Some("attendance-team"));
    }
}
