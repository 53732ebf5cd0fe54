//! The console's pages and forms. Every handler first works out who is asking
//! ([`visit`]), then checks the role and scope itself before reading anything.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use datafusion::scalar::ScalarValue;
use minijinja::context;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::App;
use super::accounts::{self, Holder, SignIn};
use super::index::{self, RATINGS_PER_PAGE};
use super::sessions::{self, Identity, Session};
use crate::domain::time::date_to_days;
use crate::error::{Error, Result};
use crate::queries;

/// Students shown per page of a list.
const LIST_PER_PAGE: usize = 100;
/// The columns of a student in a list.
const LIST_COLUMNS: &[&str] = &["student_id", "name", "programme_code", "stage", "department", "status"];
/// How far back from the latest day rated a list looks for each student's latest rating.
const LIST_RATING_DAYS: i32 = 27;

/// Who is asking, and the cookie to set if their session is new.
pub(crate) struct Visit {
    pub(super) session: Session,
    set_cookie: Option<String>,
}

impl Visit {
    pub(super) fn user(&self) -> Option<&Identity> {
        self.session.user.as_ref().map(|(_, who)| who)
    }
}

pub(super) fn with_cookie(visit: &Visit, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    if let Some(cookie) = &visit.set_cookie
        && let Ok(value) = header::HeaderValue::from_str(cookie)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(super) fn render(app: &App, name: &str, ctx: minijinja::Value) -> Response {
    match app.templates.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            eprintln!("console: template {name} could not be drawn: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be drawn").into_response()
        }
    }
}

pub(super) fn message(app: &App, visit: &Visit, status: StatusCode, title: &str, text: &str) -> Response {
    let page =
        render(app, "message.html", context! { title, text, user => user_context(visit), csrf => &visit.session.csrf });
    with_cookie(visit, (status, page))
}

pub(super) fn failed(e: &Error) -> Response {
    tracing::error!("console: {}", e.code());
    (StatusCode::INTERNAL_SERVER_ERROR, Html("<h1>Something went wrong</h1><p>Try again in a moment.</p>"))
        .into_response()
}

/// Appends an audit entry for the console (no personal data: roles, pages, opaque ids).
pub(super) async fn audit(app: &App, command: &str, outcome: &str, details: Map<String, Value>) -> Result<()> {
    app.journal.write(None, entry(command, outcome, details)).await
}

fn entry(command: &str, outcome: &str, details: Map<String, Value>) -> crate::compliance::audit::Pending {
    crate::compliance::audit::Pending {
        command: command.to_string(),
        outcome: outcome.to_string(),
        details,
        outputs: Vec::new(),
    }
}

pub(super) fn details(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect()
}

/// Logs a refused request (who asked, by role, for which page) and answers it.
pub(super) async fn refuse(
    app: &App,
    visit: &Visit,
    status: StatusCode,
    page: &str,
    reason: &str,
    text: &str,
) -> Response {
    let role = visit.user().map(Identity::role).unwrap_or("anonymous");
    if let Err(e) =
        audit(app, "console refused", "refused", details(&[("page", page), ("role", role), ("reason", reason)])).await
    {
        return failed(&e);
    }
    let title = if status == StatusCode::NOT_FOUND { "Not found" } else { "Not allowed" };
    message(app, visit, status, title, text)
}

/// Records a view of a student's page: an audit entry with an opaque id, and the student
/// in the console's view log (for their subject-access export).
async fn record_view(app: &App, visit: &Visit, student_id: &str, page: &str) -> Result<()> {
    let view = format!("V-{}", &crate::compliance::disclosure::new_id()[..12]);
    let (viewer, who) = visit.session.user.clone().expect("a signed-in user");
    let seen = crate::compliance::views::View {
        view: view.clone(),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        viewer,
        role: who.role().to_string(),
        student_id: student_id.to_string(),
        page: page.to_string(),
    };
    let noted = details(&[("page", page), ("role", who.role()), ("view", &view)]);
    app.journal.write(Some(seen), entry("console view", "ok", noted)).await
}

/// Works out who is asking: a session cookie, or the single sign-on header from a trusted
/// proxy. A header from anywhere else is refused and logged.
async fn visit(app: &App, headers: &HeaderMap, peer: SocketAddr, page: &str) -> std::result::Result<Visit, Response> {
    let cookie = sessions::cookie_value(headers).and_then(|id| app.sessions.get(&id));
    let console = &app.warehouse.config().console;
    if let Some(name) = &console.user_header
        && let Some(value) = headers.get(name.as_str())
    {
        let anonymous = Visit { session: app.sessions.start(None), set_cookie: None };
        if !console.trusted_proxies.contains(&peer.ip()) {
            app.sessions.end(&anonymous.session.id);
            return Err(refuse(
                app,
                &anonymous,
                StatusCode::UNAUTHORIZED,
                page,
                "sign-in header from an untrusted address",
                "This request carried a sign-in header from an address that is not a trusted proxy.",
            )
            .await);
        }
        app.sessions.end(&anonymous.session.id);
        let email = value.to_str().unwrap_or_default().trim().to_string();
        if let Some(session) = cookie.filter(|s| s.user.as_ref().is_some_and(|(u, _)| *u == email)) {
            return Ok(Visit { session, set_cookie: None });
        }
        return match identify(app, &email, None).await {
            Ok(Some(who)) => {
                let session = app.sessions.start(Some((email, who)));
                let set_cookie = Some(sessions::cookie(&session, app.secure_cookies));
                Ok(Visit { session, set_cookie })
            }
            Ok(None) => {
                let visit = Visit { session: app.sessions.start(None), set_cookie: None };
                Err(refuse(app, &visit, StatusCode::FORBIDDEN, page, "not on the staff list or a student", NOT_KNOWN)
                    .await)
            }
            Err(e) => Err(failed(&e)),
        };
    }
    match cookie {
        Some(session) => Ok(Visit { session, set_cookie: None }),
        None => {
            let session = app.sessions.start(None);
            let set_cookie = Some(sessions::cookie(&session, app.secure_cookies));
            Ok(Visit { session, set_cookie })
        }
    }
}

impl FromRequestParts<Arc<App>> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> std::result::Result<Visit, Response> {
        let peer = match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => *peer,
            None => return Err(failed(&Error::Internal("the console was served without peer addresses".into()))),
        };
        let route = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str);
        visit(app, &parts.headers, peer, page_name(route)).await
    }
}

/// The page a route is, as audit entries name it: `/students/{id}` is `student`, `/` is
/// `home`, any address without a page `unknown`.
fn page_name(route: Option<&str>) -> &'static str {
    match route {
        None => "unknown",
        Some("/") => "home",
        Some("/students/{id}") => "student",
        Some(route) => PAGES
            .iter()
            .find(|p| route.trim_start_matches('/').split('/').next() == Some(**p))
            .copied()
            .unwrap_or("unknown"),
    }
}

/// The pages by their address's first segment.
const PAGES: &[&str] = &["login", "logout", "students", "me", "aggregates", "ukvi", "cases", "dpo", "absences"];

const NOT_KNOWN: &str = "You are signed in to the university, but not as a member of staff on Rollcall's staff list \
                         or as a student. Ask the data team to add you to the staff list.";

/// Reads a catalog query over the console's snapshot, reading again once if a purge
/// removed files the snapshot had.
pub(super) async fn read(app: &App, name: &str, params: &[(&str, ScalarValue)]) -> Result<Vec<RecordBatch>> {
    let ctx = app.tables().await?;
    match queries::collect(&ctx, name, params).await {
        Err(e) if e.is_vanished_file() => {
            app.refresh().await;
            queries::collect(app.tables().await?.as_ref(), name, params).await
        }
        other => other,
    }
}

/// Who a sign-in name (an e-mail address or id) stands for, or a local account's holder.
async fn identify(app: &App, who: &str, holder: Option<&Holder>) -> Result<Option<Identity>> {
    let (staff_key, student_key) = match holder {
        Some(Holder::Staff(id)) => (Some(id.as_str()), None),
        Some(Holder::Student(id)) => (None, Some(id.as_str())),
        None => (Some(who), Some(who)),
    };
    if let Some(key) = staff_key {
        let rows = rows(&read(app, "console/staff_member", &[("who", ScalarValue::from(key))]).await?);
        if let Some(row) = rows.first() {
            let text = |k: &str| row.get(k).cloned().unwrap_or_default();
            return Ok(Some(Identity::Staff {
                staff_id: text("staff_id"),
                name: text("name"),
                roles: text("roles").split(';').map(str::trim).filter(|r| !r.is_empty()).map(String::from).collect(),
                department: text("department"),
            }));
        }
    }
    if let Some(key) = student_key {
        let rows = rows(&read(app, "console/student_member", &[("who", ScalarValue::from(key))]).await?);
        if let Some(row) = rows.first() {
            return Ok(Some(Identity::Student { student_id: row.get("student_id").cloned().unwrap_or_default() }));
        }
    }
    Ok(None)
}

/// Query results as rows of display text: dates as `YYYY-MM-DD`, fractions to two places,
/// nothing for null.
pub(super) fn rows(batches: &[RecordBatch]) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        out.extend((0..batch.num_rows()).map(|r| {
            schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(field, column)| (field.name().clone(), cell(column, r)))
                .collect()
        }));
    }
    out
}

/// One value as display text.
fn cell(column: &arrow::array::ArrayRef, r: usize) -> String {
    if column.is_null(r) {
        return String::new();
    }
    match column.data_type() {
        DataType::Float64 | DataType::Float32 => {
            let value = arrow::compute::cast(&column.slice(r, 1), &DataType::Float64)
                .ok()
                .and_then(|a| a.as_any().downcast_ref::<arrow::array::Float64Array>().map(|f| f.value(0)))
                .unwrap_or(f64::NAN);
            format!("{value:.2}")
        }
        _ => arrow::util::display::array_value_to_string(column, r).unwrap_or_default(),
    }
}

pub(super) fn user_context(visit: &Visit) -> minijinja::Value {
    match visit.user() {
        None => minijinja::Value::UNDEFINED,
        Some(Identity::Student { student_id }) => context! { name => student_id, role => "student", student => true },
        Some(who @ Identity::Staff { name, .. }) => context! {
            name => name,
            role => who.role(),
            students => scope_of(who).is_some(),
            cases => who.has("progress") || who.has("department-lead"),
            ukvi => who.has("compliance"),
            dpo => who.has("dpo"),
            aggregates => true,
        },
    }
}

/// A member of staff's student scope: (their staff id, their department if they lead it,
/// everyone). `None`: their roles open no student's page.
pub(super) fn scope_of(who: &Identity) -> Option<index::Scope> {
    let Identity::Staff { staff_id, department, .. } = who else { return None };
    let everyone = who.has("progress");
    let department = if who.has("department-lead") { department.clone() } else { String::new() };
    (everyone || who.has("tutor") || !department.is_empty()).then(|| (staff_id.clone(), department, everyone))
}

/// `GET /`: each role's main page.
pub async fn home(visit: Visit) -> Response {
    let target = match visit.user() {
        None => "/login",
        Some(Identity::Student { .. }) => "/me",
        Some(who) if who.has("progress") => "/cases",
        Some(who) if who.has("compliance") => "/ukvi",
        Some(who) if who.has("dpo") => "/dpo",
        Some(who) if scope_of(who).is_some() => "/students",
        Some(_) => "/aggregates",
    };
    with_cookie(&visit, Redirect::to(target))
}

/// `GET /login`
pub async fn login_form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    if visit.user().is_some() {
        return with_cookie(&visit, Redirect::to("/"));
    }
    let page = render(&app, "login.html", context! { csrf => &visit.session.csrf });
    with_cookie(&visit, page)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub(super) csrf: String,
}

pub(super) async fn check_csrf(app: &App, visit: &Visit, token: &str, page: &str) -> std::result::Result<(), Response> {
    if sessions::same_token(token, &visit.session.csrf) {
        return Ok(());
    }
    Err(refuse(
        app,
        visit,
        StatusCode::FORBIDDEN,
        page,
        "form without its CSRF token",
        "This form was not sent from this session's page. Go back, reload the page and try again.",
    )
    .await)
}

/// `POST /login`
pub async fn login(State(app): State<Arc<App>>, visit: Visit, Form(form): Form<SignInForm>) -> Response {
    if let Err(refused) = check_csrf(&app, &visit, &form.csrf, "login").await {
        return refused;
    }
    let warehouse = app.warehouse.clone();
    let now = warehouse.clock().now_micros();
    let (username, password) = (form.username.clone(), form.password);
    let outcome = tokio::task::spawn_blocking(move || accounts::sign_in(&warehouse, &username, &password, now)).await;
    let outcome = match outcome {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => return failed(&e),
        Err(e) => return failed(&Error::stopped("signing in", &e)),
    };
    let again = |text: &str, status: StatusCode| {
        with_cookie(
            &visit,
            (status, render(&app, "login.html", context! { csrf => &visit.session.csrf, problem => text })),
        )
    };
    let holder = match outcome {
        SignIn::Ok(holder) => holder,
        SignIn::Refused => {
            if let Err(e) = audit(&app, "console sign-in", "refused", Map::new()).await {
                return failed(&e);
            }
            return again("The username or password is not right.", StatusCode::UNAUTHORIZED);
        }
        SignIn::Locked => {
            if let Err(e) = audit(&app, "console sign-in", "locked", Map::new()).await {
                return failed(&e);
            }
            let minutes = app.warehouse.config().console.lockout_minutes;
            return again(
                &format!("Too many failed attempts: this account is locked for {minutes} minutes."),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
    };
    let who = match identify(&app, &form.username, Some(&holder)).await {
        Ok(Some(who)) => who,
        Ok(None) => return again(NOT_KNOWN, StatusCode::FORBIDDEN),
        Err(e) => return failed(&e),
    };
    if let Err(e) = audit(&app, "console sign-in", "ok", details(&[("role", who.role())])).await {
        return failed(&e);
    }
    // A new session id on sign-in: one planted before it is worth nothing after.
    app.sessions.end(&visit.session.id);
    let session = app.sessions.start(Some((form.username.trim().to_string(), who)));
    let signed_in = Visit { set_cookie: Some(sessions::cookie(&session, app.secure_cookies)), session };
    with_cookie(&signed_in, Redirect::to("/"))
}

/// `POST /logout`
pub async fn logout(State(app): State<Arc<App>>, visit: Visit, Form(form): Form<TokenForm>) -> Response {
    if let Err(refused) = check_csrf(&app, &visit, &form.csrf, "logout").await {
        return refused;
    }
    app.sessions.end(&visit.session.id);
    Redirect::to("/login").into_response()
}

/// `GET /students`: the students in the user's scope, lowest rating first.
pub async fn students(State(app): State<Arc<App>>, visit: Visit, Query(paging): Query<Paging>) -> Response {
    let Some(who) = visit.user() else { return with_cookie(&visit, Redirect::to("/login")) };
    let Some(scope) = scope_of(who) else {
        return refuse(
            &app,
            &visit,
            StatusCode::FORBIDDEN,
            "students",
            "role sees no student",
            "Your role shows aggregate figures only, never a row about one student.",
        )
        .await;
    };
    let index = match app.index().await {
        Ok(index) => index,
        Err(e) => return failed(&e),
    };
    let since = index.latest_day().unwrap_or(0) - LIST_RATING_DAYS;
    let found = index.in_scope(&scope, since);
    let total = found.len();
    let pages = total.div_ceil(LIST_PER_PAGE).max(1);
    let page = paging.page.unwrap_or(1).clamp(1, pages);
    let list: Vec<_> = found
        .into_iter()
        .skip((page - 1) * LIST_PER_PAGE)
        .take(LIST_PER_PAGE)
        .map(|(student, rating)| {
            let mut row = student.record.clone();
            row.retain(|k, _| LIST_COLUMNS.contains(&k.as_str()));
            if let Some((day, rating)) = rating {
                row.insert("rating".into(), rating.into());
                row.insert("rated_on".into(), crate::domain::time::days_to_date(day).to_string());
            }
            row
        })
        .collect();
    let mut noted = details(&[("page", "students"), ("role", who.role())]);
    noted.insert("students".into(), Value::from(list.len()));
    if let Err(e) = audit(&app, "console view", "ok", noted).await {
        return failed(&e);
    }
    let title = if scope.2 {
        "All students"
    } else if !scope.1.is_empty() {
        "Your department's students"
    } else {
        "Your tutees"
    };
    let page = render(
        &app,
        "students.html",
        context! { title, students => list, total, page, pages, user => user_context(&visit), csrf => &visit.session.csrf },
    );
    with_cookie(&visit, page)
}

/// Which page of a student's ratings to show.
#[derive(Debug, Deserialize)]
pub struct Paging {
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /students/{id}`: one student's page, within the user's scope.
pub async fn student(
    State(app): State<Arc<App>>,
    visit: Visit,
    Path(id): Path<String>,
    Query(paging): Query<Paging>,
) -> Response {
    let Some(who) = visit.user() else { return with_cookie(&visit, Redirect::to("/login")) };
    const ELSEWHERE: &str = "There is no student page here that you can open.";
    match who {
        Identity::Student { student_id } if *student_id == id => return with_cookie(&visit, Redirect::to("/me")),
        Identity::Student { .. } => {
            return refuse(&app, &visit, StatusCode::NOT_FOUND, "student", "another student's page", ELSEWHERE).await;
        }
        Identity::Staff { .. } => {}
    }
    let Some(scope) = scope_of(who) else {
        return refuse(
            &app,
            &visit,
            StatusCode::FORBIDDEN,
            "student",
            "role sees no student",
            "Your role shows aggregate figures only, never a row about one student.",
        )
        .await;
    };
    let in_scope = match app.index().await {
        Ok(index) => index.student(&id).is_some_and(|s| s.in_scope(&scope)),
        Err(e) => return failed(&e),
    };
    if !in_scope {
        return refuse(&app, &visit, StatusCode::NOT_FOUND, "student", "outside the user's scope", ELSEWHERE).await;
    }
    student_page(&app, &visit, &id, &paging, "student").await
}

/// `GET /me`: a student's own page.
pub async fn me(State(app): State<Arc<App>>, visit: Visit, Query(paging): Query<Paging>) -> Response {
    match visit.user() {
        Some(Identity::Student { student_id }) => {
            let id = student_id.clone();
            student_page(&app, &visit, &id, &paging, "own").await
        }
        Some(_) => with_cookie(&visit, Redirect::to("/")),
        None => with_cookie(&visit, Redirect::to("/login")),
    }
}

async fn student_page(app: &App, visit: &Visit, id: &str, paging: &Paging, kind: &str) -> Response {
    let index = match app.index().await {
        Ok(index) => index,
        Err(e) => return failed(&e),
    };
    let Some(found) = index.student(id) else {
        return message(
            app,
            visit,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no student page here that you can open.",
        );
    };
    let rated = found.ratings.len();
    let pages = rated.div_ceil(RATINGS_PER_PAGE).max(1);
    let page = paging.page.unwrap_or(1).clamp(1, pages);
    // The first page from the index (no SQL), others from the table.
    let ratings_of = |page: usize| async move {
        if page == 1
            && let Some(rated) = found.first_page()
        {
            return Ok(rated.map(index::Rated::row).collect());
        }
        let Some(days) = index::ratings_page(found, page, RATINGS_PER_PAGE) else { return Ok(Vec::new()) };
        let params = [("student_id", ScalarValue::from(id)), days[0].clone(), days[1].clone()];
        read(app, "console/student_ratings", &params).await.map(|b| rows(&b))
    };
    let shown = match ratings_of(page).await {
        Ok(rows) => rows,
        Err(e) => return failed(&e),
    };
    let latest = if page == 1 {
        shown.first().cloned()
    } else {
        match ratings_of(1).await {
            Ok(rows) => rows.into_iter().next(),
            Err(e) => return failed(&e),
        }
    };
    // The student's cases, each one's step, owner and next dated item, and the meetings to
    // record: held beside the session, no SQL.
    let casework = match app.casework().await {
        Ok(c) => c,
        Err(e) => return failed(&e),
    };
    let mut cases = casework.cases_of(id);
    let today = date_to_days(app.warehouse.clock().today());
    casework.annotate(&app.warehouse.config().review, &mut cases, today);
    let meetings = if kind == "own" {
        Vec::new()
    } else {
        let ids: Vec<String> = cases.iter().filter_map(|c| c.get("case_id").cloned()).collect();
        casework.meetings(&ids)
    };
    let absences = match super::work::absences_of(app, id).await {
        Ok(a) => a,
        Err(e) => return failed(&e),
    };
    if let Err(e) = record_view(app, visit, id, kind).await {
        return failed(&e);
    }
    let chart = found.chart();
    let base = if kind == "own" { "/me".to_string() } else { format!("/students/{}", urlencode(id)) };
    let html = render(
        app,
        "student.html",
        context! {
            own => kind == "own",
            student => &found.record,
            latest,
            chart,
            ratings => shown,
            page,
            pages,
            base,
            modules => &found.modules,
            cases,
            meetings,
            absences,
            outcomes => super::work::outcomes(),
            decisions => crate::review::decisions::DECISIONS,
            meeting_events => crate::review::procedure::MEETING_EVENTS,
            today => app.warehouse.clock().today().to_string(),
            saved => paging.saved.is_some(),
            waiting => super::work::waiting_about(app, id),
            user => user_context(visit),
            csrf => &visit.session.csrf,
        },
    );
    with_cookie(visit, html)
}

pub(super) fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /aggregates`: figures safe to publish (HESA rounding and suppression); never a row
/// about one student. Any member of staff may see them; students may not.
pub async fn aggregates(State(app): State<Arc<App>>, visit: Visit) -> Response {
    match visit.user() {
        None => return with_cookie(&visit, Redirect::to("/login")),
        Some(Identity::Student { .. }) => {
            return refuse(
                &app,
                &visit,
                StatusCode::FORBIDDEN,
                "aggregates",
                "students see their own page",
                "This page is for staff.",
            )
            .await;
        }
        Some(_) => {}
    }
    let year = match read(&app, "console/latest_year", &[]).await {
        Ok(b) => crate::engine::cells::string_at(&b, "academic_year").ok().flatten(),
        Err(e) => return failed(&e),
    };
    let departments = match &year {
        Some(year) => {
            match read(&app, "report/senate_departments", &[("year", ScalarValue::from(year.as_str()))]).await {
                Ok(b) => rows(&b),
                Err(e) => return failed(&e),
            }
        }
        None => Vec::new(),
    };
    let page = render(
        &app,
        "aggregates.html",
        context! { year, departments, user => user_context(&visit), csrf => &visit.session.csrf },
    );
    with_cookie(&visit, page)
}

/// Any other address.
pub async fn not_found(State(app): State<Arc<App>>, visit: Visit) -> Response {
    message(&app, &visit, StatusCode::NOT_FOUND, "Not found", "There is no page at this address.")
}
