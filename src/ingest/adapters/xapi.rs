//! xAPI statements (xAPI 1.0.3, github.com/adlnet/xAPI-Spec: Part Two, section 2,
//! "Statements"; the Jisc learning-analytics recipes, github.com/jiscdev/xapi), as a
//! learning-record store exports them, in any of three layouts, told from the file itself:
//! one JSON object per line (JSON Lines); a JSON array of statements (the xAPI
//! `statements` property of a StatementResult, Part Three section 2.1.1, or a download); or
//! objects one after another, pretty-printed. Each object is a statement or the envelope an
//! LRS such as Learning Locker wraps it in (`{"statement": {...}, "stored": ..., ...}`).
//!
//! The actor is `account.name` (mapped through the `xapi` domain, then as a student id,
//! then the `vle` domain) or `mbox` (`mailto:` an email). Verbs: logged in (VLE, PC or
//! student-records login, told by the object), viewed (lecture capture when the object is
//! a recording, else VLE), facility access and borrowed (library), completed (submission),
//! attended (attendance of a timetabled session when `result.completion` is true and the
//! object names the session; `false` is an absence and adds nothing). Other verbs are
//! counted and left out. Every statement read ends in exactly one of: kept, dropped (by
//! reason), unmapped (its actor is no known student) or rejected (malformed).

use std::io::{BufRead, Read};
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
    let mut first = true;
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
        let trimmed = line_text.trim().trim_start_matches('\u{feff}');
        if trimmed.is_empty() {
            continue;
        }
        if first {
            first = false;
            // An array, or an object that does not end on its line: the file is one JSON
            // document (or objects one after another), read whole.
            // (Pretty-printed, an object's first line is its opening brace alone.)
            let whole_document = trimmed.starts_with('[') || trimmed == "{";
            if whole_document {
                let mut text = "\n".repeat(line as usize - 1);
                text.push_str(&line_text);
                reader.read_to_string(&mut text).map_err(|e| Error::io(path, e))?;
                return document(&text, sink);
            }
        }
        sink.read_row();
        match serde_json::from_str::<Value>(trimmed) {
            Ok(value) => statement(sink, line, value, trimmed)?,
            Err(e) => {
                let hint = if trimmed.starts_with('{') {
                    ""
                } else {
                    "; a file of statements holds one JSON object per line, an array of them, or pretty-printed \
                     objects one after another"
                };
                sink.reject(
                    line,
                    "",
                    format!("not a JSON statement (column {}){hint}", e.column()),
                    vec![trimmed.to_string()],
                )
            }
        }
    }
}

/// The line (1-based) of a byte offset.
fn line_at(text: &str, offset: usize) -> u64 {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() as u64 + 1
}

/// Byte offsets where each element of a top-level JSON array starts.
fn element_starts(text: &str) -> Vec<usize> {
    let (mut depth, mut in_string, mut escaped, mut expecting) = (0usize, false, false, false);
    let mut starts = Vec::new();
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expecting && !c.is_whitespace() && c != ']' {
            starts.push(i);
            expecting = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    starts
}

/// A whole document: an array of statements, or objects one after another.
fn document(text: &str, sink: &mut Sink) -> Result<()> {
    let start = text.trim_start().trim_start_matches('\u{feff}');
    if start.starts_with('[') {
        let values: Vec<Value> = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                sink.read_row();
                sink.reject(
                    e.line() as u64,
                    "",
                    format!("not a JSON array of statements (column {})", e.column()),
                    vec![],
                );
                return Ok(());
            }
        };
        let starts = element_starts(text);
        for (i, value) in values.into_iter().enumerate() {
            sink.read_row();
            let line = starts.get(i).map_or(1, |o| line_at(text, *o));
            let raw = value.to_string();
            statement(sink, line, value, &raw)?;
        }
        return Ok(());
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut offset = 0;
    loop {
        let skipped = text[offset..].len() - text[offset..].trim_start().len();
        let line = line_at(text, offset + skipped);
        match stream.next() {
            None => return Ok(()),
            Some(Ok(value)) => {
                sink.read_row();
                offset = stream.byte_offset();
                let raw = value.to_string();
                statement(sink, line, value, &raw)?;
            }
            Some(Err(e)) => {
                sink.read_row();
                sink.reject(
                    e.line() as u64,
                    "",
                    format!(
                        "not JSON (column {}): a file of statements holds one per line, an array of them, or \
                         objects one after another; nothing after this point was read",
                        e.column()
                    ),
                    vec![],
                );
                return Ok(());
            }
        }
    }
}

/// One statement (or an LRS envelope around one) read at `line`.
fn statement(sink: &mut Sink, line: u64, value: Value, raw_text: &str) -> Result<()> {
    let raw = || vec![raw_text.to_string()];
    // Learning Locker and other LRS exports wrap each statement with what the store added.
    let statement = match value {
        Value::Object(mut envelope)
            if !envelope.contains_key("verb") && envelope.get("statement").is_some_and(Value::is_object) =>
        {
            envelope.remove("statement").unwrap_or_default()
        }
        other => other,
    };
    if statement["verb"]["id"].as_str().is_none() {
        sink.reject(line, "verb.id", "missing", raw());
        return Ok(());
    }
    let Some(stamp) = statement["timestamp"].as_str() else {
        sink.reject(line, "timestamp", "missing", raw());
        return Ok(());
    };
    let at = match parse_timestamp(stamp, sink.tz) {
        Ok(at) => at,
        Err(reason) => {
            sink.reject(line, "timestamp", reason, raw());
            return Ok(());
        }
    };
    let actor = &statement["actor"];
    let (account, mbox) = (actor["account"]["name"].as_str(), actor["mbox"].as_str());
    if account.is_none() && mbox.is_none() {
        sink.reject(line, "actor", "neither account.name nor mbox", raw());
        return Ok(());
    }
    // The verb first: a statement left out for its verb is dropped, never also unmapped.
    let Some(verb) = verb_of(statement["verb"]["id"].as_str().unwrap_or("")) else {
        sink.drop_row("verb not used for engagement");
        return Ok(());
    };
    let student = match (account, mbox) {
        (Some(name), _) => sink.student_any(&[("xapi", name), ("student", name), ("vle", name)]),
        (None, Some(mbox)) => sink.student("email", mbox.trim_start_matches("mailto:")),
        (None, None) => None,
    };
    let Some(student) = student else {
        return Ok(());
    };
    let words = object_words(&statement);
    let duration = statement["result"]["duration"].as_str().and_then(iso_duration);
    match verb {
        Verb::LoggedIn => {
            let source = if ["computer", "workstation", "/pc", "pc-login", "desktop"].iter().any(|w| words.contains(w))
            {
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
                return Ok(());
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
    Ok(())
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
