//! `rollcall serve`: the web console over the warehouse, for the people who act on its
//! results. Pages are rendered on the server from the templates in `templates/console/`
//! (minijinja, HTML escaped); the one stylesheet is served by Rollcall itself and the
//! pages run no script, so the content security policy allows nothing from elsewhere and
//! nothing inline.
//!
//! Who may see what is decided here, on every request, never by the page: a personal tutor
//! opens their own tutees, a department lead their department, the progress team everyone;
//! a planner sees aggregates only; a student sees their own page. A student page outside
//! the user's scope answers 404 whether or not the student exists, and the refusal is
//! logged. Every view of a student's page is recorded: an audit entry (opaque view id,
//! page, role) and a line in `console/views.jsonl` naming the student, which their
//! subject-access export can report.
//!
//! Reads never wait for batch jobs: pages read the tables' snapshots through a session
//! that is rebuilt when a table has a new commit, and take no warehouse lock.

pub mod accounts;
mod dpo;
mod casework;
mod index;
mod journal;
mod pages;
mod sessions;
mod work;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use datafusion::prelude::SessionContext;
use minijinja::Environment;
use tokio::sync::RwLock;

use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::warehouse::Warehouse;

/// The stylesheet, served at `/static/console.css`.
const STYLESHEET: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/console.css"));

/// The templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/base.html"))),
    ("login.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/login.html"))),
    ("message.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/message.html"))),
    ("students.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/students.html"))),
    ("student.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/student.html"))),
    ("ukvi.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/ukvi.html"))),
    ("cases.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/cases.html"))),
    ("dpo.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/dpo.html"))),
    ("verified.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/verified.html"))),
    ("aggregates.html", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/aggregates.html"))),
];

/// How often the console looks for recorded rows still waiting for the warehouse lock.
const QUEUE_SECONDS: u64 = 5;

/// How often the console looks for new commits to work out the index and the dashboard's
/// figures ahead of the pages (see [`serve`]).
const PREPARE_SECONDS: u64 = 10;

/// What a snapshot or an index was made for: the commit state of its tables and the day.
type StateKey = (u64, chrono::NaiveDate);

/// A session over the tables as they were at one commit state on one day, and the
/// casework worked out from it (each case's next item is judged on the day).
type Snapshot = (StateKey, Arc<SessionContext>, Arc<casework::Casework>);

/// The running console's shared state.
pub(crate) struct App {
    warehouse: Warehouse,
    templates: Environment<'static>,
    sessions: sessions::Sessions,
    /// Cookies carry `Secure` unless the console listens on the loopback interface only.
    secure_cookies: bool,
    snapshot: RwLock<Option<Snapshot>>,
    /// The UKVI dashboard's figures, by the state of their tables and day (worked out once
    /// for each).
    dashboards: tokio::sync::Mutex<Vec<(u64, chrono::NaiveDate, Arc<work::Figures>)>>,
    /// Writes audit entries and page views, many requests' at once.
    journal: journal::Journal,
    /// The index of students, by the state of its tables and the day (see [`index`]).
    index: tokio::sync::Mutex<Option<(StateKey, Arc<index::Index>)>>,
}

impl App {
    /// A session over the tables as they are: kept while no table has a new commit (each
    /// commit adds a file to the table's `_delta_log`, which changes the directory's
    /// modification time) and the day is the same, built again when not.
    async fn tables(&self) -> Result<Arc<SessionContext>> {
        Ok(self.snapshot().await?.1)
    }

    /// The session and the tables' state it reads (a key for what is worked out from it).
    async fn snapshot(&self) -> Result<Snapshot> {
        let now = self.state();
        if let Some((seen, ctx, cases)) = self.snapshot.read().await.as_ref()
            && *seen == now
        {
            return Ok((now, ctx.clone(), cases.clone()));
        }
        let ctx = session::build(&self.warehouse, Access::Internal { with_equality: false }).await?;
        // Each case's step and the dated items on it, for the case lists and pages.
        let today = crate::domain::time::date_to_days(now.1);
        let cases = Arc::new(casework::Casework::read(&ctx, &self.warehouse.config().review, today).await?);
        let ctx = Arc::new(ctx);
        *self.snapshot.write().await = Some((now, ctx.clone(), cases.clone()));
        Ok((now, ctx, cases))
    }

    /// Each student's cases and reported absences, each case's position and dated items, as
    /// of the tables' latest state.
    async fn casework(&self) -> Result<Arc<casework::Casework>> {
        Ok(self.snapshot().await?.2)
    }

    /// Every table's commit state and the day: what the snapshot is kept for.
    fn state(&self) -> StateKey {
        (self.fingerprint(), self.warehouse.clock().today())
    }

    /// The tables' commit state: a hash of each transaction log directory's modification time.
    fn fingerprint(&self) -> u64 {
        self.fingerprint_of(crate::warehouse::tables::ALL.iter().map(|def| def.name))
    }

    /// The commit state of some tables, as [`App::fingerprint`].
    fn fingerprint_of<'a>(&self, tables: impl IntoIterator<Item = &'a str>) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hash = std::collections::hash_map::DefaultHasher::new();
        for name in tables {
            let log = self.warehouse.table_dir(name).join("_delta_log");
            std::fs::metadata(&log).and_then(|m| m.modified()).ok().hash(&mut hash);
        }
        hash.finish()
    }

    /// The index of students for the tables as they are: read again when one of its tables
    /// has a new commit or the day changes; a request arriving during a build waits for it.
    async fn index(&self) -> Result<Arc<index::Index>> {
        let key = (self.fingerprint_of(index::TABLES.iter().copied()), self.warehouse.clock().today());
        let mut held = self.index.lock().await;
        if let Some((seen, index)) = held.as_ref()
            && *seen == key
        {
            return Ok(index.clone());
        }
        let built = match index::Index::build(self.tables().await?.as_ref(), key.1).await {
            Err(e) if e.is_vanished_file() => {
                self.refresh().await;
                index::Index::build(self.tables().await?.as_ref(), key.1).await?
            }
            other => other?,
        };
        let built = Arc::new(built);
        *held = Some((key, built.clone()));
        Ok(built)
    }

    /// Works out the index of students and the UKVI dashboard's figures for the tables as
    /// they are (each only if not already held for this state).
    async fn prepare(&self) {
        let started = std::time::Instant::now();
        match self.index().await {
            Ok(_) => tracing::info!("console: index of students ready ({} ms)", started.elapsed().as_millis()),
            Err(e) => tracing::error!("console: reading the index of students: {}", e.code()),
        }
        let started = std::time::Instant::now();
        match work::prepare_dashboard(self).await {
            Ok(()) => tracing::info!("console: UKVI dashboard's figures ready ({} ms)", started.elapsed().as_millis()),
            Err(e) => tracing::error!("console: working out the UKVI dashboard: {}", e.code()),
        }
    }

    /// Forgets the snapshot (after a read found files a purge had removed, or rows were
    /// written from the console).
    async fn refresh(&self) {
        *self.snapshot.write().await = None;
    }
}

fn templates() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    for (name, text) in TEMPLATES {
        env.add_template(name, text).map_err(|e| Error::Internal(format!("console template {name}: {e}")))?;
    }
    Ok(env)
}

/// Security headers on every response.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |value: &'static str| HeaderValue::from_static(value);
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        set("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'"),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, set("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, set("DENY"));
    headers.insert(header::REFERRER_POLICY, set("no-referrer"));
    headers.insert(header::CACHE_CONTROL, set("no-store"));
    response
}

/// Serves the console on `listen` until the process is stopped; `ready` is told the
/// address it listens on (the port chosen, when `listen` asks for port 0).
pub async fn serve(warehouse: Warehouse, listen: SocketAddr, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    // Tables added since the warehouse was made, and rows recorded while no console ran,
    // are settled before the first page (a job holding the lock is waited for, once).
    {
        let lock = warehouse.lock()?;
        warehouse.create_missing_tables().await?;
        warehouse.apply_queue(&lock).await?;
    }
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| Error::io(listen.to_string(), e))?;
    let bound = listener.local_addr().map_err(|e| Error::io(listen.to_string(), e))?;
    let idle = std::time::Duration::from_secs(u64::from(warehouse.config().console.idle_minutes.max(1)) * 60);
    let app = Arc::new(App {
        templates: templates()?,
        sessions: sessions::Sessions::new(idle),
        secure_cookies: !bound.ip().is_loopback(),
        snapshot: RwLock::new(None),
        dashboards: tokio::sync::Mutex::new(Vec::new()),
        index: tokio::sync::Mutex::new(None),
        journal: journal::Journal::start(warehouse.root().to_path_buf()),
        warehouse,
    });
    // What the first pages would otherwise wait for is worked out ahead of them: at start,
    // and again once the tables have settled after a change (a job's commits, then none for
    // one period), so the first page after a daily `rate` finds it ready.
    let early = app.clone();
    tokio::spawn(async move {
        let (mut last, mut prepared) = (early.state(), None);
        loop {
            let now = early.state();
            if now == last && prepared != Some(now) {
                early.prepare().await;
                prepared = Some(now);
            }
            last = now;
            tokio::time::sleep(std::time::Duration::from_secs(PREPARE_SECONDS)).await;
        }
    });
    let router = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/students", get(pages::students))
        .route("/students/{id}", get(pages::student))
        .route("/students/{id}/outcome", post(work::record_outcome))
        .route("/students/{id}/case", post(work::record_case_step))
        .route("/students/{id}/absence", post(work::decide_absence))
        .route("/me", get(pages::me))
        .route("/me/absence", post(work::report_absence))
        .route("/ukvi", get(work::ukvi))
        .route("/ukvi/reported", post(work::ukvi_reported))
        .route("/ukvi/return.xlsx", get(work::ukvi_workbook))
        .route("/ukvi/funder.xlsx", get(work::funder_workbook))
        .route("/cases", get(work::cases))
        .route("/dpo", get(dpo::page))
        .route("/dpo/requests", post(dpo::new_request))
        .route("/dpo/requests/{ref}", post(dpo::request_step))
        .route("/dpo/requests/{ref}/export.zip", get(dpo::request_export))
        .route("/dpo/verify", post(dpo::verify))
        .route("/me/data.zip", get(dpo::own_data))
        .route("/aggregates", get(pages::aggregates))
        .route(
            "/static/console.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET) }),
        )
        .fallback(pages::not_found)
        .layer(axum::middleware::map_response(secure))
        .with_state(app.clone());
    // Rows recorded while a job held the lock are written once it is free.
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(QUEUE_SECONDS)).await;
            if crate::warehouse::queue::pending(app.warehouse.root()).is_ok_and(|p| !p.is_empty()) {
                app.apply_now().await;
            }
        }
    });
    ready(bound);
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .await
        .map_err(|e| Error::io(bound.to_string(), e))
}
