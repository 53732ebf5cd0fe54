//! The demo university's academic calendar: three terms, teaching weeks counted from the
//! Monday of the week each term starts, and the bank holidays that fall in term.

use chrono::{Datelike, Duration, NaiveDate};

/// One term.
#[derive(Debug, Clone)]
pub struct Term {
    /// `autumn`, `spring` or `summer`.
    pub name: &'static str,
    /// First day (a Monday).
    pub starts_on: NaiveDate,
    /// Last day (a Friday).
    pub ends_on: NaiveDate,
}

/// The calendar of one academic year.
#[derive(Debug, Clone)]
pub struct AcademicCalendar {
    /// First calendar year (2025 for 2025-26).
    pub year: i32,
    /// The three terms in order.
    pub terms: Vec<Term>,
    /// First day generated (welcome week).
    pub starts_on: NaiveDate,
    /// Last day generated.
    pub ends_on: NaiveDate,
    bank_holidays: Vec<NaiveDate>,
}

fn first_monday_on_or_after(date: NaiveDate) -> NaiveDate {
    let ahead = (7 - date.weekday().num_days_from_monday()) % 7;
    date + Duration::days(i64::from(ahead))
}

fn last_monday_of_may(year: i32) -> NaiveDate {
    let may31 = NaiveDate::from_ymd_opt(year, 5, 31).expect("valid date");
    may31 - Duration::days(i64::from(may31.weekday().num_days_from_monday()))
}

impl AcademicCalendar {
    /// The calendar of the academic year starting in `year`: autumn 11 weeks from late
    /// September, spring 11 weeks from mid January, summer 8 weeks from late April.
    pub fn for_year(year: i32) -> AcademicCalendar {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        let term = |name, start: NaiveDate, weeks: i64| Term {
            name,
            starts_on: start,
            ends_on: start + Duration::days(weeks * 7 - 3),
        };
        let terms = vec![
            term("autumn", first_monday_on_or_after(date(year, 9, 25)), 11),
            term("spring", first_monday_on_or_after(date(year + 1, 1, 8)), 11),
            term("summer", first_monday_on_or_after(date(year + 1, 4, 18)), 8),
        ];
        // The bank holidays that can fall in term: early May and spring bank holidays.
        let bank_holidays = vec![first_monday_on_or_after(date(year + 1, 5, 1)), last_monday_of_may(year + 1)];
        AcademicCalendar {
            year,
            starts_on: terms[0].starts_on - Duration::days(7),
            ends_on: terms[2].ends_on + Duration::days(16),
            terms,
            bank_holidays,
        }
    }

    /// `2025-26`
    pub fn label(&self) -> String {
        format!("{}-{:02}", self.year, (self.year + 1) % 100)
    }

    /// Whether a day falls within a term (weekends included).
    pub fn in_term(&self, day: NaiveDate) -> bool {
        self.terms.iter().any(|t| day >= t.starts_on && day <= t.ends_on)
    }

    /// Whether teaching happens on a day: a weekday in term that is not a bank holiday.
    pub fn is_teaching_day(&self, day: NaiveDate) -> bool {
        self.in_term(day) && day.weekday().num_days_from_monday() < 5 && !self.bank_holidays.contains(&day)
    }

    /// Teaching weeks through the year as (week number from 1, Monday).
    pub fn teaching_weeks(&self) -> impl Iterator<Item = (u32, NaiveDate)> + '_ {
        self.terms
            .iter()
            .flat_map(|t| (0..).map(move |w| t.starts_on + Duration::weeks(w)).take_while(move |m| *m <= t.ends_on))
            .enumerate()
            .map(|(i, monday)| (i as u32 + 1, monday))
    }

    /// The teaching week (through the year) a day belongs to, if in term.
    pub fn teaching_week_of(&self, day: NaiveDate) -> Option<u32> {
        let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
        self.teaching_weeks().find(|(_, m)| *m == monday).map(|(n, _)| n)
    }

    /// The week within its term (1-based), if in term.
    pub fn week_in_term(&self, day: NaiveDate) -> Option<u32> {
        let term = self.terms.iter().find(|t| day >= t.starts_on && day <= t.ends_on)?;
        Some(((day - term.starts_on).num_days() / 7) as u32 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_2025_26() {
        let cal = AcademicCalendar::for_year(2025);
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(cal.terms[0].starts_on, d(2025, 9, 29));
        assert_eq!(cal.terms[0].ends_on, d(2025, 12, 12));
        assert_eq!(cal.terms[1].starts_on, d(2026, 1, 12));
        assert_eq!(cal.terms[2].starts_on, d(2026, 4, 20));
        assert_eq!(cal.teaching_weeks().count(), 30);
        assert_eq!(cal.teaching_week_of(d(2025, 10, 22)), Some(4));
        assert_eq!(cal.teaching_week_of(d(2026, 1, 14)), Some(12));
        assert!(!cal.is_teaching_day(d(2026, 5, 4)), "early May bank holiday");
        assert!(!cal.is_teaching_day(d(2026, 5, 25)), "spring bank holiday");
        assert!(cal.is_teaching_day(d(2026, 5, 5)));
        assert!(!cal.is_teaching_day(d(2025, 12, 20)), "vacation");
        assert_eq!(cal.label(), "2025-26");
    }
}
