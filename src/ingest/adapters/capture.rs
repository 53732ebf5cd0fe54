//! Lecture capture: a Panopto-style viewing export, one row per viewing (time, user,
//! session, minutes watched). Users are mapped through the `lecture-capture` identity
//! domain (a `PROVIDER\user` login is also tried without its provider) or by email.
//! Times are local; `formats.lecture_capture_month_first` (default true, as Panopto
//! writes `11/15/2018 1:44:52 AM`) reads slashed dates as month/day.

use std::path::Path;

use super::{Sink, each_record, field, locate, open_csv};
use crate::domain::time::parse_locale_timestamp;
use crate::error::Result;

/// The identity domain of lecture-capture users.
pub const DOMAIN: &str = "lecture-capture";

/// `lecture-capture`
pub fn read(path: &Path, sink: &mut Sink) -> Result<()> {
    let (mut csv, header) = open_csv(path, sink)?;
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
    each_record(path, &mut csv, header.len(), sink, |record, line, sink| {
        let raw = || record.iter().map(String::from).collect::<Vec<_>>();
        let at = match parse_locale_timestamp(field(record, time), sink.tz, month_first) {
            Ok(at) => at,
            Err(reason) => {
                sink.reject(line, &header[time.unwrap_or(0)], reason, raw());
                return Ok(());
            }
        };
        let watched = match field(record, minutes).parse::<f64>() {
            Ok(m) if m.is_finite() && m >= 0.0 => (m * 60.0).round() as i64,
            _ => {
                sink.reject(line, &header[minutes.unwrap_or(0)], "not a number of minutes", raw());
                return Ok(());
            }
        };
        if watched == 0 {
            sink.drop_row("nothing watched");
            return Ok(());
        }
        // A `PROVIDER\user` login is tried as written, then without its provider.
        let login = field(record, user);
        let mut tries = vec![(DOMAIN, login)];
        tries.extend(login.rsplit_once('\\').map(|(_, name)| (DOMAIN, name)));
        let Some(student) = sink.student_any(&tries) else {
            return Ok(());
        };
        sink.activity(student, at, "lecture-capture", 1, Some(watched))
    })
}
