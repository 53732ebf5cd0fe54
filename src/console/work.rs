//! The console's working pages, where staff and students record things: outcomes on cases,
//! absences reported and decided, UKVI events marked reported; and the lists they work
//! from (the compliance officer's UKVI dashboard, the progress team's cases).
//!
//! Nothing recorded here waits for a batch job: each row goes to the warehouse's small
//! queue (fsynced, its own lock) and the page answers at once; the row reaches its table as
//! soon as no job holds the warehouse lock (see `crate::warehouse::queue`). Until then the
//! pages show it as waiting, and count it as done (an event marked reported is not offered
//! again).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use datafusion::scalar::ScalarValue;
use minijinja::context;
use serde::Deserialize;

use super::App;
use super::pages::{
    Visit, audit, check_csrf, details, failed, message, read, refuse, render, rows, scope_of, user_context, with_cookie,
};
use super::sessions::Identity;
use crate::domain::terms::Outcome;
use crate::domain::time::{date_to_days, days_to_date};
use crate::engine::cells;
use crate::error::{Error, Result};
use crate::warehouse::queue::{self, Entry};
use crate::warehouse::row::{self, Cell};
use crate::warehouse::tables::{self, TableDef};

/// The longest note kept with an outcome, in characters.
const NOTE_LIMIT: usize = 1000;
/// The longest absence a student may report from the console, in days.
const ABSENCE_LIMIT_DAYS: i64 = 60;

impl App {
    /// Queues a row for its table and, if no job holds the warehouse lock, writes it now
    /// (the next page shows it); otherwise it waits, safe in the queue, for the lock.
    pub(super) async fn record(self: &Arc<Self>, def: TableDef, cells: Vec<Cell>) -> Result<String> {
        let warehouse = self.warehouse.clone();
        let id = tokio::task::spawn_blocking(move || warehouse.enqueue(&def, &cells))
            .await
            .map_err(|e| Error::stopped("the queue writer", &e))??;
        self.apply_now().await;
        Ok(id)
    }

    /// Writes the queued rows to their tables if the warehouse lock is free. A failure is
    /// logged: the rows stay in the queue for the next try.
    pub(super) async fn apply_now(&self) {
        let lock = match self.warehouse.try_lock() {
            Ok(Some(lock)) => lock,
            Ok(None) => return,
            Err(e) => return tracing::error!("console: the warehouse lock: {}", e.code()),
        };
        let applied = async {
            self.warehouse.create_missing_tables().await?;
            self.warehouse.apply_queue(&lock).await
        };
        match applied.await {
            Ok(0) => {}
            Ok(_) => self.refresh().await,
            Err(e) => tracing::error!("console: applying recorded rows: {}", e.code()),
        }
    }

    /// The rows waiting in the queue for `table`.
    fn waiting(&self, table: &str) -> Vec<Entry> {
        match queue::pending(self.warehouse.root()) {
            Ok(entries) => entries.into_iter().filter(|e| e.table == table).collect(),
            Err(e) => {
                tracing::error!("console: reading the queue: {}", e.code());
                Vec::new()
            }
        }
    }
}

/// A day from a form field, or a message naming the field.
fn day_field(value: &str, field: &str) -> std::result::Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| format!("{field}: give a date as YYYY-MM-DD."))
}

fn today(app: &App) -> NaiveDate {
    app.warehouse.clock().today()
}

/// Whether a member of staff may open `student_id`'s page (and so record on it).
pub(super) async fn in_scope(app: &App, who: &Identity, student_id: &str) -> Result<bool> {
    let Some(scope) = scope_of(who) else { return Ok(false) };
    Ok(app.index().await?.student(student_id).is_some_and(|s| s.in_scope(&scope)))
}

/// What is waiting in the queue about one student, in words, for their page.
pub(super) fn waiting_about(app: &App, student_id: &str) -> Vec<String> {
    let entries = match queue::pending(app.warehouse.root()) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::error!("console: reading the queue: {}", e.code());
            return Vec::new();
        }
    };
    let day = |e: &Entry, c: &str| {
        e.cells.get(c).and_then(|v| v.as_i64()).and_then(|d| i32::try_from(d).ok()).map(days_to_date)
    };
    entries
        .iter()
        .filter(|e| e.text("student_id") == Some(student_id))
        .map(|e| match e.table.as_str() {
            "case_events" => format!(
                "outcome \"{}\" on case {}",
                e.text("outcome").unwrap_or_default(),
                e.text("case_id").unwrap_or_default()
            ),
            "absences" => format!(
                "absence from {} to {} ({})",
                day(e, "starts_on").map(|d| d.to_string()).unwrap_or_default(),
                day(e, "ends_on").map(|d| d.to_string()).unwrap_or_default(),
                e.text("kind").unwrap_or_default()
            ),
            "ukvi_reports" => format!("UKVI event \"{}\" marked reported", e.text("event").unwrap_or_default()),
            "case_meetings" => format!(
                "meeting {} ({}) on case {}",
                e.text("meeting_id").unwrap_or_default(),
                e.text("event").unwrap_or_default(),
                e.text("case_id").unwrap_or_default()
            ),
            "case_decisions" => format!(
                "{} \"{}\" on case {}",
                e.text("step").unwrap_or_default(),
                e.text("value").unwrap_or_default(),
                e.text("case_id").unwrap_or_default()
            ),
            other => format!("a row for {other}"),
        })
        .collect()
}

/// A form that records an outcome on a case.
#[derive(Debug, Deserialize)]
pub struct OutcomeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    note: String,
}

/// `POST /students/{id}/outcome`: a contact, meeting or outcome recorded on one of the
/// student's cases, by a member of staff whose scope includes the student.
pub async fn record_outcome(
    State(app): State<Arc<App>>,
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<OutcomeForm>,
) -> Response {
    let CaseForm { who, staff_id, note, cases } = match case_form(&app, &visit, &id, &form.csrf, &form.note).await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let problem = |text: String| message(&app, &visit, StatusCode::BAD_REQUEST, "Not recorded", &text);
    let Some(outcome) = Outcome::parse(form.outcome.trim()) else {
        return problem("outcome: choose one of the outcomes listed.".into());
    };
    let on = match day_field(&form.on, "date") {
        Ok(on) if on <= today(&app) => on,
        Ok(_) => return problem("date: an outcome cannot be recorded for a day still to come.".into()),
        Err(text) => return problem(text),
    };
    let Some(case) = cases.iter().find(|c| c.get("case_id").map(String::as_str) == Some(form.case_id.trim())) else {
        return problem("case: choose one of this student's cases.".into());
    };
    let mut cells = vec![
        ("case_id", row::text(form.case_id.trim())),
        ("student_id", row::text(id.as_str())),
        ("academic_year", row::text(case.get("academic_year").cloned().unwrap_or_default())),
        ("recorded_on", row::day(Some(date_to_days(on)))),
        ("outcome", row::text(outcome)),
        ("recorded_by", row::text(staff_id)),
        ("recorded_at", row::instant(Some(app.warehouse.clock().now_micros()))),
    ];
    if let Some(note) = note {
        cells.push(("note", row::text(note)));
    }
    if let Err(e) = app.record(tables::CASE_EVENTS, cells).await {
        return failed(&e);
    }
    let noted = details(&[("page", "student"), ("role", who.role()), ("case_id", form.case_id.trim())]);
    if let Err(e) = audit(&app, "console case outcome", "ok", noted).await {
        return failed(&e);
    }
    with_cookie(&visit, Redirect::to(&format!("/students/{}?saved=outcome", super::pages::urlencode(&id))))
}

/// What the forms on a student's cases are checked for first, in this order: the CSRF
/// token, a member of staff whose scope includes the student, the note's length; then the
/// student's cases, which the form must name one of.
struct CaseForm<'v> {
    who: &'v Identity,
    staff_id: &'v str,
    /// The note, trimmed; `None` when empty.
    note: Option<&'v str>,
    cases: Vec<BTreeMap<String, String>>,
}

async fn case_form<'v>(
    app: &App,
    visit: &'v Visit,
    student_id: &str,
    csrf: &str,
    note: &'v str,
) -> std::result::Result<CaseForm<'v>, Response> {
    check_csrf(app, visit, csrf, "student").await?;
    let (who, staff_id) = staff_on(app, visit, student_id).await?;
    let note = note.trim();
    if note.chars().count() > NOTE_LIMIT {
        let text = format!("note: keep it under {NOTE_LIMIT} characters.");
        return Err(message(app, visit, StatusCode::BAD_REQUEST, "Not recorded", &text));
    }
    let cases = cases_of(app, student_id).await.map_err(|e| failed(&e))?;
    Ok(CaseForm { who, staff_id, note: (!note.is_empty()).then_some(note), cases })
}

/// One student's cases, as their page lists them.
async fn cases_of(app: &App, student_id: &str) -> Result<Vec<BTreeMap<String, String>>> {
    Ok(app.casework().await?.cases_of(student_id))
}

/// A form that records a step of the case procedure: a meeting scheduled, a meeting's
/// attendance, a decision, an appeal.
#[derive(Debug, Deserialize)]
pub struct CaseStepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    meeting_id: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    attendees: String,
    #[serde(default)]
    notified: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    note: String,
}

/// `POST /students/{id}/case`: a meeting scheduled (its notice checked against its step),
/// a meeting's attendance, a decision (its appeal deadline worked out) or an appeal (late
/// ones recorded as late) on one of the student's cases, by staff whose scope includes the
/// student. The page after shows the case's next dated item with the rule that set it.
pub async fn record_case_step(
    State(app): State<Arc<App>>,
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<CaseStepForm>,
) -> Response {
    use crate::review::{decisions, procedure};
    let CaseForm { who, staff_id, note, cases } = match case_form(&app, &visit, &id, &form.csrf, &form.note).await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let problem = |text: String| message(&app, &visit, StatusCode::BAD_REQUEST, "Not recorded", &text);
    let optional = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_string);
    let ctx = match app.tables().await {
        Ok(ctx) => ctx,
        Err(e) => return failed(&e),
    };
    // The case must be one of this student's (a meeting, one of their cases' meetings).
    let case_id = if form.kind == "attendance" {
        let ids: Vec<String> = cases.iter().filter_map(|c| c.get("case_id").cloned()).collect();
        let meetings = match app.casework().await {
            Ok(casework) => casework.meetings(&ids),
            Err(e) => return failed(&e),
        };
        match meetings.iter().find(|m| m.get("meeting_id").map(|s| s.trim()) == Some(form.meeting_id.trim())) {
            Some(m) => m.get("case_id").cloned().unwrap_or_default(),
            None => return problem("meeting: choose one of this student's meetings still to be recorded.".into()),
        }
    } else {
        form.case_id.trim().to_string()
    };
    if !cases.iter().any(|c| c.get("case_id") == Some(&case_id)) {
        return problem("case: choose one of this student's cases.".into());
    }
    let by = decisions::By { who: staff_id, at: app.warehouse.clock().now_micros() };
    let review = &app.warehouse.config().review;
    let worked = match form.kind.as_str() {
        "meeting" => {
            let (held, notified) = match (day_field(&form.on, "meeting day"), optional(&form.notified)) {
                (Ok(held), None) => (held, None),
                (Ok(held), Some(n)) => match day_field(&n, "student notified on") {
                    Ok(n) => (held, Some(n)),
                    Err(text) => return problem(text),
                },
                (Err(text), _) => return problem(text),
            };
            let (at, place) = (optional(&form.at), optional(&form.place));
            let plan = procedure::MeetingPlan {
                case_id: &case_id,
                step: None,
                held_on: held,
                time: at.as_deref(),
                place: place.as_deref(),
                attendees: &form.attendees,
                notified,
                note,
            };
            procedure::meeting_row(&ctx, review, &plan, by).await.map(|(row, _)| (tables::CASE_MEETINGS, row))
        }
        "attendance" => procedure::attendance_row(&ctx, form.meeting_id.trim(), form.value.trim(), note, by)
            .await
            .map(|row| (tables::CASE_MEETINGS, row)),
        "decision" => match day_field(&form.notified, "student notified on") {
            Ok(notified) => decisions::decision_row(&ctx, review, &case_id, form.value.trim(), notified, note, by)
                .await
                .map(|(row, _)| (tables::CASE_DECISIONS, row)),
            Err(text) => return problem(text),
        },
        "appeal" => match day_field(&form.on, "appeal lodged on") {
            Ok(lodged) => decisions::appeal_row(&ctx, &case_id, lodged, note, by)
                .await
                .map(|(row, _)| (tables::CASE_DECISIONS, row)),
            Err(text) => return problem(text),
        },
        _ => return problem("choose what to record.".into()),
    };
    let (table, row) = match worked {
        Ok(worked) => worked,
        // A usage error names the field or rule broken (never a value about the student).
        Err(Error::Usage(text)) => return problem(text.replace("--", "")),
        Err(e) => return failed(&e),
    };
    if let Err(e) = app.record(table, row).await {
        return failed(&e);
    }
    let noted = details(&[("page", "student"), ("role", who.role()), ("case_id", &case_id), ("step", &form.kind)]);
    if let Err(e) = audit(&app, "console case step", "ok", noted).await {
        return failed(&e);
    }
    with_cookie(&visit, Redirect::to(&format!("/students/{}?saved=step#cases", super::pages::urlencode(&id))))
}

const ELSEWHERE: &str = "There is no student page here that you can open.";

/// The member of staff recording on `student_id`'s page (and their staff id), if the
/// student is in their scope; otherwise the refusal (logged), the same whether or not the
/// student exists.
async fn staff_on<'v>(
    app: &App,
    visit: &'v Visit,
    student_id: &str,
) -> std::result::Result<(&'v Identity, &'v str), Response> {
    let Some(who @ Identity::Staff { staff_id, .. }) = visit.user() else {
        return Err(refuse(app, visit, StatusCode::NOT_FOUND, "student", "not staff", ELSEWHERE).await);
    };
    match in_scope(app, who, student_id).await {
        Ok(true) => Ok((who, staff_id.as_str())),
        Ok(false) => {
            Err(refuse(app, visit, StatusCode::NOT_FOUND, "student", "outside the user's scope", ELSEWHERE).await)
        }
        Err(e) => Err(failed(&e)),
    }
}

/// A student's report of an absence.
#[derive(Debug, Deserialize)]
pub struct AbsenceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
}

/// `POST /me/absence`: a student reports an absence; it is pending until staff decide.
/// No reason is asked for: the reason for an absence is often health, which the console
/// does not collect; the student's tutor asks if need be.
pub async fn report_absence(State(app): State<Arc<App>>, visit: Visit, Form(form): Form<AbsenceForm>) -> Response {
    if let Err(refused) = check_csrf(&app, &visit, &form.csrf, "me").await {
        return refused;
    }
    let Some(Identity::Student { student_id }) = visit.user() else {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "me", "not a student", "This form is for students.").await;
    };
    let problem = |text: String| message(&app, &visit, StatusCode::BAD_REQUEST, "Not reported", &text);
    let (starts, ends) = match (day_field(&form.starts_on, "first day"), day_field(&form.ends_on, "last day")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(text), _) | (_, Err(text)) => return problem(text),
    };
    if ends < starts {
        return problem("last day: the absence cannot end before it starts.".into());
    }
    if (ends - starts).num_days() >= ABSENCE_LIMIT_DAYS {
        return problem(format!(
            "last day: an absence of {ABSENCE_LIMIT_DAYS} days or more is arranged with your department, not reported here."
        ));
    }
    let reference = format!("ABS-{}", &crate::compliance::disclosure::new_id()[..12]);
    let cells = vec![
        ("student_id", row::text(student_id.as_str())),
        ("starts_on", row::day(Some(date_to_days(starts)))),
        ("ends_on", row::day(Some(date_to_days(ends)))),
        ("kind", row::text(REPORTED)),
        ("reference", row::text(reference.as_str())),
        ("ingested_at", row::instant(Some(app.warehouse.clock().now_micros()))),
    ];
    if let Err(e) = app.record(tables::ABSENCES, cells).await {
        return failed(&e);
    }
    if let Err(e) = audit(&app, "console absence reported", "ok", details(&[("reference", &reference)])).await {
        return failed(&e);
    }
    with_cookie(&visit, Redirect::to("/me?saved=absence"))
}

/// The kind of an absence a student reported, before staff decide.
const REPORTED: &str = "reported";

/// Staff's decision on a reported absence.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    decision: String,
}

/// `POST /students/{id}/absence`: a member of staff authorises or declines an absence the
/// student reported. An authorised absence excuses the sessions it covers from then on.
pub async fn decide_absence(
    State(app): State<Arc<App>>,
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    if let Err(refused) = check_csrf(&app, &visit, &form.csrf, "student").await {
        return refused;
    }
    let (who, _) = match staff_on(&app, &visit, &id).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let problem = |text: &str| message(&app, &visit, StatusCode::BAD_REQUEST, "Not recorded", text);
    let kind = match form.decision.as_str() {
        "authorised" => app.warehouse.config().rating.excusing_absence_kinds.first().cloned().unwrap_or_default(),
        "declined" => "declined".to_string(),
        _ => return problem("decision: authorise or decline."),
    };
    let absences = match absences_of(&app, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&e),
    };
    let Some(absence) = absences.iter().find(|a| a.reference == form.reference && a.decision.is_empty()) else {
        return problem("reference: this absence is not waiting for a decision.");
    };
    let cells = vec![
        ("student_id", row::text(id.as_str())),
        ("starts_on", row::day(Some(date_to_days(absence.starts_on)))),
        ("ends_on", row::day(Some(date_to_days(absence.ends_on)))),
        ("kind", row::text(kind.as_str())),
        ("reference", row::text(absence.reference.as_str())),
        ("ingested_at", row::instant(Some(app.warehouse.clock().now_micros()))),
    ];
    if let Err(e) = app.record(tables::ABSENCES, cells).await {
        return failed(&e);
    }
    let noted = details(&[("role", who.role()), ("reference", &absence.reference), ("decision", &form.decision)]);
    if let Err(e) = audit(&app, "console absence decided", "ok", noted).await {
        return failed(&e);
    }
    with_cookie(&visit, Redirect::to(&format!("/students/{}?saved=absence", super::pages::urlencode(&id))))
}

/// An absence a student reported, with staff's decision (empty: pending).
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Reported {
    reference: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    decision: String,
}

/// The absences a student reported, from the table and the queue.
pub(super) async fn absences_of(app: &App, student_id: &str) -> Result<Vec<Reported>> {
    let casework = app.casework().await?;
    let mut out: Vec<Reported> = casework
        .absences_of(student_id)
        .iter()
        .map(|r| {
            let day = |k: &str| r.get(k).and_then(|d| d.parse().ok()).unwrap_or_default();
            Reported {
                reference: r.get("reference").cloned().unwrap_or_default(),
                starts_on: day("starts_on"),
                ends_on: day("ends_on"),
                decision: r.get("decision").cloned().unwrap_or_default(),
            }
        })
        .collect();
    let day = |e: &Entry, c: &str| {
        e.cells
            .get(c)
            .and_then(|v| v.as_i64())
            .and_then(|d| i32::try_from(d).ok())
            .map(days_to_date)
            .unwrap_or_default()
    };
    for entry in app.waiting("absences").iter().filter(|e| e.text("student_id") == Some(student_id)) {
        let reference = entry.text("reference").unwrap_or_default().to_string();
        match entry.text("kind") {
            Some(REPORTED) => out.insert(
                0,
                Reported {
                    reference,
                    starts_on: day(entry, "starts_on"),
                    ends_on: day(entry, "ends_on"),
                    decision: String::new(),
                },
            ),
            Some(kind) => {
                if let Some(a) = out.iter_mut().find(|a| a.reference == reference) {
                    a.decision = kind.to_string();
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// The UKVI dashboard's day and filter.
#[derive(Debug, Deserialize)]
pub struct UkviQuery {
    #[serde(default)]
    as_of: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// Dashboard lines per page.
const LINES_PER_PAGE: usize = 100;

/// Where a sponsored student stands, most urgent first.
const STATUSES: &[(&str, &str)] = &[
    ("overdue", "Overdue"),
    ("crossed", "Threshold crossed"),
    ("at-risk", "At risk"),
    ("reported", "Reported"),
    ("compliant", "Compliant"),
];

/// One line of the dashboard.
#[derive(Debug, Clone, serde::Serialize)]
struct Line {
    status: &'static str,
    label: &'static str,
    student_id: String,
    name: String,
    cas_number: String,
    department: String,
    event: String,
    trigger_date: String,
    report_by: String,
    rule: String,
    last_engaged: String,
    quiet_days: String,
    missed_sessions: String,
    reported_on: String,
}

/// The day a dashboard is for: the one asked for, else the latest day rated, else today.
async fn dashboard_day(app: &App, asked: Option<&str>) -> std::result::Result<NaiveDate, String> {
    if let Some(asked) = asked.filter(|a| !a.trim().is_empty()) {
        return day_field(asked, "day");
    }
    let latest = app.index().await.ok().and_then(|index| index.latest_day());
    Ok(latest.map(days_to_date).unwrap_or_else(|| today(app)))
}

/// The UKVI return's lines as of a day, less those marked reported since it was worked out
/// (in the table or still queued).
async fn outstanding(app: &App, as_of: NaiveDate) -> Result<Vec<BTreeMap<String, String>>> {
    let figures = figures(app, as_of).await?;
    let reported = rows(&read(app, "console/ukvi_reported", &[]).await?);
    Ok(unreported(&figures.events, &reported, &queued_marks(app)))
}

/// The reports marked and still queued: (student, event, trigger date).
fn queued_marks(app: &App) -> Vec<(String, String, String)> {
    app.waiting("ukvi_reports")
        .iter()
        .map(|e| {
            let trigger = e.cells.get("trigger_date").and_then(|v| v.as_i64()).and_then(|d| i32::try_from(d).ok());
            (
                e.text("student_id").unwrap_or_default().to_string(),
                e.text("event").unwrap_or_default().to_string(),
                trigger.map(|d| days_to_date(d).to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

/// Lines of the return, less those in `reported` (rows of `console/ukvi_reported`) and
/// those `queued` ([`queued_marks`]).
fn unreported(
    lines: &[BTreeMap<String, String>],
    reported: &[BTreeMap<String, String>],
    queued: &[(String, String, String)],
) -> Vec<BTreeMap<String, String>> {
    let key = |l: &BTreeMap<String, String>, k: &str| l.get(k).cloned().unwrap_or_default();
    let mut marked: HashSet<(String, String, String)> =
        reported.iter().map(|r| (key(r, "student_id"), key(r, "event"), key(r, "trigger_date"))).collect();
    marked.extend(queued.iter().cloned());
    lines
        .iter()
        .filter(|l| !marked.contains(&(key(l, "student_id"), key(l, "event"), key(l, "trigger_date"))))
        .cloned()
        .collect()
}

/// Works out the dashboard's figures for the day it opens on, so that its first page after
/// a job does not wait for them.
pub(super) async fn prepare_dashboard(app: &App) -> Result<()> {
    let as_of = dashboard_day(app, None).await.map_err(Error::Internal)?;
    figures(app, as_of).await.map(|_| ())
}

/// `GET /ukvi`: the compliance officer's dashboard: every sponsored student's status as of
/// a day, overdue reports first, each outstanding event with its report-by day and a button
/// to mark it reported.
pub async fn ukvi(State(app): State<Arc<App>>, visit: Visit, Query(q): Query<UkviQuery>) -> Response {
    let Some(who) = visit.user() else { return with_cookie(&visit, Redirect::to("/login")) };
    if !who.has("compliance") {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "ukvi", "not a compliance officer", COMPLIANCE_ONLY).await;
    }
    let as_of = match dashboard_day(&app, q.as_of.as_deref()).await {
        Ok(d) => d,
        Err(text) => return message(&app, &visit, StatusCode::BAD_REQUEST, "Not shown", &text),
    };
    let (lines, bodies) = match dashboard(&app, as_of).await {
        Ok(drawn) => drawn,
        Err(e) => return failed(&e),
    };
    let counts: Vec<(&str, &str, usize)> =
        STATUSES.iter().map(|(k, label)| (*k, *label, lines.iter().filter(|l| l.status == *k).count())).collect();
    let status = q.status.unwrap_or_default();
    let matching: Vec<&Line> = lines.iter().filter(|l| status.is_empty() || l.status == status).collect();
    let pages = matching.len().div_ceil(LINES_PER_PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let shown: Vec<&Line> = matching.iter().skip((page - 1) * LINES_PER_PAGE).take(LINES_PER_PAGE).copied().collect();
    let mut noted = details(&[("page", "ukvi"), ("role", who.role())]);
    noted.insert("students".into(), serde_json::Value::from(shown.len()));
    if let Err(e) = audit(&app, "console view", "ok", noted).await {
        return failed(&e);
    }
    let config = &app.warehouse.config().ukvi;
    let page = render(
        &app,
        "ukvi.html",
        context! {
            as_of => as_of.to_string(),
            today => today(&app).to_string(),
            lines => shown,
            matching => matching.len(),
            page,
            pages,
            bodies,
            counts,
            status,
            saved => q.saved.is_some(),
            rule => config.engagement_rule.as_str(),
            threshold => config.engagement_threshold,
            within => config.report_within_working_days,
            user => user_context(&visit),
            csrf => &visit.session.csrf,
        },
    );
    with_cookie(&visit, page)
}

const COMPLIANCE_ONLY: &str = "This page is for the compliance officer.";

/// The tables the dashboard's figures are worked out from. `ukvi_reports` is not among
/// them: reports marked since are taken off when a page is drawn, so marking one does not
/// work the year out again.
pub(super) const UKVI_TABLES: &[&str] = &[
    "students",
    "status_periods",
    "daily_activity",
    "swipe_outcomes",
    "absences",
    "terms",
    "sessions",
    "class_lists",
    "bank_holidays",
];

/// What the dashboard is drawn from, as the tables stand: worked out once for each state
/// of [`UKVI_TABLES`] and day (the return's query reads the whole year), then the reports
/// marked since (recorded or still queued) are taken off it.
#[derive(Debug)]
pub(super) struct Figures {
    watch: Vec<BTreeMap<String, String>>,
    events: Vec<BTreeMap<String, String>>,
    /// The funding bodies students are funded by (a return to download for each).
    bodies: Vec<String>,
    /// The dashboard's lines drawn from these, for the reports marked when they were drawn.
    lines: std::sync::Mutex<Option<(Marked, Arc<Vec<Line>>)>>,
}

/// What the reports marked were when a dashboard's lines were drawn: the state of
/// `ukvi_reports`, the marks still queued, and the day (a queued mark is dated today).
type Marked = (u64, Vec<(String, String, String)>, NaiveDate);

/// The figures for a day, from the cache or worked out (one at a time: users asking at
/// once wait for the one working them out).
async fn figures(app: &App, as_of: NaiveDate) -> Result<Arc<Figures>> {
    let mut cache = app.dashboards.lock().await;
    let state = app.fingerprint_of(UKVI_TABLES.iter().copied());
    if let Some((_, _, figures)) = cache.iter().find(|(s, d, _)| *s == state && *d == as_of) {
        return Ok(figures.clone());
    }
    let config = app.warehouse.config();
    let watch_params =
        [("as_of", cells::date(date_to_days(as_of))), ("excusing", ScalarValue::from(config.rating.excusing_kinds()))];
    let params = crate::returns::ukvi_params(config, as_of);
    let figures = Arc::new(Figures {
        watch: rows(&read(app, "console/ukvi_watch", &watch_params).await?),
        events: rows(&read(app, "returns/ukvi", &params).await?),
        bodies: rows(&read(app, "console/funding_bodies", &[]).await?)
            .into_iter()
            .filter_map(|r| r.get("funding_body").cloned())
            .collect(),
        lines: std::sync::Mutex::new(None),
    });
    cache.retain(|(s, _, _)| *s == state);
    cache.truncate(7);
    cache.push((state, as_of, figures.clone()));
    Ok(figures)
}

/// Every sponsored student's line(s) as of a day, most urgent first (drawn again only when
/// the figures or the reports marked have changed), and the funding bodies.
async fn dashboard(app: &App, as_of: NaiveDate) -> Result<(Arc<Vec<Line>>, Vec<String>)> {
    let figures = figures(app, as_of).await?;
    let marked: Marked = (app.fingerprint_of(["ukvi_reports"]), queued_marks(app), today(app));
    if let Some((seen, lines)) = figures.lines.lock().expect("dashboard lines").as_ref()
        && *seen == marked
    {
        return Ok((lines.clone(), figures.bodies.clone()));
    }
    let lines = Arc::new(draw_dashboard(app, &figures, &marked.1).await?);
    *figures.lines.lock().expect("dashboard lines") = Some((marked, lines.clone()));
    Ok((lines, figures.bodies.clone()))
}

/// The dashboard's lines from its figures, the reports marked in `ukvi_reports` and those
/// still `queued` (student, event, trigger date).
async fn draw_dashboard(app: &App, figures: &Figures, queued: &[(String, String, String)]) -> Result<Vec<Line>> {
    let config = &app.warehouse.config();
    let watch = &figures.watch;
    let marked = rows(&read(app, "console/ukvi_reported", &[]).await?);
    let events = unreported(&figures.events, &marked, queued);
    let mut reported: BTreeMap<String, String> = BTreeMap::new();
    for r in &marked {
        let (id, on) = (r.get("student_id").cloned().unwrap_or_default(), r.get("reported_on").cloned());
        reported.entry(id).or_insert(on.unwrap_or_default());
    }
    for (student_id, _, _) in queued {
        reported.insert(student_id.clone(), today(app).to_string());
    }
    let mut by_student: BTreeMap<&str, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
    for e in &events {
        by_student.entry(e.get("student_id").map(String::as_str).unwrap_or_default()).or_default().push(e);
    }
    let threshold = i64::from(config.ukvi.engagement_threshold);
    let by_sessions = config.ukvi.engagement_rule.as_str() == "missed-contact-points";
    let mut lines = Vec::new();
    for w in watch {
        let get = |k: &str| w.get(k).cloned().unwrap_or_default();
        let id = get("student_id");
        let base = Line {
            status: "compliant",
            label: "",
            student_id: id.clone(),
            name: get("name"),
            cas_number: get("cas_number"),
            department: get("department"),
            event: String::new(),
            trigger_date: String::new(),
            report_by: String::new(),
            rule: String::new(),
            last_engaged: get("last_engaged"),
            quiet_days: get("quiet_days"),
            missed_sessions: get("missed_sessions"),
            reported_on: reported.get(&id).cloned().unwrap_or_default(),
        };
        let mine = by_student.get(id.as_str()).cloned().unwrap_or_default();
        if mine.is_empty() {
            let measure: i64 = get(if by_sessions { "missed_sessions" } else { "quiet_days" }).parse().unwrap_or(0);
            let status = if get("status") == "active" && measure * 2 >= threshold {
                "at-risk"
            } else if !base.reported_on.is_empty() {
                "reported"
            } else {
                "compliant"
            };
            lines.push(Line { status, ..base });
            continue;
        }
        for e in mine {
            let get = |k: &str| e.get(k).cloned().unwrap_or_default();
            let status = if get("overdue") == "yes" { "overdue" } else { "crossed" };
            lines.push(Line {
                status,
                event: get("event"),
                trigger_date: get("trigger_date"),
                report_by: get("report_by"),
                rule: get("rule"),
                ..base.clone()
            });
        }
    }
    for line in &mut lines {
        line.label = STATUSES.iter().find(|(k, _)| *k == line.status).map(|(_, l)| *l).unwrap_or_default();
    }
    let rank = |s: &str| STATUSES.iter().position(|(k, _)| *k == s).unwrap_or(STATUSES.len());
    lines.sort_by(|a, b| {
        (rank(a.status), &a.report_by, &a.student_id).cmp(&(rank(b.status), &b.report_by, &b.student_id))
    });
    Ok(lines)
}

/// The form that marks an event reported.
#[derive(Debug, Deserialize)]
pub struct ReportedForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    student_id: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    trigger_date: String,
    #[serde(default)]
    as_of: String,
}

/// `POST /ukvi/reported`: the compliance officer marks an outstanding event as reported to
/// the Home Office today: the same record `rollcall return ukvi --record` makes (a
/// `ukvi_reports` row, so later returns do not list it again, and a disclosure to the Home
/// Office in the disclosure log).
pub async fn ukvi_reported(State(app): State<Arc<App>>, visit: Visit, Form(form): Form<ReportedForm>) -> Response {
    if let Err(refused) = check_csrf(&app, &visit, &form.csrf, "ukvi").await {
        return refused;
    }
    let Some(who @ Identity::Staff { staff_id, .. }) = visit.user() else {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "ukvi", "not a compliance officer", COMPLIANCE_ONLY).await;
    };
    if !who.has("compliance") {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "ukvi", "not a compliance officer", COMPLIANCE_ONLY).await;
    }
    let problem = |text: &str| message(&app, &visit, StatusCode::BAD_REQUEST, "Not recorded", text);
    let as_of = match day_field(&form.as_of, "day") {
        Ok(d) => d,
        Err(text) => return problem(&text),
    };
    let lines = match outstanding(&app, as_of).await {
        Ok(lines) => lines,
        Err(e) => return failed(&e),
    };
    let key = |l: &BTreeMap<String, String>, k: &str| l.get(k).cloned().unwrap_or_default();
    let Some(line) = lines.iter().find(|l| {
        key(l, "student_id") == form.student_id
            && key(l, "event") == form.event
            && key(l, "trigger_date") == form.trigger_date
    }) else {
        return problem("This event is not outstanding on that day: it may already be marked reported.");
    };
    let trigger = key(line, "trigger_date").parse::<NaiveDate>().ok().map(date_to_days);
    let now = app.warehouse.clock().now_micros();
    let on = today(&app);
    let by = staff_id.clone();
    let report = crate::returns::reported_cells(&form.student_id, &form.event, trigger, on, &by, now);
    let disclosure = crate::compliance::disclosure::Disclosure {
        student_id: form.student_id.clone(),
        recipient: "Home Office (UKVI)".into(),
        legal_basis: "legal-obligation".into(),
        purpose: "sponsor reporting duty".into(),
        fields: crate::returns::UKVI_FIELDS.into(),
        disclosed_on: on,
        source: "console ukvi reported".into(),
        consent_id: None,
    };
    let disclosure_id = crate::compliance::disclosure::disclosure_id();
    // The disclosure first: a report marked without its disclosure would hide a sending.
    if let Err(e) = app.record(tables::DISCLOSURES, disclosure.cells(&disclosure_id, &by, now)).await {
        return failed(&e);
    }
    if let Err(e) = app.record(tables::UKVI_REPORTS, report).await {
        return failed(&e);
    }
    let noted = details(&[("page", "ukvi"), ("role", who.role()), ("disclosure_id", &disclosure_id)]);
    if let Err(e) = audit(&app, "console ukvi reported", "ok", noted).await {
        return failed(&e);
    }
    with_cookie(&visit, Redirect::to(&format!("/ukvi?as_of={as_of}&saved=1")))
}

/// `GET /ukvi/return.xlsx`: the UKVI return as of a day, as a workbook (events marked
/// reported are not in it, as in `rollcall return ukvi`).
pub async fn ukvi_workbook(State(app): State<Arc<App>>, visit: Visit, Query(q): Query<UkviQuery>) -> Response {
    let Some(who) = visit.user() else { return with_cookie(&visit, Redirect::to("/login")) };
    if !who.has("compliance") {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "ukvi", "not a compliance officer", COMPLIANCE_ONLY).await;
    }
    let as_of = match dashboard_day(&app, q.as_of.as_deref()).await {
        Ok(d) => d,
        Err(text) => return message(&app, &visit, StatusCode::BAD_REQUEST, "Not made", &text),
    };
    let params = crate::returns::ukvi_params(app.warehouse.config(), as_of);
    let frame = match app.tables().await {
        Ok(ctx) => crate::queries::plan(&ctx, "returns/ukvi", &params).await,
        Err(e) => Err(e),
    };
    let made = async {
        let frame = frame?;
        let schema = frame.schema().as_arrow().clone();
        let batches = frame.collect().await.map_err(|e| Error::query("returns/ukvi", e))?;
        // Lines marked reported from the console and still queued are left out too.
        let keep: Vec<String> = outstanding(&app, as_of)
            .await?
            .iter()
            .map(|l| format!("{:?}", (l.get("student_id"), l.get("event"), l.get("trigger_date"))))
            .collect();
        let all = rows(&batches);
        let mask: Vec<bool> = all
            .iter()
            .map(|l| keep.contains(&format!("{:?}", (l.get("student_id"), l.get("event"), l.get("trigger_date")))))
            .collect();
        let batch = arrow::compute::concat_batches(&std::sync::Arc::new(schema.clone()), &batches)?;
        let batch = arrow::compute::filter_record_batch(&batch, &arrow::array::BooleanArray::from(mask))?;
        let n = batch.num_rows();
        Ok::<_, Error>((crate::report::xlsx::workbook(&schema, &[batch])?, n))
    };
    let (bytes, n) = match made.await {
        Ok(made) => made,
        Err(e) => return failed(&e),
    };
    let mut noted = details(&[("page", "ukvi return"), ("role", who.role())]);
    noted.insert("rows".into(), serde_json::Value::from(n));
    if let Err(e) = audit(&app, "console download", "ok", noted).await {
        return failed(&e);
    }
    let disposition = format!("attachment; filename=\"ukvi-{as_of}.xlsx\"");
    let headers = [
        (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    with_cookie(&visit, (headers, bytes).into_response())
}

/// Which funding body's return, and as of which day.
#[derive(Debug, Deserialize)]
pub struct FunderQuery {
    #[serde(default)]
    body: String,
    #[serde(default)]
    as_of: Option<String>,
}

/// `GET /ukvi/funder.xlsx?body=BODY`: a funding body's return as of a day, as a workbook
/// (as `rollcall return funder` without `--record`: nothing is logged as sent). It is
/// planned on a session of its own (the return adds its liability periods as a table).
pub async fn funder_workbook(State(app): State<Arc<App>>, visit: Visit, Query(q): Query<FunderQuery>) -> Response {
    let Some(who) = visit.user() else { return with_cookie(&visit, Redirect::to("/login")) };
    if !who.has("compliance") {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "ukvi", "not a compliance officer", COMPLIANCE_ONLY).await;
    }
    let as_of = match dashboard_day(&app, q.as_of.as_deref()).await {
        Ok(d) => d,
        Err(text) => return message(&app, &visit, StatusCode::BAD_REQUEST, "Not made", &text),
    };
    let bodies = match read(&app, "console/funding_bodies", &[]).await {
        Ok(b) => rows(&b).into_iter().filter_map(|r| r.get("funding_body").cloned()).collect::<Vec<_>>(),
        Err(e) => return failed(&e),
    };
    if !bodies.contains(&q.body) {
        return message(
            &app,
            &visit,
            StatusCode::BAD_REQUEST,
            "Not made",
            "body: choose one of the funding bodies listed.",
        );
    }
    let made = async {
        let ctx = crate::engine::session::build(
            &app.warehouse,
            crate::engine::session::Access::Internal { with_equality: false },
        )
        .await?;
        let frame = crate::returns::funder_frame(&ctx, &app.warehouse.config().funder, &q.body, as_of).await?;
        let schema = frame.schema().as_arrow().clone();
        let batches = frame.collect().await.map_err(|e| Error::query("returns/funder", e))?;
        let n: usize = batches.iter().map(|b| b.num_rows()).sum();
        Ok::<_, Error>((crate::report::xlsx::workbook(&schema, &batches)?, n))
    };
    let (bytes, n) = match made.await {
        Ok(made) => made,
        Err(e) => return failed(&e),
    };
    let mut noted = details(&[("page", "funder return"), ("role", who.role())]);
    noted.insert("rows".into(), serde_json::Value::from(n));
    if let Err(e) = audit(&app, "console download", "ok", noted).await {
        return failed(&e);
    }
    let safe: String = q.body.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let headers = [
        (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"funder-{safe}-{as_of}.xlsx\"")),
    ];
    with_cookie(&visit, (headers, bytes).into_response())
}

/// The progress team's filters.
#[derive(Debug, Deserialize)]
pub struct CasesQuery {
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    all: Option<String>,
}

/// `GET /cases`: every case (open ones by default), filtered by stage and department, for
/// the progress team; a department lead sees their department's.
pub async fn cases(State(app): State<Arc<App>>, visit: Visit, Query(q): Query<CasesQuery>) -> Response {
    let Some(who @ Identity::Staff { department: own, .. }) = visit.user() else {
        return with_cookie(&visit, Redirect::to("/login"));
    };
    let department = if who.has("progress") {
        q.department.clone().unwrap_or_default()
    } else if who.has("department-lead") {
        own.clone()
    } else {
        return refuse(
            &app,
            &visit,
            StatusCode::FORBIDDEN,
            "cases",
            "role works no case list",
            "This page is for the progress team and department leads.",
        )
        .await;
    };
    let stage: i64 = q.stage.as_deref().and_then(|s| s.parse().ok()).filter(|s| *s >= 0).unwrap_or(-1);
    let open_only = q.all.is_none();
    let params = [
        ("stage", ScalarValue::Int64(Some(stage))),
        ("department", ScalarValue::from(department.as_str())),
        ("open_only", ScalarValue::Boolean(Some(open_only))),
    ];
    let (list, choices) =
        match (read(&app, "console/cases", &params).await, read(&app, "console/case_choices", &[]).await) {
            (Ok(list), Ok(choices)) => (rows(&list), rows(&choices)),
            (Err(e), _) | (_, Err(e)) => return failed(&e),
        };
    let mut departments: Vec<String> = choices.iter().filter_map(|c| c.get("department").cloned()).collect();
    departments.dedup();
    let mut stages: Vec<i64> = choices.iter().filter_map(|c| c.get("stage")?.parse().ok()).collect();
    stages.sort_unstable();
    stages.dedup();
    let mut noted = details(&[("page", "cases"), ("role", who.role())]);
    noted.insert("cases".into(), serde_json::Value::from(list.len()));
    if let Err(e) = audit(&app, "console view", "ok", noted).await {
        return failed(&e);
    }
    let page = render(
        &app,
        "cases.html",
        context! {
            cases => list,
            departments,
            stages,
            department,
            stage,
            open_only,
            everyone => who.has("progress"),
            user => user_context(&visit),
            csrf => &visit.session.csrf,
        },
    );
    with_cookie(&visit, page)
}

/// The outcomes staff may record, for the form.
pub(super) fn outcomes() -> Vec<&'static str> {
    crate::config::OUTCOMES.to_vec()
}
