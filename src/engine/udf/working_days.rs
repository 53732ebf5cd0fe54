//! `add_working_days(day, n)`: the n-th working day after `day`, where working days are
//! Monday to Friday except the bank holidays held in the warehouse (England and Wales).
//! Statutory deadlines ("within 10 working days") are counted with it.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Date32Array, Int64Array};
use arrow::datatypes::DataType;
use chrono::{Datelike, Duration};
use datafusion::common::{DataFusionError, cast::as_date32_array, cast::as_int64_array};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};

use crate::domain::time::{date_to_days, days_to_date};

/// The n-th working day after `day` (n >= 0; n = 0 gives `day` itself).
pub fn add_working_days(day: i32, n: i64, holidays: &BTreeSet<i32>) -> i32 {
    let mut date = days_to_date(day);
    let mut left = n;
    while left > 0 {
        date += Duration::days(1);
        let weekday = date.weekday().num_days_from_monday() < 5;
        if weekday && !holidays.contains(&date_to_days(date)) {
            left -= 1;
        }
    }
    date_to_days(date)
}

/// The `add_working_days(Date32, Int64) -> Date32` function over these bank holidays.
pub fn udf(holidays: BTreeSet<i32>) -> ScalarUDF {
    let holidays = Arc::new(holidays);
    create_udf(
        "add_working_days",
        vec![DataType::Date32, DataType::Int64],
        DataType::Date32,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let rows = args
                .iter()
                .find_map(|a| match a {
                    ColumnarValue::Array(array) => Some(array.len()),
                    ColumnarValue::Scalar(_) => None,
                })
                .unwrap_or(1);
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let days = as_date32_array(&arrays[0])?;
            let counts = as_int64_array(&arrays[1])?;
            let result: Date32Array = (0..rows)
                .map(|i| {
                    if days.is_null(i) || counts.is_null(i) {
                        return Ok(None);
                    }
                    let n = counts.value(i);
                    if n < 0 {
                        return Err(DataFusionError::Execution(
                            "add_working_days: the count must not be negative".into(),
                        ));
                    }
                    Ok(Some(add_working_days(days.value(i), n, &holidays)))
                })
                .collect::<Result<_, DataFusionError>>()?;
            let _: &Int64Array = counts;
            Ok(ColumnarValue::Array(Arc::new(result) as ArrayRef))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn holidays() -> BTreeSet<i32> {
        crate::domain::reference::BANK_HOLIDAYS_CSV
            .lines()
            .skip(1)
            .map(|l| date_to_days(NaiveDate::parse_from_str(&l[..10], "%Y-%m-%d").unwrap()))
            .collect()
    }

    fn add(day: &str, n: i64) -> String {
        let d = date_to_days(NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap());
        days_to_date(add_working_days(d, n, &holidays())).to_string()
    }

    #[test]
    fn ten_working_days_across_christmas_easter_and_a_bank_holiday_monday() {
        // Mon 22 Dec 2025: 23, 24, (25, 26 holidays), 29, 30, 31, (1 Jan), 2, 5, 6, 7, 8 January.
        assert_eq!(add("2025-12-22", 10), "2026-01-08");
        // Thu 2 Apr 2026: (Good Friday 3rd, Easter Monday 6th), 7-10, 13-17, 20 April.
        assert_eq!(add("2026-04-02", 10), "2026-04-20");
        // Fri 1 May 2026: (4 May bank holiday) 5-8, 11-15, 18: the 10th is Mon 18 May.
        assert_eq!(add("2026-05-01", 10), "2026-05-18");
        // A plain fortnight.
        assert_eq!(add("2025-10-06", 10), "2025-10-20");
        // From a Saturday: the next Monday is the first.
        assert_eq!(add("2025-10-04", 1), "2025-10-06");
        assert_eq!(add("2025-10-06", 0), "2025-10-06");
    }
}
