//! HESA's rounding and suppression rules for published statistics, as SQL functions:
//!
//! - `hesa_count(n)`: counts rounded to the nearest multiple of 5, with 0, 1 and 2 shown
//!   as 0 and halves rounded up (2.5 -> 5, 7.5 -> 10);
//! - `hesa_percent(part, population)`: a percentage (one decimal) of the unrounded
//!   figures, not shown (`..`) where the population is below 22.5;
//! - `hesa_average(value, population)`: an average, not shown (`..`) where the population
//!   is 7 or fewer.
//!
//! Totals are computed from unrounded data and rounded on their own, never summed from
//! rounded cells. Suppressed cells are `..`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, StringArray};
use arrow::datatypes::DataType;
use datafusion::common::cast::as_float64_array;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};

/// The marker for a suppressed cell.
pub const SUPPRESSED: &str = "..";

/// A count rounded as HESA publishes it.
pub fn round_count(n: f64) -> i64 {
    if n < 2.5 { 0 } else { ((n / 5.0) + 0.5).floor() as i64 * 5 }
}

/// A percentage as HESA publishes it, or `..` where the population is below 22.5.
pub fn percent(part: f64, population: f64) -> String {
    if population < 22.5 || population <= 0.0 { SUPPRESSED.into() } else { format!("{:.1}", 100.0 * part / population) }
}

/// An average as HESA publishes it, or `..` where the population is 7 or fewer.
pub fn average(value: f64, population: f64) -> String {
    if population <= 7.0 { SUPPRESSED.into() } else { format!("{value:.2}") }
}

fn rows(args: &[ColumnarValue]) -> usize {
    args.iter()
        .find_map(|a| match a {
            ColumnarValue::Array(array) => Some(array.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1)
}

fn float_args(args: &[ColumnarValue]) -> datafusion::error::Result<Vec<Float64Array>> {
    ColumnarValue::values_to_arrays(args)?
        .iter()
        .map(|a| Ok(as_float64_array(&arrow::compute::cast(a, &DataType::Float64)?)?.clone()))
        .collect()
}

/// `hesa_count`, `hesa_percent` and `hesa_average`.
pub fn udfs() -> Vec<ScalarUDF> {
    let count = create_udf(
        "hesa_count",
        vec![DataType::Float64],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let n = rows(args);
            let a = &float_args(args)?[0];
            let out: arrow::array::Int64Array =
                (0..n).map(|i| a.is_valid(i).then(|| round_count(a.value(i)))).collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    );
    let text = |name: &str, f: fn(f64, f64) -> String| {
        create_udf(
            name,
            vec![DataType::Float64, DataType::Float64],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(move |args: &[ColumnarValue]| {
                let n = rows(args);
                let a = float_args(args)?;
                let out: StringArray = (0..n)
                    .map(|i| (a[0].is_valid(i) && a[1].is_valid(i)).then(|| f(a[0].value(i), a[1].value(i))))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
            }),
        )
    };
    vec![count, text("hesa_percent", percent), text("hesa_average", average)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_to_fives_with_small_counts_as_zero() {
        for (n, published) in [
            (0.0, 0),
            (1.0, 0),
            (2.0, 0),
            (2.5, 5),
            (3.0, 5),
            (4.0, 5),
            (7.0, 5),
            (7.5, 10),
            (8.0, 10),
            (12.0, 10),
            (12.5, 15),
            (22.0, 20),
            (23.0, 25),
            (1234.0, 1235),
        ] {
            assert_eq!(round_count(n), published, "{n}");
        }
    }

    #[test]
    fn percentages_need_a_population_of_22_5() {
        assert_eq!(percent(5.0, 22.0), SUPPRESSED);
        assert_eq!(percent(5.0, 22.4), SUPPRESSED);
        assert_eq!(percent(5.0, 22.5), "22.2");
        assert_eq!(percent(5.0, 23.0), "21.7");
        assert_eq!(percent(0.0, 0.0), SUPPRESSED);
    }

    #[test]
    fn averages_need_more_than_7() {
        assert_eq!(average(0.5, 7.0), SUPPRESSED);
        assert_eq!(average(0.5, 8.0), "0.50");
        assert_eq!(average(0.123, 100.0), "0.12");
    }
}
