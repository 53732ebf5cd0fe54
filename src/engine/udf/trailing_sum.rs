//! `trailing_sum(value, position, span) OVER (PARTITION BY ... ORDER BY position)`: each
//! row's sum of `value` over the rows of its partition whose `position` lies in
//! `(position - span, position]`: with positions as day numbers, a trailing window of
//! `span` days. Nulls count as zero, so the result is never null.
//!
//! The same sums as `sum(value) OVER (... RANGE BETWEEN span-1 PRECEDING AND CURRENT ROW)`,
//! computed for a whole partition in one pass: a sliding frame is evaluated one row at a
//! time, which was two thirds of a full-year rating's time (BENCHMARKS.md). Days without a
//! row need none, so a student's quiet days cost nothing.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl};
use datafusion::physical_expr::expressions::Literal;

/// The `trailing_sum(Int64, Int64, Int64 literal) -> Int64` window function.
pub fn udwf() -> WindowUDF {
    WindowUDF::from(TrailingSum {
        signature: Signature::exact(vec![DataType::Int64, DataType::Int64, DataType::Int64], Volatility::Immutable),
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
        let span = args.input_exprs().get(2).and_then(|e| e.downcast_ref::<Literal>()).map(|literal| literal.value());
        match span {
            Some(&ScalarValue::Int64(Some(span))) if span >= 1 => Ok(Box::new(Trailing { span })),
            _ => plan_err!("trailing_sum: the span must be a constant of at least 1"),
        }
    }

    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(args.name(), DataType::Int64, false)))
    }
}

#[derive(Debug)]
struct Trailing {
    span: i64,
}

impl PartitionEvaluator for Trailing {
    /// Called once per partition, with the partition's rows in window order (by position).
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let input = values[0].as_primitive::<Int64Type>();
        let position = values[1].as_primitive::<Int64Type>();
        if position.null_count() > 0 {
            return exec_err!("trailing_sum: a position is null");
        }
        let value = |i: usize| if input.is_null(i) { 0 } else { input.value(i) };
        let mut sums = Vec::with_capacity(num_rows);
        let (mut sum, mut first) = (0i64, 0usize);
        for i in 0..num_rows {
            let at = position.value(i);
            if i > 0 && at < position.value(i - 1) {
                return exec_err!("trailing_sum: rows are not in position order");
            }
            sum = sum.wrapping_add(value(i));
            while position.value(first) <= at - self.span {
                sum = sum.wrapping_sub(value(first));
                first += 1;
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

    /// (partition, position, value); `a` has no row at positions 4 and 5.
    const ROWS: &str = "(VALUES ('a', 1, 5), ('a', 2, 1), ('b', 1, 7), ('a', 3, NULL), ('a', 6, 2), ('b', 2, 3), \
                        ('a', 7, 4), ('a', 8, 1))";

    #[tokio::test]
    async fn sums_the_rows_within_the_span_before_each_position() {
        let sql = format!(
            "SELECT column1 AS p, column2 AS o, \
                    trailing_sum(CAST(column3 AS BIGINT), CAST(column2 AS BIGINT), 3) \
                        OVER (PARTITION BY column1 ORDER BY column2) AS t, \
                    coalesce(sum(column3) OVER (PARTITION BY column1 ORDER BY column2 \
                                                RANGE BETWEEN 2 PRECEDING AND CURRENT ROW), 0) AS s \
             FROM {ROWS} ORDER BY p, o"
        );
        let lines = run(&sql).await.expect("query");
        let rows: Vec<_> = lines[3..lines.len() - 1].iter().map(|l| l.replace(' ', "")).collect();
        // a at 1, 2, 3, 6, 7, 8 with 5, 1, null, 2, 4, 1: spans (p-3, p] give 5, 6, 6, 2, 6, 7
        // (6 sees nothing from 3 or before); b: 7, 10. The RANGE frame sum agrees.
        assert_eq!(
            rows,
            ["|a|1|5|5|", "|a|2|6|6|", "|a|3|6|6|", "|a|6|2|2|", "|a|7|6|6|", "|a|8|7|7|", "|b|1|7|7|", "|b|2|10|10|"]
        );
    }

    #[tokio::test]
    async fn the_span_must_be_a_positive_constant() {
        for span in ["0", "column2"] {
            let sql = format!(
                "SELECT trailing_sum(CAST(column3 AS BIGINT), CAST(column2 AS BIGINT), CAST({span} AS BIGINT)) \
                 OVER (PARTITION BY column1 ORDER BY column2) FROM {ROWS}"
            );
            let err = run(&sql).await.expect_err("refused");
            assert!(err.to_string().contains("span must be a constant of at least 1"), "{err}");
        }
    }

    #[tokio::test]
    async fn positions_out_of_order_are_an_error() {
        let sql = format!(
            "SELECT trailing_sum(CAST(column3 AS BIGINT), CAST(column2 AS BIGINT), 3) \
             OVER (PARTITION BY column1 ORDER BY column3) FROM {ROWS}"
        );
        let err = run(&sql).await.expect_err("refused");
        assert!(err.to_string().contains("not in position order"), "{err}");
    }
}
