//! Dates and ISO 8601 timestamps as the interchange contract writes them.
//!
//! A timestamp without an offset is local time in the configured zone (Europe/London):
//! the clock changes are applied, a time that does not exist (the hour skipped in March)
//! is refused, and an ambiguous one (the hour repeated in October) is read as its first
//! occurrence. Timestamps are stored as microseconds since the Unix epoch, UTC; days as
//! days since the epoch (Arrow `Date32`), in local time.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Parses `YYYY-MM-DD` into days since the Unix epoch.
pub fn parse_date(text: &str) -> Result<i32, String> {
    parse_ymd(text).map(date_to_days)
}

fn parse_ymd(text: &str) -> Result<NaiveDate, String> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err("not a date (expected YYYY-MM-DD)".into());
    }
    let (y, m, d) = (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10]));
    match (y, m, d) {
        (Some(y), Some(m), Some(d)) => {
            NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(|| "not a calendar date".to_string())
        }
        _ => Err("not a date (expected YYYY-MM-DD)".into()),
    }
}

/// Days since the Unix epoch for a calendar date.
pub fn date_to_days(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

/// The calendar date of a day number.
pub fn days_to_date(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days + EPOCH_DAYS_FROM_CE).expect("day number in range")
}

/// Parses an ISO 8601 timestamp into microseconds since the epoch (UTC).
///
/// Accepts `YYYY-MM-DDTHH:MM[:SS[.ffffff]]` (a space may stand for `T`) followed by
/// nothing (local time in `tz`), `Z`, or an offset `+HH:MM`, `+HHMM` or `+HH`.
pub fn parse_timestamp(text: &str, tz: Tz) -> Result<i64, String> {
    parse_timestamp_on(text, &mut LocalClock::new(tz))
}

/// [`parse_timestamp`] with the zone's offsets remembered in `clock`, for many timestamps.
pub fn parse_timestamp_on(text: &str, clock: &mut LocalClock) -> Result<i64, String> {
    const SHAPE: &str = "not an ISO 8601 timestamp (expected YYYY-MM-DDTHH:MM:SS)";
    let b = text.as_bytes();
    if b.len() < 16 || (b[10] != b'T' && b[10] != b' ' && b[10] != b't') {
        return Err(SHAPE.into());
    }
    let date = clock.date_of(&text[..10]).map_err(|_| SHAPE.to_string())?;
    if b[13] != b':' {
        return Err(SHAPE.into());
    }
    let hour = digits(&b[11..13]).ok_or(SHAPE)?;
    let minute = digits(&b[14..16]).ok_or(SHAPE)?;
    let mut pos = 16;
    let mut second = 0;
    let mut micros = 0u32;
    if b.get(pos) == Some(&b':') {
        second = b.get(pos + 1..pos + 3).and_then(digits).ok_or(SHAPE)?;
        pos += 3;
        if matches!(b.get(pos), Some(b'.') | Some(b',')) {
            pos += 1;
            let start = pos;
            while pos < b.len() && b[pos].is_ascii_digit() {
                pos += 1;
            }
            let frac = &b[start..pos];
            if frac.is_empty() {
                return Err(SHAPE.into());
            }
            let mut value = 0u32;
            for (i, c) in frac.iter().take(6).enumerate() {
                value += u32::from(c - b'0') * 10u32.pow(5 - i as u32);
            }
            micros = value;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("not a valid time of day".into());
    }
    let rest = &b[pos..];
    let offset_seconds: Option<i64> = match rest {
        [] => None,
        [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (h, m) = match tail {
                [h1, h2] => (digits(&[*h1, *h2]), Some(0)),
                [h1, h2, m1, m2] => (digits(&[*h1, *h2]), digits(&[*m1, *m2])),
                [h1, h2, b':', m1, m2] => (digits(&[*h1, *h2]), digits(&[*m1, *m2])),
                _ => (None, None),
            };
            match (h, m) {
                (Some(h), Some(m)) if h <= 23 && m <= 59 => {
                    let s = i64::from(h * 3600 + m * 60);
                    Some(if *sign == b'-' { -s } else { s })
                }
                _ => return Err("not a valid UTC offset (expected +HH:MM)".into()),
            }
        }
        _ => return Err(SHAPE.into()),
    };
    let after_midnight = i64::from(hour * 3600 + minute * 60 + second) * 1_000_000 + i64::from(micros);
    let utc = match offset_seconds {
        Some(offset) => {
            date.and_time(NaiveTime::MIN).and_utc().timestamp_micros() + after_midnight - offset * 1_000_000
        }
        None => clock.utc_at(date, after_midnight)?,
    };
    // Years 1 to 9999 in UTC too (an offset can push 0001-01-01T00:00+01:00 out of range).
    const FIRST: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00Z
    const AFTER_LAST: i64 = 253_402_300_800_000_000; // 10000-01-01T00:00:00Z
    if !(FIRST..AFTER_LAST).contains(&utc) {
        return Err("outside the years 1 to 9999 in UTC".into());
    }
    Ok(utc)
}

/// A local wall-clock time in `tz` as microseconds since the epoch (UTC). An ambiguous time
/// on the night the clocks go back is the first occurrence; a time the clocks skipped is an error.
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> Result<i64, String> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.timestamp_micros()),
        LocalResult::Ambiguous(first, _) => Ok(first.timestamp_micros()),
        LocalResult::None => Err(format!(
            "local time does not exist in {} (the clocks went forward); give an explicit offset",
            tz.name()
        )),
    }
}

/// Parses a timestamp as export tools write them in a user's locale, as local time in `tz`:
/// `15/11/2023, 09:58:12`, `11/15/23 9:58 AM`, `4/11/22, 09:30:46`, or ISO 8601.
/// `month_first` reads `a/b/yy` as month/day (US style); otherwise day/month.
pub fn parse_locale_timestamp(text: &str, tz: Tz, month_first: bool) -> Result<i64, String> {
    const SHAPE: &str = "not a date and time (expected e.g. 15/11/2023, 09:58:12 or 2023-11-15T09:58:12)";
    let text = text.trim();
    let b = text.as_bytes();
    if b.len() >= 10 && b[4] == b'-' {
        return parse_timestamp(text, tz);
    }
    let (date, rest) = text.split_once([' ', ',']).ok_or(SHAPE)?;
    let mut parts = date.split(['/', '.', '-']);
    let (a, b2, y) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), Some(y), None) => (a, b, y),
        _ => return Err(SHAPE.into()),
    };
    let number = |s: &str| s.parse::<u32>().map_err(|_| SHAPE.to_string());
    let (a, b2, mut year) = (number(a)?, number(b2)?, number(y)? as i32);
    if y.len() == 2 {
        year += 2000;
    } else if y.len() != 4 {
        return Err(SHAPE.into());
    }
    let (month, day) = if month_first { (a, b2) } else { (b2, a) };
    let date = NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| format!("not a valid date (read as {})", if month_first { "month/day" } else { "day/month" }))?;
    let rest = rest.trim_start_matches([',', ' ']).trim();
    let (clock, meridiem) = match rest.rsplit_once(' ') {
        Some((clock, m)) if m.eq_ignore_ascii_case("am") || m.eq_ignore_ascii_case("pm") => {
            (clock.trim(), Some(m.eq_ignore_ascii_case("pm")))
        }
        _ => (rest, None),
    };
    let mut fields = clock.split(':');
    let hour = number(fields.next().ok_or(SHAPE)?)?;
    let minute = number(fields.next().ok_or(SHAPE)?)?;
    let second = match fields.next() {
        Some(s) => number(s.split(['.', ',']).next().unwrap_or(s))?,
        None => 0,
    };
    if fields.next().is_some() {
        return Err(SHAPE.into());
    }
    let hour = match meridiem {
        Some(_) if !(1..=12).contains(&hour) => return Err("not a valid 12-hour time".into()),
        Some(true) => hour % 12 + 12,
        Some(false) => hour % 12,
        None => hour,
    };
    let time = NaiveTime::from_hms_opt(hour, minute, second).ok_or_else(|| "not a valid time of day".to_string())?;
    local_to_utc(NaiveDateTime::new(date, time), tz)
}

/// Parses a duration as Teams writes it (`1h 27m 51s`, `45m 3s`, `12s`) or as `HH:MM:SS`, in seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    const SHAPE: &str = "not a duration (expected e.g. 1h 27m 51s or 01:27:51)";
    let text = text.trim();
    if text.contains(':') {
        let parts: Vec<&str> = text.split(':').collect();
        let mut total = 0i64;
        for p in &parts {
            total = total * 60 + p.trim().parse::<i64>().map_err(|_| SHAPE.to_string())?;
        }
        return if (2..=3).contains(&parts.len()) { Ok(total) } else { Err(SHAPE.into()) };
    }
    let mut total = 0i64;
    let mut seen = false;
    for token in text.split_whitespace() {
        let split = token.find(|c: char| !c.is_ascii_digit()).ok_or(SHAPE)?;
        let (n, unit) = token.split_at(split);
        let n: i64 = n.parse().map_err(|_| SHAPE.to_string())?;
        total += n * match unit {
            "h" => 3600,
            "m" | "min" => 60,
            "s" => 1,
            _ => return Err(SHAPE.into()),
        };
        seen = true;
    }
    if seen { Ok(total) } else { Err(SHAPE.into()) }
}

/// The local calendar day (days since the epoch) of a UTC instant.
pub fn local_day(utc_micros: i64, tz: Tz) -> i32 {
    let utc: DateTime<Utc> = DateTime::from_timestamp_micros(utc_micros).expect("timestamp in range");
    date_to_days(utc.with_timezone(&tz).date_naive())
}

const DAY_US: i64 = 86_400_000_000;

/// A zone's UTC offset remembered per local day. A file's timestamps fall on a year's days
/// at most, often one student's year after another's, so the zone's rules are looked up
/// once per day rather than per row; a day on which the clocks change is always worked
/// out in full.
#[derive(Debug, Clone)]
pub struct LocalClock {
    tz: Tz,
    /// The last day looked at, and its offset when the same all day.
    day: Option<(NaiveDate, Option<UniformDay>)>,
    /// Days looked at before, each in the slot of its day number modulo the slots; empty
    /// until a second day is met (a clock made for one timestamp never needs it).
    known: Vec<Option<(NaiveDate, Option<UniformDay>)>>,
    /// The date text a timestamp last began with, and its date.
    date_text: Option<(String, NaiveDate)>,
}

/// Days a [`LocalClock`] remembers at once (about three years').
const KNOWN_DAYS: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct UniformDay {
    days: i32,
    /// Local midnight, as microseconds since the epoch (UTC).
    utc_start: i64,
}

impl LocalClock {
    /// A clock for `tz`, remembering nothing yet.
    pub fn new(tz: Tz) -> LocalClock {
        LocalClock { tz, day: None, known: Vec::new(), date_text: None }
    }

    /// The date `text` (YYYY-MM-DD) names; the text last read is remembered, as a file's
    /// rows mostly repeat the date of the row before.
    fn date_of(&mut self, text: &str) -> Result<NaiveDate, String> {
        if let Some((known, date)) = &self.date_text
            && known.as_bytes() == text.as_bytes()
        {
            return Ok(*date);
        }
        let date = parse_ymd(text)?;
        self.date_text = Some((text.to_string(), date));
        Ok(date)
    }

    /// A local wall-clock time as microseconds since the epoch (UTC); as [`local_to_utc`].
    pub fn to_utc(&mut self, local: NaiveDateTime) -> Result<i64, String> {
        let midnight = local.date().and_time(NaiveTime::MIN);
        let after_midnight = (local - midnight).num_microseconds().expect("less than a day");
        self.utc_at(local.date(), after_midnight)
    }

    /// The local time `after_midnight` microseconds into `date` (under a day) as
    /// microseconds since the epoch (UTC): on a day with one offset throughout, its local
    /// midnight in UTC plus the time; otherwise as [`local_to_utc`].
    fn utc_at(&mut self, date: NaiveDate, after_midnight: i64) -> Result<i64, String> {
        match self.uniform(date) {
            Some(day) => Ok(day.utc_start + after_midnight),
            None => {
                local_to_utc(date.and_time(NaiveTime::MIN) + chrono::TimeDelta::microseconds(after_midnight), self.tz)
            }
        }
    }

    /// The local calendar day of a UTC instant; as [`local_day`].
    pub fn local_day(&mut self, utc_micros: i64) -> i32 {
        if let Some((_, Some(day))) = self.day
            && (day.utc_start..day.utc_start + DAY_US).contains(&utc_micros)
        {
            return day.days;
        }
        let days = local_day(utc_micros, self.tz);
        self.uniform(days_to_date(days));
        days
    }

    fn uniform(&mut self, date: NaiveDate) -> Option<UniformDay> {
        match self.day {
            Some((known, day)) if known == date => day,
            None => {
                let day = uniform_day(self.tz, date);
                self.day = Some((date, day));
                day
            }
            Some(last) => {
                let slot = |date: NaiveDate| date.num_days_from_ce().rem_euclid(KNOWN_DAYS as i32) as usize;
                if self.known.is_empty() {
                    self.known = vec![None; KNOWN_DAYS];
                    self.known[slot(last.0)] = Some(last);
                }
                let day = match self.known[slot(date)] {
                    Some((known, day)) if known == date => day,
                    _ => {
                        let day = uniform_day(self.tz, date);
                        self.known[slot(date)] = Some((date, day));
                        day
                    }
                };
                self.day = Some((date, day));
                day
            }
        }
    }
}

/// The day's offset, when local midnight exists and the offset at its start and end agree
/// (zones change their clocks at most once a day).
fn uniform_day(tz: Tz, date: NaiveDate) -> Option<UniformDay> {
    use chrono::Offset;
    let start = tz.from_local_datetime(&date.and_time(NaiveTime::MIN)).single()?;
    let end = tz.from_local_datetime(&date.and_hms_micro_opt(23, 59, 59, 999_999)?).single()?;
    let offset = start.offset().fix().local_minus_utc();
    (end.offset().fix().local_minus_utc() == offset)
        .then(|| UniformDay { days: date_to_days(date), utc_start: start.timestamp_micros() })
}

/// Formats a UTC instant as local ISO 8601 with its offset, e.g. `2025-10-26T01:30:00+01:00`.
pub fn format_local(utc_micros: i64, tz: Tz) -> String {
    let utc: DateTime<Utc> = DateTime::from_timestamp_micros(utc_micros).expect("timestamp in range");
    utc.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(c - b'0');
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::London;

    fn utc(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_micros()
    }

    #[test]
    fn naive_times_follow_bst_and_gmt() {
        assert_eq!(parse_timestamp("2025-07-01T09:00:00", London).unwrap(), utc("2025-07-01T08:00:00Z"));
        assert_eq!(parse_timestamp("2025-12-01 09:00", London).unwrap(), utc("2025-12-01T09:00:00Z"));
    }

    #[test]
    fn clocks_going_back_reads_first_occurrence() {
        // 26 October 2025: 01:00-02:00 BST happens, then 01:00-02:00 GMT happens again.
        assert_eq!(parse_timestamp("2025-10-26T01:30:00", London).unwrap(), utc("2025-10-26T00:30:00Z"));
        assert_eq!(parse_timestamp("2025-10-26T01:30:00+00:00", London).unwrap(), utc("2025-10-26T01:30:00Z"));
    }

    #[test]
    fn clocks_going_forward_gap_refused() {
        // 29 March 2026: 01:00 GMT jumps to 02:00 BST.
        let err = parse_timestamp("2026-03-29T01:30:00", London).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        assert_eq!(parse_timestamp("2026-03-29T02:30:00", London).unwrap(), utc("2026-03-29T01:30:00Z"));
    }

    #[test]
    fn offsets_and_fractions() {
        assert_eq!(parse_timestamp("2025-10-01T10:00:00.250Z", London).unwrap(), utc("2025-10-01T10:00:00.25Z"));
        assert_eq!(parse_timestamp("2025-10-01T10:00:00-0130", London).unwrap(), utc("2025-10-01T11:30:00Z"));
        assert_eq!(parse_timestamp("2025-10-01T10:00+02", London).unwrap(), utc("2025-10-01T08:00:00Z"));
    }

    #[test]
    fn bad_shapes_refused() {
        for bad in [
            "2025-10-01",
            "01/10/2025 10:00",
            "2025-10-01T25:00:00",
            "2025-02-30T10:00:00",
            "2025-10-01T10:00:00+5",
            "2025-10-01T10:00:00 GMT",
        ] {
            assert!(parse_timestamp(bad, London).is_err(), "{bad}");
        }
        assert!(parse_date("2025-13-01").is_err());
        assert!(parse_date("1/1/2025").is_err());
        assert_eq!(parse_date("1970-01-02").unwrap(), 1);
    }

    /// Every quarter hour from September 2025 to April 2026 (both clock changes), visited
    /// in an order that jumps between days, reads the same through a clock as without one.
    #[test]
    fn a_clock_agrees_with_the_zone_rules_across_clock_changes() {
        let (mut clock, mut texts) = (LocalClock::new(London), LocalClock::new(London));
        let start = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap().and_time(NaiveTime::MIN);
        let quarters = 4 * 24 * 240;
        let mut checked = 0;
        for i in 0..quarters {
            // Mostly forward, with a step back a day every seventh reading.
            let step = if i % 7 == 6 { i - 4 * 24 } else { i };
            let local = start + chrono::Duration::minutes(15 * step);
            assert_eq!(clock.to_utc(local), local_to_utc(local, London), "{local}");
            // Read from text through one clock, as a file's rows are (gaps refused alike).
            let text = local.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
            let read = parse_timestamp_on(&text, &mut texts).map_err(|e| e.contains("does not exist"));
            assert_eq!(read, local_to_utc(local, London).map_err(|_| true), "{text}");
            let utc = local.and_utc().timestamp_micros();
            assert_eq!(clock.local_day(utc), local_day(utc, London), "{local} UTC");
            checked += 1;
        }
        assert_eq!(checked, quarters);
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap().and_hms_opt(1, 30, 0).unwrap();
        assert!(clock.to_utc(gap).is_err());
    }

    #[test]
    fn local_day_after_midnight_bst() {
        // 23:30 UTC on 30 June is 00:30 BST on 1 July.
        let t = utc("2025-06-30T23:30:00Z");
        assert_eq!(days_to_date(local_day(t, London)), NaiveDate::from_ymd_opt(2025, 7, 1).unwrap());
        assert_eq!(format_local(t, London), "2025-07-01T00:30:00+01:00");
    }
}
