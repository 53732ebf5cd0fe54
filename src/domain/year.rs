//! Academic years (`2025-26`, starting on 1 August) and days of the year written `MM-DD`.

use chrono::{Datelike, NaiveDate};

use super::time::date_to_days;

/// The academic year (`2025-26`) a day falls in; years start on 1 August.
pub fn academic_year(day: NaiveDate) -> (String, NaiveDate) {
    let start_year = if day.month() >= 8 { day.year() } else { day.year() - 1 };
    (
        format!("{start_year}-{:02}", (start_year + 1) % 100),
        NaiveDate::from_ymd_opt(start_year, 8, 1).expect("valid date"),
    )
}

/// The date of `MM-DD` within the academic year starting on `year_start`.
pub fn day_in_year(month_day: &str, year_start: NaiveDate) -> Option<i32> {
    let month: u32 = month_day.get(..2)?.parse().ok()?;
    let day: u32 = month_day.get(3..)?.parse().ok()?;
    let year = if month >= 8 { year_start.year() } else { year_start.year() + 1 };
    NaiveDate::from_ymd_opt(year, month, day).map(date_to_days)
}

/// Parses a `MM-DD` day of the year (29 February allowed).
pub fn parse_month_day(text: &str) -> Option<(u32, u32)> {
    if text.len() != 5 {
        return None;
    }
    let day = NaiveDate::parse_from_str(&format!("2024-{text}"), "%Y-%m-%d").ok()?;
    Some((day.month(), day.day()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn academic_years_start_in_august() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(academic_year(d(2025, 12, 1)).0, "2025-26");
        assert_eq!(academic_year(d(2026, 3, 15)).0, "2025-26");
        assert_eq!(academic_year(d(2026, 8, 1)).0, "2026-27");
        assert_eq!(academic_year(d(2026, 7, 31)).0, "2025-26");
        let start = d(2025, 8, 1);
        assert_eq!(day_in_year("12-01", start), Some(date_to_days(d(2025, 12, 1))));
        assert_eq!(day_in_year("03-01", start), Some(date_to_days(d(2026, 3, 1))));
    }
}
