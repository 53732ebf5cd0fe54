//! Moodle: the `logstore_standard_log` table as exported from the database, and the Logs
//! report download (Site administration > Reports > Logs).
//!
//! Only a student's own participation counts: events at education level 2
//! (participating), by a real user, not done while an administrator was logged in as
//! them, and not anonymous. A user id is mapped through the `vle` identity domain.
//! Submissions (assignment submitted, quiz attempt submitted, ...) become `submission`
//! activity, everything else `vle`. The columns `ip` and `other` are never read.

use std::path::Path;

use super::{Sink, each_record, field, locate, open_csv};
use crate::error::Result;

/// Moodle events that are a student handing work in.
const SUBMISSION_EVENTS: &[&str] = &[
    "\\mod_assign\\event\\assessable_submitted",
    "\\mod_quiz\\event\\attempt_submitted",
    "\\mod_workshop\\event\\submission_created",
    "\\mod_turnitintooltwo\\event\\add_submission",
    "\\mod_coursework\\event\\assessable_submitted",
    "\\mod_lesson\\event\\lesson_ended",
];

/// The same events as the Logs report names them (English language pack).
const SUBMISSION_NAMES: &[&str] =
    &["a submission has been submitted.", "quiz attempt submitted", "submission created.", "add submission"];

/// The identity domain of Moodle user ids.
pub const DOMAIN: &str = "vle";

/// `moodle-log`: rows of `logstore_standard_log` (CSV with a header row; NULL may be
/// written as empty, `NULL` or `\N`; `timecreated` is Unix seconds).
pub fn read_log(path: &Path, sink: &mut Sink) -> Result<()> {
    let (mut csv, header) = open_csv(path, sink)?;
    let cols = locate(
        path,
        &header,
        &[
            ("eventname", true),
            ("edulevel", true),
            ("userid", true),
            ("timecreated", true),
            ("realuserid", false),
            ("anonymous", false),
        ],
    )?;
    let (event, edulevel, user, time, real, anonymous) = (
        cols["eventname"],
        cols["edulevel"],
        cols["userid"],
        cols["timecreated"],
        cols["realuserid"],
        cols["anonymous"],
    );
    each_record(path, &mut csv, header.len(), sink, |record, line, sink| {
        let raw = || record.iter().map(String::from).collect::<Vec<_>>();
        let Ok(level) = field(record, edulevel).parse::<i64>() else {
            sink.reject(line, "edulevel", "not a whole number", raw());
            return Ok(());
        };
        let Ok(seconds) = field(record, time).parse::<i64>() else {
            sink.reject(line, "timecreated", "not Unix seconds", raw());
            return Ok(());
        };
        if !(0..=32_503_680_000).contains(&seconds) {
            sink.reject(line, "timecreated", "out of range", raw());
            return Ok(());
        }
        if level != 2 {
            sink.drop_row("not the student's participation (edulevel is not 2)");
            return Ok(());
        }
        if !matches!(field(record, real), "" | "0") {
            sink.drop_row("done by another user logged in as the student");
            return Ok(());
        }
        if field(record, anonymous) == "1" {
            sink.drop_row("anonymous event");
            return Ok(());
        }
        let userid = field(record, user);
        if matches!(userid, "" | "0" | "-1") {
            sink.drop_row("no user (system event)");
            return Ok(());
        }
        let Some(student) = sink.student(DOMAIN, userid) else {
            return Ok(());
        };
        let name = field(record, event);
        let source = if SUBMISSION_EVENTS.iter().any(|e| name.eq_ignore_ascii_case(e)) { "submission" } else { "vle" };
        sink.activity(student, seconds * 1_000_000, source, 1, None)
    })
}

/// The user id in a Logs report description: "The user with id '123' viewed ...".
fn user_in_description(description: &str) -> Option<&str> {
    let start = description.find("user with id '")? + "user with id '".len();
    let rest = &description[start..];
    let end = rest.find('\'')?;
    let id = &rest[..end];
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// `moodle-report`: the Logs report download (`Time,User full name,Affected user,Event
/// context,Component,Event name,Description,Origin,IP address`); times are the site's
/// local time, day-first unless `formats.moodle_report_month_first`.
pub fn read_report(path: &Path, sink: &mut Sink) -> Result<()> {
    let (mut csv, header) = open_csv(path, sink)?;
    let cols = locate(path, &header, &[("Time", true), ("Event name", true), ("Description", true)])?;
    let (time, event, description) = (cols["Time"], cols["Event name"], cols["Description"]);
    let month_first = sink.settings.moodle_report_month_first;
    each_record(path, &mut csv, header.len(), sink, |record, line, sink| {
        let raw = || record.iter().map(String::from).collect::<Vec<_>>();
        let at = match crate::domain::time::parse_locale_timestamp(field(record, time), sink.tz, month_first) {
            Ok(at) => at,
            Err(reason) => {
                sink.reject(line, "Time", reason, raw());
                return Ok(());
            }
        };
        let text = field(record, description);
        if text.contains("logged in as") {
            sink.drop_row("done by another user logged in as the student");
            return Ok(());
        }
        let Some(userid) = user_in_description(text) else {
            sink.drop_row("no user id in the description");
            return Ok(());
        };
        if userid == "0" {
            sink.drop_row("no user (system event)");
            return Ok(());
        }
        let Some(student) = sink.student(DOMAIN, userid) else {
            return Ok(());
        };
        let name = field(record, event).to_lowercase();
        let source = if SUBMISSION_NAMES.contains(&name.as_str()) { "submission" } else { "vle" };
        sink.activity(student, at, source, 1, None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_come_from_the_description() {
        assert_eq!(user_in_description("The user with id '123' viewed the course with id '45'."), Some("123"));
        assert_eq!(user_in_description("The user with id '' viewed"), None);
        assert_eq!(user_in_description("Someone did something"), None);
    }
}
