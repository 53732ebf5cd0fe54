//! The data-protection officer's pages: subject-access requests as a register (received,
//! due one calendar month later, extended by up to two further months, exported,
//! answered), the export run from the page and downloaded, the disclosure log, consents in
//! force, legal holds, what a retention purge would erase today, and the audit trail's
//! verification. And a student's download of their own data.
//!
//! Due dates follow the ICO's guidance on the time limit for a subject-access request
//! (UK GDPR article 12(3)): one calendar month from the day the request is received, to
//! the corresponding day of the next month (the month's last day where it has none); where
//! that day is a weekend or a bank holiday, the next working day. An extension (complex or
//! numerous requests) adds two further months.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Months, NaiveDate};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::App;
use super::pages::{
    Visit, audit, check_csrf, details, failed, message, read, refuse, render, rows, user_context, with_cookie,
};
use super::sessions::Identity;
use crate::domain::time::date_to_days;
use crate::engine::cells;
use crate::error::{Error, Result};
use crate::warehouse::row;
use crate::warehouse::tables;

const DPO_ONLY: &str = "This page is for the data-protection officer.";

/// The steps a request goes through.
const STEPS: &[&str] = &["received", "extended", "exported", "answered"];

/// One request in the register.
#[derive(Debug, Clone, Serialize)]
struct Request {
    request_ref: String,
    student_id: String,
    received_on: String,
    due_on: String,
    extended_on: String,
    extension_note: String,
    exported_on: String,
    answered_on: String,
    status: &'static str,
    exported: bool,
}

/// The day a month (or three, extended) after `received`, moved past weekends and bank
/// holidays.
fn due(received: NaiveDate, extended: bool, holidays: &BTreeSet<NaiveDate>) -> NaiveDate {
    let months = if extended { 3 } else { 1 };
    let mut day = received.checked_add_months(Months::new(months)).unwrap_or(received);
    while day.weekday().num_days_from_monday() >= 5 || holidays.contains(&day) {
        day = day.succ_opt().unwrap_or(day);
    }
    day
}

async fn holidays(app: &App) -> Result<BTreeSet<NaiveDate>> {
    let found = read(app, "engine/bank_holidays", &[]).await?;
    Ok(rows(&found).iter().filter_map(|r| r.get("date")?.parse().ok()).collect())
}

async fn register(app: &App) -> Result<Vec<Request>> {
    let holidays = holidays(app).await?;
    let today = app.warehouse.clock().today();
    let mut out = Vec::new();
    for r in rows(&read(app, "console/sar_register", &[]).await?) {
        let get = |k: &str| r.get(k).cloned().unwrap_or_default();
        let Ok(received) = get("received_on").parse::<NaiveDate>() else { continue };
        let due_on = due(received, !get("extended_on").is_empty(), &holidays);
        let status = if !get("answered_on").is_empty() {
            "answered"
        } else if due_on < today {
            "overdue"
        } else {
            "open"
        };
        out.push(Request {
            request_ref: get("request_ref"),
            student_id: get("student_id"),
            received_on: get("received_on"),
            due_on: due_on.to_string(),
            extended_on: get("extended_on"),
            extension_note: get("extension_note"),
            exported_on: get("exported_on"),
            answered_on: get("answered_on"),
            status,
            exported: export_dir(app, &get("request_ref")).join("index.html").is_file(),
        });
    }
    // Overdue first, then open by due day, then answered.
    let rank = |s: &str| ["overdue", "open", "answered"].iter().position(|k| *k == s).unwrap_or(3);
    out.sort_by(|a, b| (rank(a.status), &a.due_on).cmp(&(rank(b.status), &b.due_on)));
    Ok(out)
}

/// Where the console keeps a request's export (inside the warehouse: it is personal data
/// under the same protection, and erased with the student).
fn export_dir(app: &App, request_ref: &str) -> PathBuf {
    let safe: String = request_ref.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    app.warehouse.root().join("console").join("sar").join(safe)
}

/// The page's optional message.
#[derive(Debug, Deserialize)]
pub struct DpoQuery {
    #[serde(default)]
    done: Option<String>,
}

fn dpo_only(visit: &Visit) -> bool {
    visit.user().is_some_and(|who| who.has("dpo"))
}

/// `GET /dpo`: the data-protection officer's page.
pub async fn page(State(app): State<Arc<App>>, visit: Visit, Query(q): Query<DpoQuery>) -> Response {
    if visit.user().is_none() {
        return with_cookie(&visit, Redirect::to("/login"));
    }
    if !dpo_only(&visit) {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "dpo", "not the data-protection officer", DPO_ONLY).await;
    }
    let today = app.warehouse.clock().today();
    let gathered = async {
        let register = register(&app).await?;
        let disclosures = rows(&read(&app, "console/dpo_disclosures", &[]).await?);
        let on = [("on", cells::date(date_to_days(today)))];
        let consents = rows(&read(&app, "console/dpo_consents", &on).await?);
        let holds = rows(&read(&app, "console/dpo_holds", &[]).await?);
        let preview = crate::compliance::retention::preview(app.tables().await?.as_ref(), today).await?;
        Ok::<_, Error>((register, disclosures, consents, holds, preview))
    };
    let (register, disclosures, consents, holds, preview) = match gathered.await {
        Ok(g) => g,
        Err(e) => return failed(&e),
    };
    let who = visit.user().map(Identity::role).unwrap_or_default();
    if let Err(e) = audit(&app, "console view", "ok", details(&[("page", "dpo"), ("role", who)])).await {
        return failed(&e);
    }
    let html = render(
        &app,
        "dpo.html",
        context! {
            register,
            disclosures,
            consents,
            holds,
            preview,
            today => today.to_string(),
            done => q.done,
            user => user_context(&visit),
            csrf => &visit.session.csrf,
        },
    );
    with_cookie(&visit, html)
}

/// A new request.
#[derive(Debug, Deserialize)]
pub struct NewRequest {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    student_id: String,
    #[serde(default)]
    received_on: String,
}

/// `POST /dpo/requests`: a subject-access request received.
pub async fn new_request(State(app): State<Arc<App>>, visit: Visit, Form(form): Form<NewRequest>) -> Response {
    if let Err(refused) = check_csrf(&app, &visit, &form.csrf, "dpo").await {
        return refused;
    }
    let Some(Identity::Staff { staff_id, .. }) = visit.user().filter(|_| dpo_only(&visit)) else {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "dpo", "not the data-protection officer", DPO_ONLY).await;
    };
    let problem = |text: &str| message(&app, &visit, StatusCode::BAD_REQUEST, "Not recorded", text);
    let student = form.student_id.trim();
    if student.is_empty() || student.len() > 64 {
        return problem("student number: give the student number the request is about.");
    }
    let received = match NaiveDate::parse_from_str(form.received_on.trim(), "%Y-%m-%d") {
        Ok(d) if d <= app.warehouse.clock().today() => d,
        Ok(_) => return problem("received on: a request cannot be received on a day still to come."),
        Err(_) => return problem("received on: give a date as YYYY-MM-DD."),
    };
    let request_ref = format!("R-{}", &crate::compliance::disclosure::new_id()[..10]);
    if let Err(e) = step(&app, &request_ref, student, "received", received, None, staff_id).await {
        return failed(&e);
    }
    with_cookie(&visit, Redirect::to("/dpo?done=received"))
}

async fn step(
    app: &Arc<App>,
    request_ref: &str,
    student_id: &str,
    step: &str,
    on: NaiveDate,
    note: Option<&str>,
    by: &str,
) -> Result<()> {
    let mut cells = vec![
        ("request_ref", row::text(request_ref)),
        ("student_id", row::text(student_id)),
        ("step", row::text(step)),
        ("on", row::day(Some(date_to_days(on)))),
        ("recorded_by", row::text(by)),
        ("recorded_at", row::instant(Some(app.warehouse.clock().now_micros()))),
    ];
    cells.extend(note.map(|n| ("note", row::text(n))));
    app.record(tables::SAR_LOG, cells).await?;
    audit(app, "console subject-access request", "ok", details(&[("request", request_ref), ("step", step)])).await
}

/// A step on a request.
#[derive(Debug, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    note: String,
}

/// `POST /dpo/requests/{ref}`: extend (with the reason), run the export, or mark answered.
pub async fn request_step(
    State(app): State<Arc<App>>,
    visit: Visit,
    Path(request_ref): Path<String>,
    Form(form): Form<StepForm>,
) -> Response {
    if let Err(refused) = check_csrf(&app, &visit, &form.csrf, "dpo").await {
        return refused;
    }
    let Some(Identity::Staff { staff_id, .. }) = visit.user().filter(|_| dpo_only(&visit)) else {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "dpo", "not the data-protection officer", DPO_ONLY).await;
    };
    let problem = |text: &str| message(&app, &visit, StatusCode::BAD_REQUEST, "Not recorded", text);
    let request = match register(&app).await {
        Ok(all) => all.into_iter().find(|r| r.request_ref == request_ref),
        Err(e) => return failed(&e),
    };
    let Some(request) = request else { return problem("There is no such request in the register.") };
    if !STEPS.contains(&form.step.as_str()) || form.step == "received" {
        return problem("step: extend, export or answer.");
    }
    let today = app.warehouse.clock().today();
    let note = form.note.trim();
    match form.step.as_str() {
        "extended" if !request.extended_on.is_empty() => return problem("This request has already been extended."),
        "extended" if note.is_empty() => {
            return problem("reason: say why the request needs longer (complex, or one of many from the student).");
        }
        "exported" => {
            let dir = export_dir(&app, &request.request_ref);
            let warehouse = app.warehouse.clone();
            let student = request.student_id.clone();
            if let Err(e) = crate::compliance::sar::export(&warehouse, &student, &dir).await {
                return failed(&e);
            }
        }
        // What was sent is not kept: the register keeps the dates, the copy goes.
        "answered" => {
            let dir = export_dir(&app, &request.request_ref);
            if dir.exists()
                && let Err(e) = std::fs::remove_dir_all(&dir)
            {
                return failed(&Error::io(&dir, e));
            }
        }
        _ => {}
    }
    let note = (!note.is_empty()).then_some(note);
    if let Err(e) = step(&app, &request.request_ref, &request.student_id, &form.step, today, note, staff_id).await {
        return failed(&e);
    }
    with_cookie(&visit, Redirect::to(&format!("/dpo?done={}", form.step)))
}

/// `GET /dpo/requests/{ref}/export.zip`: a request's export, as one file to send.
pub async fn request_export(State(app): State<Arc<App>>, visit: Visit, Path(request_ref): Path<String>) -> Response {
    if !dpo_only(&visit) {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "dpo", "not the data-protection officer", DPO_ONLY).await;
    }
    let dir = export_dir(&app, &request_ref);
    if !dir.join("index.html").is_file() {
        return message(&app, &visit, StatusCode::NOT_FOUND, "Not found", "Run the export first.");
    }
    let bytes = match zipped(&dir) {
        Ok(b) => b,
        Err(e) => return failed(&e),
    };
    let noted = details(&[("page", "subject-access export"), ("role", "dpo"), ("request", &request_ref)]);
    if let Err(e) = audit(&app, "console download", "ok", noted).await {
        return failed(&e);
    }
    download(&visit, bytes, &format!("subject-access-{request_ref}.zip"))
}

/// `GET /me/data.zip`: a student's own subject-access export.
pub async fn own_data(State(app): State<Arc<App>>, visit: Visit) -> Response {
    let Some(Identity::Student { student_id }) = visit.user() else {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "me", "not a student", "This download is for students.")
            .await;
    };
    let dir = app
        .warehouse
        .root()
        .join("console")
        .join("sar")
        .join(format!("own-{}", &crate::compliance::disclosure::new_id()[..12]));
    let made = async {
        let report = crate::compliance::sar::export(&app.warehouse, student_id, &dir).await?;
        let bytes = zipped(&dir)?;
        Ok::<_, Error>((report, bytes))
    };
    let outcome = made.await;
    // The copy on the server goes as soon as it is sent.
    let _ = std::fs::remove_dir_all(&dir);
    let bytes = match outcome {
        Ok((_, bytes)) => bytes,
        Err(e) => return failed(&e),
    };
    let noted = details(&[("page", "own data"), ("role", "student")]);
    if let Err(e) = audit(&app, "console download", "ok", noted).await {
        return failed(&e);
    }
    download(&visit, bytes, "my-data.zip")
}

fn download(visit: &Visit, bytes: Vec<u8>, name: &str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "application/zip".to_string()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
    ];
    with_cookie(visit, (headers, bytes).into_response())
}

/// Every file under `dir`, as a zip archive (stored, not compressed: the files are small).
fn zipped(dir: &FsPath) -> Result<Vec<u8>> {
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut pending = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).map_err(|e| Error::io(&at, e))? {
            let path = entry.map_err(|e| Error::io(&at, e))?.path();
            if path.is_dir() { pending.push(path) } else { files.push(path) }
        }
    }
    files.sort();
    let zip_error = |e: zip::result::ZipError| Error::Internal(format!("the archive could not be made: {e}"));
    for path in files {
        let name = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        archive.start_file(name, options).map_err(zip_error)?;
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        archive.write_all(&bytes).map_err(|e| Error::io(&path, e))?;
    }
    Ok(archive.finish().map_err(zip_error)?.into_inner())
}

/// `POST /dpo/verify`: the audit trail checked as `rollcall audit verify` does.
pub async fn verify(State(app): State<Arc<App>>, visit: Visit, Form(form): Form<super::pages::TokenForm>) -> Response {
    if let Err(refused) = check_csrf(&app, &visit, &form.csrf, "dpo").await {
        return refused;
    }
    if !dpo_only(&visit) {
        return refuse(&app, &visit, StatusCode::FORBIDDEN, "dpo", "not the data-protection officer", DPO_ONLY).await;
    }
    let checked = match crate::equality::ledger::verify_warehouse(&app.warehouse).await {
        Ok(c) => c,
        Err(e) => return failed(&e),
    };
    let v = &checked.verified;
    let outcome = if v.problems.is_empty() { "ok" } else { "problems" };
    if let Err(e) = audit(&app, "console audit verify", outcome, details(&[("role", "dpo")])).await {
        return failed(&e);
    }
    let html = render(
        &app,
        "verified.html",
        context! {
            entries => v.entries,
            sealed => v.sealed,
            anchors => checked.anchors,
            ledger => checked.ledger_entries,
            problems => &v.problems,
            notices => &v.notices,
            user => user_context(&visit),
            csrf => &visit.session.csrf,
        },
    );
    let status = if v.problems.is_empty() { StatusCode::OK } else { StatusCode::CONFLICT };
    with_cookie(&visit, (status, html))
}
