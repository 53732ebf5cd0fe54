//! xAPI statements, one JSON object per line, as a learning-record store exports them
//! (Jisc learning-analytics profile).
//!
//! The actor is `account.name` (mapped through the `xapi` domain, then as a student id,
//! then the `vle` domain) or `mbox` (`mailto:` an email). Verbs: logged in (VLE, PC or
//! student-records login, told by the object), viewed (lecture capture when the object is
//! a recording, else VLE), facility access and borrowed (library), completed (submission),
//! attended (attendance of a timetabled session when `result.completion` is true and the
//! object names the session; `false` is an absence and adds nothing). Other verbs are
//! counted and left out.

use std::io::BufRead;
use std::path::Path;

use serde_json::Value;

use super::{Sink, text};
use crate::domain::time::parse_timestamp;
use crate::error::{Error, Result};

/// What a statement's verb becomes.
#[derive(Debug, PartialEq)]
enum Verb {
    LoggedIn,
    Viewed,
    Library,
    Completed,
    Attended,
}

fn verb_of(id: &str) -> Option<Verb> {
    let last = id.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_lowercase();
    match last.as_str() {
        "loggedin" | "logged-in" | "login" => Some(Verb::LoggedIn),
        "viewed" | "watched" | "experienced" => Some(Verb::Viewed),
        "access" | "accessed" | "facility-access" | "borrow" | "borrowed" => Some(Verb::Library),
        "completed" | "submitted" => Some(Verb::Completed),
        "attended" => Some(Verb::Attended),
        _ => None,
    }
}

/// The text naming the object: its id, type, name and extension values, lower-case.
fn object_words(statement: &Value) -> String {
    let object = &statement["object"];
    let definition = &object["definition"];
    let mut words = vec![
        object["id"].as_str().unwrap_or("").to_string(),
        definition["type"].as_str().unwrap_or("").to_string(),
        statement["context"]["platform"].as_str().unwrap_or("").to_string(),
    ];
    if let Some(names) = definition["name"].as_object() {
        words.extend(names.values().filter_map(|v| v.as_str().map(String::from)));
    }
    if let Some(extensions) = definition["extensions"].as_object() {
        words.extend(extensions.values().filter_map(|v| v.as_str().map(String::from)));
    }
    words.join(" ").to_lowercase()
}

/// Seconds in an ISO 8601 duration such as `PT1H2M3.5S`.
fn iso_duration(text: &str) -> Option<i64> {
    let rest = text.strip_prefix("PT")?;
    let (mut total, mut number) = (0f64, String::new());
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'H' | 'M' | 'S' => {
                let n: f64 = number.parse().ok()?;
                total += n * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
                number.clear();
            }
            _ => return None,
        }
    }
    number.is_empty().then_some(total.round() as i64)
}

/// `xapi`
pub fn read(path: &Path, sink: &mut Sink) -> Result<()> {
    let (mut reader, _) = text::open(path)?;
    sink.header = vec!["statement".into()];
    let mut line_text = String::new();
    let mut line = 0u64;
    loop {
        line_text.clear();
        let n = match reader.read_line(&mut line_text) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                line += 1;
                sink.read_row();
                sink.reject(line, "", "is not valid UTF-8 text", Vec::new());
                continue;
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        if n == 0 {
            return Ok(());
        }
        line += 1;
        let trimmed = line_text.trim();
        if trimmed.is_empty() {
            continue;
        }
        sink.read_row();
        let raw = || vec![trimmed.to_string()];
        let statement: Value = match serde_json::from_str(trimmed) {
            Ok(v) => v,
            Err(e) => {
                sink.reject(line, "", format!("not a JSON statement (column {})", e.column()), raw());
                continue;
            }
        };
        if statement["verb"]["id"].as_str().is_none() {
            sink.reject(line, "verb.id", "missing", raw());
            continue;
        }
        let Some(stamp) = statement["timestamp"].as_str() else {
            sink.reject(line, "timestamp", "missing", raw());
            continue;
        };
        let at = match parse_timestamp(stamp, sink.tz) {
            Ok(at) => at,
            Err(reason) => {
                sink.reject(line, "timestamp", reason, raw());
                continue;
            }
        };
        let actor = &statement["actor"];
        let student = if let Some(name) = actor["account"]["name"].as_str() {
            sink.student_any(&[("xapi", name), ("student", name), ("vle", name)])
        } else if let Some(mbox) = actor["mbox"].as_str() {
            sink.student("email", mbox.trim_start_matches("mailto:"))
        } else {
            sink.reject(line, "actor", "neither account.name nor mbox", raw());
            continue;
        };
        let verb = verb_of(statement["verb"]["id"].as_str().unwrap_or(""));
        let Some(verb) = verb else {
            sink.drop_row("verb not used for engagement");
            continue;
        };
        let Some(student) = student else {
            continue;
        };
        let words = object_words(&statement);
        let duration = statement["result"]["duration"].as_str().and_then(iso_duration);
        match verb {
            Verb::LoggedIn => {
                let source =
                    if ["computer", "workstation", "/pc", "pc-login", "desktop"].iter().any(|w| words.contains(w)) {
                        "pc-login"
                    } else if ["record", "sits", "banner", "tribal"].iter().any(|w| words.contains(w)) {
                        "records-login"
                    } else {
                        "vle"
                    };
                sink.activity(student, at, source, 1, None)?;
            }
            Verb::Viewed => {
                let capture = ["video", "recording", "lecture-capture", "panopto", "echo360", "kaltura"]
                    .iter()
                    .any(|w| words.contains(w));
                sink.activity(student, at, if capture { "lecture-capture" } else { "vle" }, 1, duration)?;
            }
            Verb::Library => sink.activity(student, at, "library", 1, None)?,
            Verb::Completed => sink.activity(student, at, "submission", 1, None)?,
            Verb::Attended => {
                if statement["result"]["completion"].as_bool() != Some(true) {
                    sink.drop_row("attendance statement marking an absence");
                    continue;
                }
                let found = sink.sessions().iter().position(|s| {
                    let id = s.id.to_lowercase();
                    words.split_whitespace().any(|w| w == id || w.ends_with(&format!("/{id}")))
                });
                match found {
                    Some(session) => sink.attended(student, session, at),
                    None => sink.drop_row("attendance of a session not in the timetable"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_and_durations() {
        assert_eq!(verb_of("https://brindlewaye.com/xAPITerms/verbs/loggedin/"), Some(Verb::LoggedIn));
        assert_eq!(verb_of("http://adlnet.gov/expapi/verbs/attended"), Some(Verb::Attended));
        assert_eq!(verb_of("http://activitystrea.ms/schema/1.0/borrow"), Some(Verb::Library));
        assert_eq!(verb_of("http://adlnet.gov/expapi/verbs/answered"), None);
        assert_eq!(iso_duration("PT1H2M3S"), Some(3723));
        assert_eq!(iso_duration("PT30.4S"), Some(30));
        assert_eq!(iso_duration("P1D"), None);
    }
}
