//! Microsoft Teams meeting attendance reports, as Teams writes them (Microsoft Learn,
//! "Meeting attendance reports in Microsoft Teams": the downloaded report's sections and
//! columns; and the older single-table attendance list of 2020-21).
//!
//! Teams writes UTF-16 with a byte-order mark (either order), tab-separated although the
//! file is named `.csv`, in sections: `1. Summary` (meeting title, start and end time),
//! `2. Participants` (one row per person: first join, last leave, in-meeting duration,
//! email, UPN, role) and `3. In-Meeting activities` (one row per join, not needed once the
//! participants are known). Older reports are a single table `Full Name / User Action /
//! Timestamp` of Joined and Left rows, with the meeting title taken from the file name;
//! saved again from Excel it may be comma-separated UTF-8, which is read too. A
//! participant's time in the older list is the sum of their join-to-leave intervals, not
//! first join to last leave. Durations like `1h 27m 51s`.
//!
//! Times are local and written in the downloader's locale. Whether `10/5/2021` is 10 May
//! or 5 October is settled per file from the file itself: a first field over 12 means
//! day/month, a second over 12 month/day, AM/PM (US English) month/day. A file whose dates
//! show neither is read by `formats.teams_month_first` if it is set, and refused, naming
//! that setting, if it is not: never guessed.
//!
//! A participant is mapped by their UPN, then their e-mail address (each through the
//! `teams` identity domain, then the students' e-mail addresses). When the meeting is a
//! timetabled online session (overlapping in time, and its title contains the session's
//! module code or a `[[formats.teams_meetings]]` mapping names it), a participant present
//! during the session has attended it; otherwise the meeting is online-meeting activity at
//! the participant's first join.

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
    /// The older list's Joined (true) and Left (false) rows, and how many rows there were.
    events: Vec<(i64, bool)>,
    rows: u64,
}

impl Person {
    /// Time in the meeting from the older list's rows: the sum of each join to the leave
    /// that follows it.
    fn time_in_meeting(&self) -> Option<i64> {
        let mut events = self.events.clone();
        events.sort();
        let (mut total, mut since) = (0, None);
        for (at, joined) in events {
            match (joined, since) {
                (true, None) => since = Some(at),
                (false, Some(from)) => {
                    total += (at - from) / 1_000_000;
                    since = None;
                }
                _ => {}
            }
        }
        (!self.events.is_empty()).then_some(total)
    }
}

/// A date written `a/b/yyyy` (or with dots or dashes, 2- or 4-digit year) at the start of
/// a field: its first two numbers and whether the field ends in AM or PM.
fn slashed_date(field: &str) -> Option<(u32, u32, bool)> {
    let field = field.trim();
    let date = field.split([' ', ',']).next()?;
    let mut parts = date.split(['/', '.', '-']);
    let (a, b, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !(y.len() == 2 || y.len() == 4) || a.len() > 2 || b.len() > 2 {
        return None;
    }
    let (a, b) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
    y.parse::<u32>().ok()?;
    let upper = field.to_uppercase();
    Some((a, b, upper.ends_with(" AM") || upper.ends_with(" PM")))
}

/// Whether the report's dates are month/day, settled from the report itself (see the
/// module's description); `configured` is `formats.teams_month_first`.
fn month_first(path: &Path, rows: &[(u64, Vec<String>)], configured: Option<bool>) -> Result<bool> {
    let (mut day_first_at, mut month_first_at, mut meridiem, mut any) = (None, None, false, false);
    for (line, fields) in rows {
        for (a, b, pm) in fields.iter().filter_map(|f| slashed_date(f)) {
            any = true;
            meridiem |= pm;
            if a > 12 {
                day_first_at.get_or_insert(*line);
            }
            if b > 12 {
                month_first_at.get_or_insert(*line);
            }
        }
    }
    match (day_first_at, month_first_at) {
        (Some(d), Some(m)) => Err(Error::Rejected {
            summary: format!(
                "{}: its dates are written in both orders (line {d} is day/month, line {m} month/day); nothing was \
                 read",
                path.display()
            ),
        }),
        (Some(_), None) => Ok(false),
        (None, Some(_)) => Ok(true),
        (None, None) if meridiem => Ok(true),
        (None, None) if !any => Ok(configured.unwrap_or(false)),
        (None, None) => configured.ok_or_else(|| Error::Rejected {
            summary: format!(
                "{}: its dates could be day/month or month/day and nothing in it says which (no day over 12, no AM/PM); \
                 set formats.teams_month_first in rollcall.toml (true for month/day, as US English writes) and ingest \
                 it again; nothing was read",
                path.display()
            ),
        }),
    }
}

/// The report's lines as (line number, fields): tab-separated as Teams writes it, or
/// comma-separated (with quotes) as Excel saves the older list again.
fn split_lines(lines: &[String]) -> Vec<(u64, Vec<String>)> {
    let comma = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && section_of(l).is_none())
        .is_some_and(|l| !l.contains('\t') && l.contains(','));
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let fields = if comma {
                csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(l.as_bytes())
                    .records()
                    .next()
                    .and_then(|r| r.ok())
                    .map(|r| r.iter().map(|f| f.trim().to_string()).collect())
                    .unwrap_or_default()
            } else {
                text::split_tabs(l)
            };
            (i as u64 + 1, fields)
        })
        .collect()
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
    let lines: Vec<String> = reader.lines().collect::<std::io::Result<_>>().map_err(|e| Error::io(path, e))?;
    let rows = split_lines(&lines);
    let month_first = month_first(path, &rows, sink.settings.teams_month_first)?;
    let mut section = Section::Start;
    // The current table's header and its columns, located once per table.
    let mut header: Option<(Vec<String>, Columns)> = None;
    let mut summary: BTreeMap<String, String> = BTreeMap::new();
    let mut people: Vec<Person> = Vec::new();
    let mut legacy: BTreeMap<String, Person> = BTreeMap::new();
    for (text_line, (line, fields)) in lines.iter().zip(rows) {
        if text_line.trim().is_empty() {
            if section != Section::Legacy {
                header = None;
            }
            continue;
        }
        if let Some(next) = section_of(text_line) {
            section = next;
            header = None;
            continue;
        }
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
    for mut person in legacy.into_values() {
        // One participant from several rows: the rows after the first are accounted as such.
        for _ in 1..person.rows {
            sink.drop_row("a further join or leave of a participant already counted");
        }
        person.duration_s = person.time_in_meeting();
        people.push(person);
    }
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
        // The UPN, then the e-mail address (a student whose UPN differs from their
        // address), then, in the older list, the name (often the address).
        let tries: Vec<(&str, &str)> = [person.upn.as_str(), person.email.as_str(), person.name.as_str()]
            .into_iter()
            .filter(|id| !id.is_empty())
            .map(|id| (DOMAIN, id))
            .collect();
        let Some(student) = sink.student_any(&tries) else {
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
        ..Default::default()
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
    let joined = match action.as_str() {
        "joined" | "joined before" => true,
        "left" => false,
        _ => return sink.reject(line, "User Action", "not Joined or Left", fields.to_vec()),
    };
    let person = people.entry(name.clone()).or_insert_with(|| Person { name, ..Default::default() });
    person.rows += 1;
    person.events.push((at, joined));
    if joined {
        person.first_join = Some(person.first_join.map_or(at, |t| t.min(at)));
    } else {
        person.last_leave = Some(person.last_leave.map_or(at, |t| t.max(at)));
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
