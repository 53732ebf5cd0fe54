//! Microsoft Teams meeting attendance reports.
//!
//! Teams writes UTF-16 with a byte-order mark (either order), tab-separated although the
//! file is named `.csv`, in sections: `1. Summary` (meeting title, start and end time),
//! `2. Participants` (one row per person: first join, last leave, in-meeting duration,
//! email, UPN, role) and `3. In-Meeting activities` (one row per join, not needed once the
//! participants are known). Older reports are a single table `Full Name / User Action /
//! Timestamp` of Joined and Left rows, with the meeting title taken from the file name.
//! Times are local and written in the downloader's locale (`formats.teams_month_first`);
//! durations like `1h 27m 51s`.
//!
//! A participant is mapped through the `teams` domain (UPN) or by email. When the meeting
//! is a timetabled online session (overlapping in time, and its title contains the
//! session's module code or a `[[formats.teams_meetings]]` mapping names it), a participant
//! present during the session has attended it; otherwise the meeting is online-meeting
//! activity at the participant's first join.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

use super::{Sink, locate, text};
use crate::domain::time::{parse_duration, parse_locale_timestamp};
use crate::error::{Error, Result};

/// The identity domain of Teams accounts (UPN).
pub const DOMAIN: &str = "teams";

#[derive(Debug, Default)]
struct Person {
    name: String,
    email: String,
    upn: String,
    first_join: Option<i64>,
    last_leave: Option<i64>,
    duration_s: Option<i64>,
}

#[derive(Debug, PartialEq, Clone, Copy)]
enum Section {
    Start,
    Summary,
    Participants,
    Activities,
    Legacy,
}

fn section_of(line: &str) -> Option<Section> {
    let l = line.trim().trim_matches('"').to_lowercase();
    let rest = l.strip_prefix(|c: char| c.is_ascii_digit())?.strip_prefix('.')?.trim();
    match rest {
        "summary" => Some(Section::Summary),
        "participants" => Some(Section::Participants),
        "in-meeting activities" | "in-meeting activity" => Some(Section::Activities),
        _ => None,
    }
}

/// `teams-attendance`
pub fn read(path: &Path, sink: &mut Sink) -> Result<()> {
    let (reader, _) = text::open(path)?;
    let month_first = sink.settings.teams_month_first;
    let mut section = Section::Start;
    // The current table's header and its columns, located once per table.
    let mut header: Option<(Vec<String>, Columns)> = None;
    let mut summary: BTreeMap<String, String> = BTreeMap::new();
    let mut people: Vec<Person> = Vec::new();
    let mut legacy: BTreeMap<String, Person> = BTreeMap::new();
    let mut line = 0u64;
    for text_line in reader.lines() {
        let text_line = text_line.map_err(|e| Error::io(path, e))?;
        line += 1;
        if text_line.trim().is_empty() {
            if section != Section::Legacy {
                header = None;
            }
            continue;
        }
        if let Some(next) = section_of(&text_line) {
            section = next;
            header = None;
            continue;
        }
        let fields = text::split_tabs(&text_line);
        if section == Section::Start {
            // The older single table starts with its header, without sections.
            let lower: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
            if lower.iter().any(|f| f == "user action") {
                section = Section::Legacy;
            } else {
                return Err(Error::Rejected {
                    summary: format!(
                        "{}:{line}: not a Teams attendance report (expected '1. Summary' or a 'Full Name, User Action, Timestamp' header)",
                        path.display()
                    ),
                });
            }
        }
        match section {
            Section::Summary => {
                if let [key, value, ..] = fields.as_slice() {
                    summary.insert(key.to_lowercase(), value.clone());
                }
            }
            Section::Participants | Section::Legacy | Section::Activities => {
                let Some((head, cols)) = &header else {
                    let wanted: &[(&'static str, bool)] = match section {
                        Section::Participants => PARTICIPANT_COLUMNS,
                        Section::Legacy => LEGACY_COLUMNS,
                        _ => &[],
                    };
                    let cols = locate(path, &fields, wanted)?;
                    if sink.header.is_empty() {
                        sink.header = fields.clone();
                    }
                    header = Some((fields, cols));
                    continue;
                };
                sink.read_row();
                let width = head.len();
                let fields = if fields.len() == width + 1 && fields[width].is_empty() {
                    fields[..width].to_vec()
                } else {
                    fields
                };
                if fields.len() == 1 && width > 1 && fields[0].contains(' ') {
                    sink.reject(line, "", "fields are separated by spaces, not tabs", fields);
                    continue;
                }
                if fields.len() != width {
                    sink.reject(line, "", format!("has {} fields, the header has {width}", fields.len()), fields);
                    continue;
                }
                match section {
                    Section::Participants => {
                        if let Some(person) = participant(head, cols, &fields, line, sink, month_first) {
                            people.push(person);
                        }
                    }
                    Section::Legacy => legacy_row(head, cols, &fields, line, sink, month_first, &mut legacy),
                    _ => sink.drop_row("per-join detail (the participants section is used)"),
                }
            }
            Section::Start => {}
        }
    }
    people.extend(legacy.into_values());
    let title = summary
        .get("meeting title")
        .or_else(|| summary.get("title"))
        .cloned()
        .unwrap_or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let when = |key: &str| summary.get(key).and_then(|v| parse_locale_timestamp(v, sink.tz, month_first).ok());
    let start = when("start time").or_else(|| people.iter().filter_map(|p| p.first_join).min());
    let end = when("end time").or_else(|| people.iter().filter_map(|p| p.last_leave).max());
    let session = match (start, end) {
        (Some(start), Some(end)) => match_session(sink, &title, start, end),
        _ => None,
    };
    for person in people {
        let Some(joined) = person.first_join else {
            continue;
        };
        let identifier = if !person.upn.is_empty() {
            person.upn.clone()
        } else if !person.email.is_empty() {
            person.email.clone()
        } else {
            person.name.clone()
        };
        let Some(student) = sink.student(DOMAIN, &identifier) else {
            continue;
        };
        let left = person.last_leave.unwrap_or(joined + person.duration_s.unwrap_or(0) * 1_000_000);
        match session {
            Some(i) if joined <= sink.sessions()[i].ends_at && left >= sink.sessions()[i].starts_at => {
                sink.attended(student, i, joined)
            }
            _ => {
                let duration = person.duration_s.or(Some((left - joined) / 1_000_000));
                sink.activity(student, joined, "online-meeting", 1, duration)?
            }
        }
    }
    Ok(())
}

/// Columns of a report table by wanted name (`a|b` for either).
type Columns = HashMap<&'static str, Option<usize>>;

const PARTICIPANT_COLUMNS: &[(&str, bool)] = &[
    ("Name|Full Name", true),
    ("First Join|Join Time", true),
    ("Last Leave|Leave Time", false),
    ("In-Meeting Duration|Duration|Attendance Duration", false),
    ("Email", false),
    ("Participant ID (UPN)|UPN|Participant ID", false),
];

const LEGACY_COLUMNS: &[(&str, bool)] = &[("Full Name|Name", true), ("User Action", true), ("Timestamp", true)];

/// The parsed value of a cell, `None` when it is empty; a value that does not parse
/// rejects the row, naming the column, and gives `Err`.
fn cell<T>(
    sink: &mut Sink,
    line: u64,
    head: &[String],
    fields: &[String],
    col: Option<usize>,
    parse: impl Fn(&str) -> std::result::Result<T, String>,
) -> std::result::Result<Option<T>, ()> {
    let Some(i) = col else { return Ok(None) };
    let text = fields[i].trim();
    if text.is_empty() {
        return Ok(None);
    }
    parse(text).map(Some).map_err(|reason| sink.reject(line, &head[i], reason, fields.to_vec()))
}

/// As [`cell`], for a column every row must fill: an empty cell rejects the row too.
fn required<T>(
    sink: &mut Sink,
    line: u64,
    head: &[String],
    fields: &[String],
    col: Option<usize>,
    parse: impl Fn(&str) -> std::result::Result<T, String>,
) -> Option<T> {
    match cell(sink, line, head, fields, col, parse) {
        Ok(Some(value)) => Some(value),
        Ok(None) => {
            sink.reject(line, &head[col.unwrap_or(0)], "missing", fields.to_vec());
            None
        }
        Err(()) => None,
    }
}

fn participant(
    head: &[String],
    cols: &Columns,
    fields: &[String],
    line: u64,
    sink: &mut Sink,
    month_first: bool,
) -> Option<Person> {
    let text = |k: &str| cols[k].map(|i| fields[i].trim().to_string()).unwrap_or_default();
    let tz = sink.tz;
    let when = |t: &str| parse_locale_timestamp(t, tz, month_first);
    let first_join = Some(required(sink, line, head, fields, cols["First Join|Join Time"], when)?);
    let last_leave = cell(sink, line, head, fields, cols["Last Leave|Leave Time"], when).ok()?;
    let duration_s =
        cell(sink, line, head, fields, cols["In-Meeting Duration|Duration|Attendance Duration"], parse_duration)
            .ok()?;
    Some(Person {
        name: text("Name|Full Name"),
        email: text("Email"),
        upn: text("Participant ID (UPN)|UPN|Participant ID"),
        first_join,
        last_leave,
        duration_s,
    })
}

fn legacy_row(
    head: &[String],
    cols: &Columns,
    fields: &[String],
    line: u64,
    sink: &mut Sink,
    month_first: bool,
    people: &mut BTreeMap<String, Person>,
) {
    let tz = sink.tz;
    let when = |t: &str| parse_locale_timestamp(t, tz, month_first);
    let Some(at) = required(sink, line, head, fields, cols["Timestamp"], when) else {
        return;
    };
    let name = fields[cols["Full Name|Name"].unwrap_or(0)].trim().to_string();
    let action = fields[cols["User Action"].unwrap_or(0)].trim().to_lowercase();
    let person = people.entry(name.clone()).or_insert_with(|| Person { name, ..Default::default() });
    match action.as_str() {
        "joined" | "joined before" => person.first_join = Some(person.first_join.map_or(at, |t| t.min(at))),
        "left" => person.last_leave = Some(person.last_leave.map_or(at, |t| t.max(at))),
        _ => sink.reject(line, "User Action", "not Joined or Left", fields.to_vec()),
    }
}

/// The timetabled online session a meeting is, if any: overlapping in time, named by a
/// `[[formats.teams_meetings]]` entry for the title or carrying its module code in the title;
/// the largest overlap wins.
fn match_session(sink: &Sink, title: &str, start: i64, end: i64) -> Option<usize> {
    let title_lower = title.to_lowercase();
    let mapping = sink.settings.teams_meetings.iter().find(|m| m.title.trim().eq_ignore_ascii_case(title.trim()));
    sink.sessions()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.starts_at <= end && s.ends_at >= start)
        .filter(|(_, s)| match mapping {
            Some(m) => {
                m.session_id.as_deref().is_some_and(|id| id == s.id)
                    || m.module_code.as_deref().is_some_and(|code| code.eq_ignore_ascii_case(&s.module))
            }
            None => {
                (s.delivery.contains("online") || s.room.starts_with("online:"))
                    && !s.module.is_empty()
                    && title_lower.contains(&s.module.to_lowercase())
            }
        })
        .max_by_key(|(_, s)| s.ends_at.min(end) - s.starts_at.max(start))
        .map(|(i, _)| i)
}
