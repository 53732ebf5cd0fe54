//! `rollcall mail send`: the e-mails the escalation ladder sends students.
//!
//! A rung that names an e-mail (`email = "first-email"`) has a message made for each case
//! it raises, once: the message (recipient, subject, text) is written to `outbox` under an
//! id derived from the case and the template, so running again never makes it twice. A
//! message is then sent over SMTP (crate `lettre`; STARTTLS unless configured otherwise)
//! and every attempt is recorded in `mail_log` around the SMTP exchange:
//!
//! - `attempt` is committed before the message is handed to the server, and `sent` (or
//!   `failed`, with the server's reply code) after the server's answer;
//! - a message whose attempt has neither (the job was killed while the server had it) may
//!   or may not have been accepted: it is never sent again by itself, but listed as
//!   `unknown` with its Message-ID, for staff to look up in the server's log and release
//!   (`rollcall mail release ID`) if it did not arrive;
//! - a `failed` message (refused, or the server could not be reached) is tried again on
//!   the next run, up to `max_attempts`, then listed as `given up`; one that cannot be
//!   sent at all (its address is not an address) is recorded `undeliverable` and given up.
//!
//! So a message reaches the server at most once, and a job killed between messages loses
//! nothing: the next run sends what was not sent. Nothing is sent on a day in a quiet
//! period (`[mail] quiet`, vacations) or on a bank holiday; the messages wait.
//!
//! Messages hold personal data: `outbox` and `mail_log` are not visible to analysts, are
//! erased with the student, and appear in the student's subject-access export. Logs and
//! errors name message ids and reply codes only.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use arrow::array::Array;
use chrono::NaiveDate;
use datafusion::scalar::ScalarValue;
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::mail::{MailConfig, Security};
use crate::domain::time::{date_to_days, days_to_date};
use crate::engine::cells;
use crate::engine::job::Job;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::Warehouse;
use crate::warehouse::row::{self, Cell, Row};
use crate::warehouse::tables::{self, TableDef};

/// The built-in message texts, by template name; a warehouse's copies in
/// `templates/mail/` (made at init) are read first.
const TEMPLATES: &[(&str, &str)] = &[
    ("first-email", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/first-email.txt"))),
    ("second-email", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/second-email.txt"))),
    ("interview-required", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/interview-required.txt"))),
];

/// Where a warehouse keeps its editable message texts.
pub const TEMPLATE_DIR: &str = "templates/mail";

/// Writes the built-in message texts into a new warehouse, for the university to edit.
pub fn copy_templates(root: &Path) -> Result<()> {
    // Owner-only, as every file of the warehouse.
    let dir = root.join(TEMPLATE_DIR);
    crate::warehouse::create_private_dir(&dir)?;
    for (name, text) in TEMPLATES {
        let path = dir.join(format!("{name}.txt"));
        if !path.exists() {
            crate::warehouse::write_atomically(&path, text.as_bytes())?;
        }
    }
    Ok(())
}

/// A message's text: the warehouse's copy, else the built-in one.
fn template_text(root: &Path, name: &str) -> Result<(PathBuf, String)> {
    let path = root.join(TEMPLATE_DIR).join(format!("{name}.txt"));
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            TEMPLATES.iter().find(|(n, _)| *n == name).map(|(_, text)| (path.clone(), text.to_string())).ok_or_else(
                || Error::Usage(format!("{}: no such e-mail template (named by a rung's `email`)", path.display())),
            )
        }
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Renders a template: the first line is `Subject: ...`, then one blank line, then the text.
fn render(path: &Path, text: &str, values: &BTreeMap<&str, String>) -> Result<(String, String)> {
    let problem = |m: &str| Error::Usage(format!("{}: {m}", path.display()));
    let env = minijinja::Environment::new();
    let rendered =
        env.render_str(text, values).map_err(|e| problem(&format!("line {}: {}", e.line().unwrap_or(0), e.kind())))?;
    let rendered = rendered.trim_start_matches('\n');
    let (first, rest) = rendered.split_once('\n').unwrap_or((rendered, ""));
    let subject = first.strip_prefix("Subject:").map(str::trim).filter(|s| !s.is_empty());
    let subject = subject.ok_or_else(|| problem("line 1: the first line must be `Subject: ...`"))?;
    Ok((subject.to_string(), rest.trim_start_matches('\n').trim_end().to_string() + "\n"))
}

/// A message made for a case.
struct Made {
    message_id: String,
    case_id: String,
    student_id: String,
    template: String,
    to_address: String,
    subject: String,
    body: String,
    created_at: i64,
}

impl Row for Made {
    const TABLE: TableDef = tables::OUTBOX;

    fn cells(&self) -> Vec<Cell> {
        vec![
            ("message_id", row::text(&self.message_id)),
            ("case_id", row::text(&self.case_id)),
            ("student_id", row::text(&self.student_id)),
            ("template", row::text(&self.template)),
            ("to_address", row::text(&self.to_address)),
            ("subject", row::text(&self.subject)),
            ("body", row::text(&self.body)),
            ("created_at", row::instant(Some(self.created_at))),
        ]
    }
}

/// One event in a message's life.
struct Logged<'a> {
    message_id: &'a str,
    student_id: &'a str,
    event: &'static str,
    at: i64,
    detail: String,
}

impl Row for Logged<'_> {
    const TABLE: TableDef = tables::MAIL_LOG;

    fn cells(&self) -> Vec<Cell> {
        vec![
            ("message_id", row::text(self.message_id)),
            ("student_id", row::text(self.student_id)),
            ("event", row::text(self.event)),
            ("at", row::instant(Some(self.at))),
            ("detail", row::text(&self.detail)),
        ]
    }
}

/// The id of the message a case's template makes (also its `Message-ID`, with the
/// sender's domain): the same case and template always give the same id.
fn message_id(case_id: &str, template: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{case_id}\u{0}{template}").as_bytes());
    format!("rollcall-{}", hex::encode(&digest[..12]))
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// To be sent (never tried, tried and refused fewer than `max_attempts` times, or released).
    Waiting {
        /// Refusals since it was made or released.
        failures: u32,
    },
    /// An attempt without its result: the server may have it. Not sent again by itself.
    Unknown,
    /// Refused `max_attempts` times.
    GivenUp,
    /// Accepted by the server.
    Sent,
}

impl State {
    /// The state after a message's events, oldest first.
    fn of(events: &[&str], max_attempts: u32) -> State {
        let (mut failures, mut open) = (0, false);
        for event in events {
            match *event {
                "sent" => return State::Sent,
                "attempt" => open = true,
                "failed" => (open, failures) = (false, failures + 1),
                "undeliverable" => (open, failures) = (false, max_attempts),
                "released" => (open, failures) = (false, 0),
                _ => {}
            }
        }
        if open {
            State::Unknown
        } else if failures >= max_attempts {
            State::GivenUp
        } else {
            State::Waiting { failures }
        }
    }

    /// In words, for lists.
    pub fn label(self) -> &'static str {
        match self {
            State::Waiting { .. } => "waiting",
            State::Unknown => "unknown",
            State::GivenUp => "given up",
            State::Sent => "sent",
        }
    }
}

/// What a `mail send` run did.
#[derive(Debug, Default)]
pub struct SendReport {
    /// Messages made now for cases raised since the last run.
    pub made: usize,
    /// Cases whose student has no e-mail address (no message made).
    pub no_address: usize,
    /// Messages accepted by the server now.
    pub sent: usize,
    /// Messages the server refused or could not take now (tried again next run).
    pub failed: usize,
    /// Messages held: a quiet period or bank holiday, no server configured, or a dry run.
    pub held: usize,
    /// Why messages were held, if they were.
    pub held_because: Option<String>,
    /// Messages not sent again because an earlier attempt's result is unknown.
    pub unknown: Vec<String>,
    /// Messages given up after `max_attempts` refusals.
    pub given_up: Vec<String>,
}

/// Makes the messages of cases raised since the last run and sends what is waiting; with
/// `dry_run`, only counts what it would make and send, and writes nothing.
pub async fn send(warehouse: &Warehouse, dry_run: bool) -> Result<SendReport> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let config = warehouse.config();
    let mut report = SendReport::default();
    make(warehouse, &job.ctx, &mut report, !dry_run).await?;
    session::register(&job.ctx, warehouse, &tables::OUTBOX).await?;

    let today = warehouse.clock().today();
    let waiting = waiting(&job.ctx, config.mail.max_attempts).await?;
    let mut to_send = Vec::new();
    for (message, state) in waiting {
        match state {
            State::Waiting { .. } => to_send.push(message),
            State::Unknown => report.unknown.push(message.message_id),
            State::GivenUp => report.given_up.push(message.message_id),
            State::Sent => {}
        }
    }
    let hold = if dry_run {
        Some("a dry run".to_string())
    } else if config.mail.host.is_none() {
        Some("no mail server is configured ([mail] host)".to_string())
    } else if let Some(q) = config.mail.quiet_on(today) {
        Some(format!("{today} is in the quiet period {} to {} ([mail] quiet)", q.from, q.to))
    } else if bank_holiday(&job.ctx, today).await? {
        Some(format!("{today} is a bank holiday"))
    } else {
        None
    };
    if let Some(why) = hold {
        // A dry run wrote nothing: the messages it would make would be waiting too.
        report.held = to_send.len() + if dry_run { report.made } else { 0 };
        report.held_because = (!to_send.is_empty()).then_some(why);
        return Ok(report);
    }
    let transport = transport(&config.mail, warehouse.root())?;
    let from: Mailbox = config
        .mail
        .from
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|_| Error::Usage("[mail] from: not an e-mail address".into()))?;
    let domain = from.email.domain().to_string();
    for message in to_send {
        let log = |event: &'static str, detail: String| Logged {
            message_id: &message.message_id,
            student_id: &message.student_id,
            event,
            at: warehouse.clock().now_micros(),
            detail,
        };
        let email = match build(&message, &from, &domain) {
            Ok(email) => email,
            Err(why) => {
                // An address the message cannot go to will not improve by trying again.
                warehouse.append_rows(&[log("undeliverable", why.to_string())], "mail: not sendable").await?;
                report.given_up.push(message.message_id.clone());
                continue;
            }
        };
        warehouse.append_rows(&[log("attempt", String::new())], "mail: attempt").await?;
        match transport.send(email).await {
            Ok(response) => {
                let code = response.code().to_string();
                warehouse.append_rows(&[log("sent", code)], "mail: sent").await?;
                report.sent += 1;
            }
            Err(e) => {
                let detail = e.status().map(|c| c.to_string()).unwrap_or_else(|| failure_kind(&e).to_string());
                tracing::warn!("mail: {} not sent: {detail}", message.message_id);
                warehouse.append_rows(&[log("failed", detail)], "mail: failed").await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// A send error in words that carry no address or text.
fn failure_kind(e: &lettre::transport::smtp::Error) -> &'static str {
    if e.is_permanent() {
        "refused"
    } else if e.is_transient() {
        "refused for now"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_tls() {
        "TLS failed"
    } else {
        "no connection"
    }
}

/// Lets a message whose attempt's result is unknown be sent again (after staff found in
/// the server's log that it did not arrive), or a given-up one be tried again.
pub async fn release(warehouse: &Warehouse, message_id: &str) -> Result<()> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let all = waiting(&job.ctx, warehouse.config().mail.max_attempts).await?;
    let Some((message, state)) = all.into_iter().find(|(m, _)| m.message_id == message_id) else {
        return Err(Error::Usage(format!("{message_id}: no message waiting with this id (`rollcall mail list`)")));
    };
    if !matches!(state, State::Unknown | State::GivenUp) {
        return Err(Error::Usage(format!(
            "{message_id}: the message is {}; only unknown or given-up ones are released",
            state.label()
        )));
    }
    let logged = Logged {
        message_id: &message.message_id,
        student_id: &message.student_id,
        event: "released",
        at: warehouse.clock().now_micros(),
        detail: String::new(),
    };
    warehouse.append_rows(&[logged], "mail: released").await?;
    Ok(())
}

/// A message not yet sent, as `outbox` holds it.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The message's id (its Message-ID's left part).
    pub message_id: String,
    /// The case it was made for.
    pub case_id: String,
    /// The student it is to.
    pub student_id: String,
    /// The template it was made from.
    pub template: String,
    to_address: String,
    subject: String,
    body: String,
}

/// Every message not yet sent, with where it stands.
pub async fn waiting(ctx: &datafusion::prelude::SessionContext, max_attempts: u32) -> Result<Vec<(Waiting, State)>> {
    let mut events: HashMap<String, Vec<String>> = HashMap::new();
    for batch in queries::collect(ctx, "mail/unsent_log", &[]).await? {
        let (ids, kinds) = (cells::texts(&batch, "message_id")?, cells::texts(&batch, "event")?);
        for r in 0..batch.num_rows() {
            events.entry(ids.value(r).to_string()).or_default().push(kinds.value(r).to_string());
        }
    }
    let mut out = Vec::new();
    for batch in queries::collect(ctx, "mail/unsent", &[]).await? {
        let text = |c: &str| cells::texts(&batch, c);
        let (ids, cases, students, templates) =
            (text("message_id")?, text("case_id")?, text("student_id")?, text("template")?);
        let (to, subjects, bodies) = (text("to_address")?, text("subject")?, text("body")?);
        for r in 0..batch.num_rows() {
            let id = ids.value(r).to_string();
            let seen: Vec<&str> = events.get(&id).map(|e| e.iter().map(String::as_str).collect()).unwrap_or_default();
            let state = State::of(&seen, max_attempts);
            out.push((
                Waiting {
                    message_id: id,
                    case_id: cases.value(r).to_string(),
                    student_id: students.value(r).to_string(),
                    template: templates.value(r).to_string(),
                    to_address: to.value(r).to_string(),
                    subject: subjects.value(r).to_string(),
                    body: bodies.value(r).to_string(),
                },
                state,
            ));
        }
    }
    Ok(out)
}

/// Makes the message of each case raised by a rung that names an e-mail and has none yet,
/// in one commit (`write`), or only counts them.
async fn make(
    warehouse: &Warehouse,
    ctx: &datafusion::prelude::SessionContext,
    report: &mut SendReport,
    write: bool,
) -> Result<()> {
    let by_action: HashMap<&str, &str> = warehouse
        .config()
        .review
        .rungs
        .iter()
        .filter_map(|r| r.email.as_deref().map(|e| (r.action.as_str(), e)))
        .collect();
    if by_action.is_empty() {
        return Ok(());
    }
    let actions = by_action.keys().copied().collect::<Vec<_>>().join("|");
    let found = queries::collect(ctx, "mail/to_make", &[("actions", ScalarValue::from(actions))]).await?;
    let now = warehouse.clock().now_micros();
    let mut templates: HashMap<&str, (PathBuf, String)> = HashMap::new();
    let mut made = Vec::new();
    for batch in &found {
        let text = |c: &str| cells::texts(batch, c);
        let (cases, students, actions, emails) =
            (text("case_id")?, text("student_id")?, text("action")?, text("email")?);
        let (given, family, tutors) = (text("given_name")?, text("family_name")?, text("personal_tutor")?);
        let raised = cells::days(batch, "raised_on")?;
        for r in 0..batch.num_rows() {
            let Some(template) = by_action.get(actions.value(r)).copied() else { continue };
            let address = emails.value(r).trim();
            if emails.is_null(r) || address.is_empty() {
                report.no_address += 1;
                continue;
            }
            if !templates.contains_key(template) {
                templates.insert(template, template_text(warehouse.root(), template)?);
            }
            let (path, body) = &templates[template];
            let values = BTreeMap::from([
                ("given_name", given.value(r).to_string()),
                ("family_name", family.value(r).to_string()),
                ("student_id", students.value(r).to_string()),
                ("raised_on", days_to_date(raised.value(r)).format("%-d %B %Y").to_string()),
                ("personal_tutor", tutors.value(r).to_string()),
            ]);
            let (subject, text) = render(path, body, &values)?;
            made.push(Made {
                message_id: message_id(cases.value(r), template),
                case_id: cases.value(r).to_string(),
                student_id: students.value(r).to_string(),
                template: template.to_string(),
                to_address: address.to_string(),
                subject,
                body: text,
                created_at: now,
            });
        }
    }
    report.made = made.len();
    if write && !made.is_empty() {
        warehouse.append_rows(&made, "mail: messages made").await?;
    }
    Ok(())
}

async fn bank_holiday(ctx: &datafusion::prelude::SessionContext, day: NaiveDate) -> Result<bool> {
    let found = queries::collect(ctx, "mail/bank_holiday", &[("day", cells::date(date_to_days(day)))]).await?;
    Ok(cells::int_at(&found, "n")?.unwrap_or(0) > 0)
}

/// The message as sent: plain text, with its own Message-ID so the server's log finds it.
fn build(message: &Waiting, from: &Mailbox, domain: &str) -> std::result::Result<Message, &'static str> {
    let to: Mailbox = message.to_address.parse().map_err(|_| "not an e-mail address")?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&message.subject)
        .message_id(Some(format!("<{}@{domain}>", message.message_id)))
        .header(ContentType::TEXT_PLAIN)
        .body(message.body.clone())
        .map_err(|_| "the message could not be built")
}

/// The SMTP connection as configured: STARTTLS (required), TLS, or none.
fn transport(config: &MailConfig, root: &Path) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let host = config.host.as_deref().unwrap_or_default();
    let tls = || -> Result<TlsParameters> {
        let mut params = TlsParameters::builder(host.to_string());
        if let Some(file) = &config.ca_file {
            let path = if file.is_absolute() { file.clone() } else { root.join(file) };
            let pem = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|_| Error::Usage(format!("{}: not a PEM certificate ([mail] ca_file)", path.display())))?;
            params = params.add_root_certificate(cert);
        }
        params.build_rustls().map_err(|_| Error::Usage("[mail]: the TLS settings could not be used".into()))
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(config.port);
    builder = match config.security {
        Security::Starttls => builder.tls(Tls::Required(tls()?)),
        Security::Tls => builder.tls(Tls::Wrapper(tls()?)),
        Security::None => builder.tls(Tls::None),
    };
    if let (Some(user_env), Some(password_env)) = (&config.username_env, &config.password_env) {
        let read = |name: &str| {
            std::env::var(name).map_err(|_| Error::Usage(format!("[mail]: the environment variable {name} is not set")))
        };
        builder = builder.credentials(Credentials::new(read(user_env)?, read(password_env)?));
    }
    Ok(builder.timeout(Some(std::time::Duration::from_secs(60))).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_without_a_result_is_never_sent_again_by_itself() {
        assert_eq!(State::of(&[], 3), State::Waiting { failures: 0 });
        assert_eq!(State::of(&["attempt"], 3), State::Unknown);
        assert_eq!(State::of(&["attempt", "sent"], 3), State::Sent);
        assert_eq!(State::of(&["attempt", "failed"], 3), State::Waiting { failures: 1 });
        assert_eq!(State::of(&["attempt", "failed", "attempt", "failed", "attempt", "failed"], 3), State::GivenUp);
        assert_eq!(State::of(&["attempt", "released"], 3), State::Waiting { failures: 0 });
        assert_eq!(State::of(&["undeliverable"], 3), State::GivenUp);
        assert_eq!(State::of(&["undeliverable", "released"], 3), State::Waiting { failures: 0 });
        assert_eq!(State::of(&["attempt", "released", "attempt"], 3), State::Unknown);
    }

    #[test]
    fn the_same_case_and_template_always_make_the_same_message_id() {
        assert_eq!(message_id("C1", "first-email"), message_id("C1", "first-email"));
        assert_ne!(message_id("C1", "first-email"), message_id("C1", "second-email"));
        assert_ne!(message_id("C1", "first-email"), message_id("C2", "first-email"));
    }

    #[test]
    fn a_template_gives_its_subject_and_text() {
        let path = Path::new("first-email.txt");
        let values = BTreeMap::from([("given_name", "Ada".to_string())]);
        let (subject, body) =
            render(path, "Subject: Hello {{ given_name }}\n{# note #}\nDear {{ given_name }},\n\nText.\n", &values)
                .unwrap();
        assert_eq!(subject, "Hello Ada");
        assert_eq!(body, "Dear Ada,\n\nText.\n");
        let e = render(path, "Hello\n\nText", &values).unwrap_err().to_string();
        assert!(e.contains("first-email.txt") && e.contains("Subject"), "{e}");
    }
}
