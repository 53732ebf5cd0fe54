//! Lecture capture: a Panopto-style viewing export, one row per viewing (time, user,
//! session, minutes watched). Users are mapped through the `lecture-capture` identity
//! domain (a `PROVIDER\user` login is also tried without its provider) or by email.
//! Times are local; `formats.lecture_capture_month_first` (default true, as Panopto
//! writes `11/15/2018 1:44:52 AM`) reads slashed dates as month/day.

use std::path::Path;

use super::{Sink, field, locate, text};
use crate::error::{Error, Result};
use crate::ingest::time::parse_locale_timestamp;

/// The identity domain of lecture-capture users.
pub const DOMAIN: &str = "lecture-capture";

/// `lecture-capture`
pub fn read(path: &Path, sink: &mut Sink) -> Result<()> {
    let (reader, _) = text::open(path)?;
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header: Vec<String> = csv
        .headers()
        .map_err(|e| Error::Rejected { summary: format!("{}:1: the header cannot be read: {e}", path.display()) })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let cols = locate(
        path,
        &header,
        &[
            ("Timestamp|Time|Date|Viewed At|StartTime", true),
            ("UserName|User|User Name|Email|UserEmail|Viewer", true),
            ("Minutes Watched|MinutesDelivered|Minutes Delivered|Minutes|MinutesViewed", true),
            ("Session|SessionName|Session Name|SessionId", false),
        ],
    )?;
    let time = cols["Timestamp|Time|Date|Viewed At|StartTime"];
    let user = cols["UserName|User|User Name|Email|UserEmail|Viewer"];
    let minutes = cols["Minutes Watched|MinutesDelivered|Minutes Delivered|Minutes|MinutesViewed"];
    let month_first = sink.settings.lecture_capture_month_first;
    sink.header = header.clone();
    let width = header.len();
    let mut record = csv::StringRecord::new();
    loop {
        let more = match csv.read_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(Error::io(path, std::io::Error::other(e.to_string())));
                }
                sink.read_row();
                sink.reject(line, "", "cannot be read as CSV text", Vec::new());
                continue;
            }
        };
        if !more {
            return Ok(());
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        sink.read_row();
        let raw = || record.iter().map(String::from).collect::<Vec<_>>();
        let trailing_empty = record.len() == width + 1 && record.get(width).is_some_and(|f| f.trim().is_empty());
        if record.len() != width && !trailing_empty {
            sink.reject(line, "", format!("has {} fields, the header has {width}", record.len()), raw());
            continue;
        }
        let at = match parse_locale_timestamp(field(&record, time), sink.tz, month_first) {
            Ok(at) => at,
            Err(reason) => {
                sink.reject(line, &header[time.unwrap_or(0)], reason, raw());
                continue;
            }
        };
        let watched = match field(&record, minutes).parse::<f64>() {
            Ok(m) if m.is_finite() && m >= 0.0 => (m * 60.0).round() as i64,
            _ => {
                sink.reject(line, &header[minutes.unwrap_or(0)], "not a number of minutes", raw());
                continue;
            }
        };
        if watched == 0 {
            sink.drop_row("nothing watched");
            continue;
        }
        let login = field(&record, user).to_string();
        let login = match login.rsplit_once('\\') {
            Some((_, name)) if sink.identities.resolve(DOMAIN, &login).is_none() => name.to_string(),
            _ => login,
        };
        let Some(student) = sink.student(DOMAIN, &login) else {
            continue;
        };
        sink.activity(student, at, "lecture-capture", 1, Some(watched))?;
    }
}
