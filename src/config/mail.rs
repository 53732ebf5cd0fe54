//! `[mail]`: the e-mails the escalation ladder sends students (`rollcall mail send`): the
//! SMTP server, the sender, and the quiet periods that hold messages.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::year::MonthDay;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine (`127.0.0.1`).
    None,
}

/// `[mail]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The SMTP server; unset, `rollcall mail send` creates messages but sends none.
    pub host: Option<String>,
    /// The server's port.
    pub port: u16,
    /// `starttls` (the default), `tls`, or `none` for a relay on this machine only.
    pub security: Security,
    /// A PEM file of certificate authorities to trust besides the system's (a university's
    /// own CA, say).
    pub ca_file: Option<std::path::PathBuf>,
    /// The sender, e.g. `Student Engagement <engagement@example.ac.uk>`.
    pub from: Option<String>,
    /// The environment variable holding the SMTP user name (never this file).
    pub username_env: Option<String>,
    /// The environment variable holding the SMTP password (never this file).
    pub password_env: Option<String>,
    /// Periods no message is sent in (vacations), `MM-DD` to `MM-DD`, either year end
    /// crossed; bank holidays (the `bank_holidays` table) are quiet too.
    pub quiet: Vec<QuietPeriod>,
    /// Failed attempts (the server refused or could not be reached) before a message is
    /// given up and listed for staff.
    pub max_attempts: u32,
}

/// A quiet period: from one day of the year to another, both included.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietPeriod {
    /// The first quiet day.
    pub from: MonthDay,
    /// The last quiet day.
    pub to: MonthDay,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            host: None,
            port: 587,
            security: Security::Starttls,
            ca_file: None,
            from: None,
            username_env: None,
            password_env: None,
            quiet: Vec::new(),
            max_attempts: 5,
        }
    }
}

impl MailConfig {
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if self.host.is_some() && self.from.as_deref().is_none_or(|f| f.trim().is_empty()) {
            return Err("mail.from: a sender is needed when mail.host is set".into());
        }
        if let Some(from) = &self.from
            && from.parse::<lettre::message::Mailbox>().is_err()
        {
            return Err(
                "mail.from: not an e-mail address (e.g. \"Student Engagement <engagement@example.ac.uk>\")".into()
            );
        }
        if self.username_env.is_some() != self.password_env.is_some() {
            return Err("mail.username_env and mail.password_env go together".into());
        }
        if self.max_attempts == 0 {
            return Err("mail.max_attempts must be at least 1".into());
        }
        Ok(())
    }

    /// The quiet period `day` falls in, if any (bank holidays are checked by the caller).
    pub fn quiet_on(&self, day: NaiveDate) -> Option<&QuietPeriod> {
        let on = (day.month(), day.day());
        self.quiet.iter().find(|q| {
            let (from, to) = (q.from.parts(), q.to.parts());
            if from <= to { from <= on && on <= to } else { on >= from || on <= to }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(from: &str, to: &str) -> QuietPeriod {
        QuietPeriod { from: from.parse().unwrap(), to: to.parse().unwrap() }
    }

    #[test]
    fn a_quiet_period_may_cross_the_year_end() {
        let config =
            MailConfig { quiet: vec![period("12-20", "01-04"), period("04-01", "04-14")], ..Default::default() };
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(config.quiet_on(day("2026-12-20")).is_some());
        assert!(config.quiet_on(day("2026-12-31")).is_some());
        assert!(config.quiet_on(day("2027-01-04")).is_some());
        assert!(config.quiet_on(day("2027-01-05")).is_none());
        assert!(config.quiet_on(day("2026-12-19")).is_none());
        assert!(config.quiet_on(day("2027-04-14")).is_some());
        assert!(config.quiet_on(day("2027-04-15")).is_none());
    }

    #[test]
    fn a_sender_is_needed_with_a_server_and_must_be_an_address() {
        let mut config = MailConfig { host: Some("smtp.example.ac.uk".into()), ..Default::default() };
        assert!(config.validate().unwrap_err().contains("mail.from"));
        config.from = Some("not an address".into());
        assert!(config.validate().unwrap_err().contains("mail.from"));
        config.from = Some("Student Engagement <engagement@example.ac.uk>".into());
        assert!(config.validate().is_ok());
    }
}
