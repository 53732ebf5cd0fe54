//! Academic years (`2025-26`, starting on 1 August) and days of the year written `MM-DD`,
//! each parsed once where it enters (a setting, a flag) into its own type.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::time::date_to_days;

/// An academic year, written `2025-26`; it starts on 1 August.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AcademicYear {
    start: i32,
}

impl AcademicYear {
    /// The academic year a day falls in.
    pub fn of(day: NaiveDate) -> AcademicYear {
        AcademicYear { start: if day.month() >= 8 { day.year() } else { day.year() - 1 } }
    }

    /// Its first day, 1 August.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.start, 8, 1).expect("1 August exists")
    }

    /// The date of a day of the year within it (`None` for 29 February in a common year).
    pub fn day(self, month_day: MonthDay) -> Option<i32> {
        let year = if month_day.month >= 8 { self.start } else { self.start + 1 };
        NaiveDate::from_ymd_opt(year, month_day.month, month_day.day).map(date_to_days)
    }
}

impl fmt::Display for AcademicYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.start, (self.start + 1).rem_euclid(100))
    }
}

impl FromStr for AcademicYear {
    type Err = String;

    /// `2025-26`: four digits, a hyphen, and the next year's last two digits.
    fn from_str(text: &str) -> Result<Self, String> {
        let refuse = || format!("'{text}' is not an academic year such as 2025-26");
        let (first, second) = text.split_once('-').ok_or_else(refuse)?;
        if first.len() != 4 || second.len() != 2 || !(first.chars().chain(second.chars())).all(|c| c.is_ascii_digit()) {
            return Err(refuse());
        }
        let start: i32 = first.parse().map_err(|_| refuse())?;
        let next: i32 = second.parse().map_err(|_| refuse())?;
        if (start + 1).rem_euclid(100) != next {
            return Err(format!("'{text}' is not an academic year: {second} does not follow {first}"));
        }
        Ok(AcademicYear { start })
    }
}

super::text_serde!(AcademicYear);

/// A day of the year written `MM-DD` (29 February allowed), as settings give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MonthDay {
    month: u32,
    day: u32,
}

impl MonthDay {
    /// Month and day.
    pub fn parts(self) -> (u32, u32) {
        (self.month, self.day)
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl FromStr for MonthDay {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_month_day(text)
            .map(|(month, day)| MonthDay { month, day })
            .ok_or_else(|| format!("'{text}' is not a MM-DD day of the year"))
    }
}

super::text_serde!(MonthDay);

/// Parses a `MM-DD` day of the year (29 February allowed).
fn parse_month_day(text: &str) -> Option<(u32, u32)> {
    if text.len() != 5 {
        return None;
    }
    let day = NaiveDate::parse_from_str(&format!("2024-{text}"), "%Y-%m-%d").ok()?;
    Some((day.month(), day.day()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn md(text: &str) -> MonthDay {
        text.parse().unwrap()
    }

    #[test]
    fn academic_years_start_in_august() {
        let year = |day| AcademicYear::of(day).to_string();
        assert_eq!(year(d(2025, 12, 1)), "2025-26");
        assert_eq!(year(d(2026, 3, 15)), "2025-26");
        assert_eq!(year(d(2026, 8, 1)), "2026-27");
        assert_eq!(year(d(2026, 7, 31)), "2025-26");
        assert_eq!(year(d(2099, 9, 1)), "2099-00");
        let y2025: AcademicYear = "2025-26".parse().unwrap();
        assert_eq!(y2025.first_day(), d(2025, 8, 1));
        assert_eq!(y2025.day(md("12-01")), Some(date_to_days(d(2025, 12, 1))));
        assert_eq!(y2025.day(md("03-01")), Some(date_to_days(d(2026, 3, 1))));
        assert_eq!(y2025.day(md("02-29")), None, "2026 is a common year");
        assert_eq!("2027-28".parse::<AcademicYear>().unwrap().day(md("02-29")), Some(date_to_days(d(2028, 2, 29))));
    }

    #[test]
    fn academic_years_are_written_2025_26_and_nothing_else() {
        assert_eq!("2099-00".parse::<AcademicYear>().unwrap().to_string(), "2099-00");
        for bad in ["2025", "20", "2025-27", "2025/26", "25-26", "2025-2026", "abcd-ef", "", "２０２５-26"] {
            let message = bad.parse::<AcademicYear>().unwrap_err();
            assert!(message.contains("is not an academic year"), "{bad}: {message}");
        }
    }

    #[test]
    fn month_days_round_trip_and_refuse_impossible_days() {
        assert_eq!(md("02-29").to_string(), "02-29");
        assert_eq!(md("12-01").parts(), (12, 1));
        for bad in ["12-41", "13-01", "1-01", "12/01", "", "02-30"] {
            assert!(bad.parse::<MonthDay>().unwrap_err().contains("not a MM-DD day"), "{bad}");
        }
    }
}
