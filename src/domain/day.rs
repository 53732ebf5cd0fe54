//! A calendar day and an inclusive range of days, parsed once where they enter (command
//! line, configuration) and passed on as values.

use chrono::NaiveDate;

use super::time::{date_to_days, days_to_date, parse_date};

/// A calendar day, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day(i32);

impl Day {
    /// The day of a date.
    pub fn of(date: NaiveDate) -> Day {
        Day(date_to_days(date))
    }

    /// The day with this number (days since 1970-01-01, Arrow's `Date32`).
    pub fn from_number(number: i32) -> Day {
        Day(number)
    }

    /// Days since 1970-01-01 (Arrow's `Date32`).
    pub fn number(self) -> i32 {
        self.0
    }

    /// The date.
    pub fn date(self) -> NaiveDate {
        days_to_date(self.0)
    }
}

impl From<Day> for NaiveDate {
    fn from(day: Day) -> NaiveDate {
        day.date()
    }
}

impl std::str::FromStr for Day {
    type Err = String;

    fn from_str(text: &str) -> Result<Day, String> {
        parse_date(text.trim()).map(Day)
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.date())
    }
}

super::text_serde!(Day);

/// An inclusive range of days whose first day is not after its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    first: Day,
    last: Day,
}

impl DayRange {
    /// The days from `first` to `last`; refused when `last` comes before `first`.
    pub fn new(first: Day, last: Day) -> Result<DayRange, String> {
        if last < first {
            return Err(format!("the range ends on {last}, before it starts on {first}"));
        }
        Ok(DayRange { first, last })
    }

    /// The first day.
    pub fn first(self) -> Day {
        self.first
    }

    /// The last day.
    pub fn last(self) -> Day {
        self.last
    }

    /// How many days it holds.
    pub fn len(self) -> u32 {
        (self.last.0 - self.first.0) as u32 + 1
    }

    /// Never empty: a range holds at least its first day.
    pub fn is_empty(self) -> bool {
        false
    }

    /// Whether it holds `day`.
    pub fn contains(self, day: Day) -> bool {
        self.first <= day && day <= self.last
    }
}

impl std::fmt::Display for DayRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} to {}", self.first, self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_once_and_ranges_are_ordered() {
        let day: Day = "2025-10-06".parse().unwrap();
        assert_eq!(day.to_string(), "2025-10-06");
        assert_eq!(Day::from_number(day.number()), day);
        assert!("2025-13-01".parse::<Day>().is_err() && "6/10/2025".parse::<Day>().is_err());
        let later: Day = "2025-10-12".parse().unwrap();
        let range = DayRange::new(day, later).unwrap();
        assert_eq!(range.len(), 7);
        assert!(range.contains("2025-10-10".parse().unwrap()) && !range.contains("2025-10-13".parse().unwrap()));
        assert_eq!(
            DayRange::new(later, day).unwrap_err(),
            "the range ends on 2025-10-06, before it starts on 2025-10-12"
        );
        let json = serde_json::to_string(&Wrapper { day }).unwrap();
        assert_eq!(json, r#"{"day":"2025-10-06"}"#);
    }

    #[derive(serde::Serialize)]
    struct Wrapper {
        day: Day,
    }
}
