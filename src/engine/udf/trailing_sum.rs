//! `trailing_sum(value, rows) OVER (PARTITION BY ... ORDER BY ...)`: each row's sum of
//! `value` over itself and the `rows - 1` rows before it in its partition. Nulls count as
//! zero, so the result is never null.
//!
//! The same sums as `sum(value) OVER (... ROWS BETWEEN rows-1 PRECEDING AND CURRENT ROW)`,
//! computed for a whole partition in one pass: a sliding frame is evaluated one row at a
//! time, which was two thirds of a full-year rating's time (BENCHMARKS.md).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl};
use datafusion::physical_expr::expressions::Literal;

/// The `trailing_sum(Int64, Int64 literal) -> Int64` window function.
pub fn udwf() -> WindowUDF {
    WindowUDF::from(TrailingSum {
        signature: Signature::exact(vec![DataType::Int64, DataType::Int64], Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TrailingSum {
    signature: Signature,
}

impl WindowUDFImpl for TrailingSum {
    fn name(&self) -> &str {
        "trailing_sum"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(&self, args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        let rows = args.input_exprs().get(1).and_then(|e| e.downcast_ref::<Literal>()).map(|literal| literal.value());
        match rows {
            Some(&ScalarValue::Int64(Some(rows))) if rows >= 1 => Ok(Box::new(Trailing { rows: rows as usize })),
            _ => plan_err!("trailing_sum: the row count must be a constant of at least 1"),
        }
    }

    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(args.name(), DataType::Int64, false)))
    }
}

#[derive(Debug)]
struct Trailing {
    rows: usize,
}

impl PartitionEvaluator for Trailing {
    /// Called once per partition, with the partition's rows in window order.
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let input = values[0].as_primitive::<Int64Type>();
        let value = |i: usize| if input.is_null(i) { 0 } else { input.value(i) };
        let mut sums = Vec::with_capacity(num_rows);
        let mut sum = 0i64;
        for i in 0..num_rows {
            sum = sum.wrapping_add(value(i));
            if i >= self.rows {
                sum = sum.wrapping_sub(value(i - self.rows));
            }
            sums.push(sum);
        }
        Ok(Arc::new(Int64Array::from(sums)))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    use super::*;

    async fn run(sql: &str) -> Result<Vec<String>> {
        let ctx = SessionContext::new();
        ctx.register_udwf(udwf());
        let batches = ctx.sql(sql).await?.collect().await?;
        let text = arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
        Ok(text.lines().map(str::to_owned).collect())
    }

    const ROWS: &str =
        "(VALUES ('a', 1, 5), ('a', 2, 1), ('b', 1, 7), ('a', 3, NULL), ('a', 4, 2), ('b', 2, 3), ('a', 5, 4))";

    #[tokio::test]
    async fn sums_each_row_and_the_rows_before_it_within_its_partition() {
        let sql = format!(
            "SELECT column1 AS p, column2 AS o, \
                    trailing_sum(CAST(column3 AS BIGINT), 3) OVER (PARTITION BY column1 ORDER BY column2) AS t, \
                    coalesce(sum(column3) OVER (PARTITION BY column1 ORDER BY column2 \
                                                ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), 0) AS s \
             FROM {ROWS} ORDER BY p, o"
        );
        let lines = run(&sql).await.expect("query");
        let rows: Vec<_> = lines[3..lines.len() - 1].iter().map(|l| l.replace(' ', "")).collect();
        // a: 5, 1, null, 2, 4 -> 5, 6, 6, 3, 6; b: 7, 3 -> 7, 10. The frame sum agrees.
        assert_eq!(rows, ["|a|1|5|5|", "|a|2|6|6|", "|a|3|6|6|", "|a|4|3|3|", "|a|5|6|6|", "|b|1|7|7|", "|b|2|10|10|"]);
    }

    #[tokio::test]
    async fn the_row_count_must_be_a_positive_constant() {
        for count in ["0", "column2"] {
            let sql = format!(
                "SELECT trailing_sum(CAST(column3 AS BIGINT), CAST({count} AS BIGINT)) \
                 OVER (PARTITION BY column1 ORDER BY column2) FROM {ROWS}"
            );
            let err = run(&sql).await.expect_err("refused");
            assert!(err.to_string().contains("row count must be a constant of at least 1"), "{err}");
        }
    }
}
