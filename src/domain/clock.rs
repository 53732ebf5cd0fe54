//! The time jobs stamp what they write with, passed in rather than read from the system
//! clock wherever it is needed, so that tests and the demo can pin it (the shape of
//! delta-rs's `Clock` in its vacuum operation).

use std::fmt::Debug;

use chrono::{DateTime, NaiveDate, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;

    /// Now, in UTC microseconds since the Unix epoch.
    fn now_micros(&self) -> i64 {
        self.now().timestamp_micros()
    }

    /// Today's date where Rollcall runs (the machine's local zone).
    fn today(&self) -> NaiveDate {
        self.now().with_timezone(&chrono::Local).date_naive()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_gives_its_instant_and_day() {
        let at = DateTime::parse_from_rfc3339("2025-12-01T10:30:00Z").unwrap().with_timezone(&Utc);
        let clock = FixedClock(at);
        assert_eq!(clock.now(), at);
        assert_eq!(clock.now_micros(), at.timestamp_micros());
        assert_eq!(clock.today(), at.with_timezone(&chrono::Local).date_naive());
        let system = SystemClock.now_micros();
        assert!((system - Utc::now().timestamp_micros()).abs() < 60_000_000);
    }
}
