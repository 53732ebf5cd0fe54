//! Reading single values out of query results, and making query parameters from days and
//! instants: the small conversions between Arrow cells and Rollcall's day numbers.

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use datafusion::scalar::ScalarValue;

use crate::error::{Error, Result};
use crate::warehouse::row;

/// A `Date32` parameter.
pub fn date(day: i32) -> ScalarValue {
    row::day(Some(day))
}

/// A UTC timestamp parameter.
pub fn utc(micros: i64) -> ScalarValue {
    row::instant(Some(micros))
}

/// How many rows the batches hold.
pub fn row_count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// The first row's cell of the named column, cast to `to`; `None` when there is no row or
/// the cell is null. A query without the column is a bug, reported as such.
fn cell(batches: &[RecordBatch], column: &str, to: &DataType) -> Result<Option<ArrayRef>> {
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else { return Ok(None) };
    let array = batch
        .column_by_name(column)
        .ok_or_else(|| Error::Internal(format!("a query result has no column '{column}'")))?;
    let array = arrow::compute::cast(array, to)?;
    Ok(array.is_valid(0).then_some(array))
}

/// The first row's value of a date column.
pub fn date_at(batches: &[RecordBatch], column: &str) -> Result<Option<i32>> {
    Ok(cell(batches, column, &DataType::Date32)?.map(|a| a.as_primitive::<Date32Type>().value(0)))
}

/// The first row's value of a timestamp column, in UTC microseconds.
pub fn timestamp_at(batches: &[RecordBatch], column: &str) -> Result<Option<i64>> {
    Ok(cell(batches, column, &DataType::Int64)?.map(|a| a.as_primitive::<Int64Type>().value(0)))
}

/// The first row's value of an integer column.
pub fn int_at(batches: &[RecordBatch], column: &str) -> Result<Option<i64>> {
    timestamp_at(batches, column)
}

/// The first row's value of a text column.
pub fn string_at(batches: &[RecordBatch], column: &str) -> Result<Option<String>> {
    Ok(cell(batches, column, &DataType::Utf8)?.map(|a| a.as_string::<i32>().value(0).to_string()))
}

/// The first row's value of a boolean column.
pub fn bool_at(batches: &[RecordBatch], column: &str) -> Result<Option<bool>> {
    Ok(cell(batches, column, &DataType::Boolean)?.map(|a| a.as_boolean().value(0)))
}

/// A whole column of a query result by name, cast to `to`. A query without the column is a
/// bug, reported as such.
fn whole(batch: &RecordBatch, column: &str, to: &DataType) -> Result<ArrayRef> {
    let array = batch
        .column_by_name(column)
        .ok_or_else(|| Error::Internal(format!("a query result has no column '{column}'")))?;
    Ok(arrow::compute::cast(array, to)?)
}

/// A text column by name.
pub fn texts(batch: &RecordBatch, column: &str) -> Result<StringArray> {
    Ok(whole(batch, column, &DataType::Utf8)?.as_string::<i32>().clone())
}

/// An integer column by name.
pub fn ints(batch: &RecordBatch, column: &str) -> Result<Int64Array> {
    Ok(whole(batch, column, &DataType::Int64)?.as_primitive::<Int64Type>().clone())
}

/// A number column by name.
pub fn floats(batch: &RecordBatch, column: &str) -> Result<Float64Array> {
    Ok(whole(batch, column, &DataType::Float64)?.as_primitive::<Float64Type>().clone())
}

/// A date column by name (days since the Unix epoch).
pub fn days(batch: &RecordBatch, column: &str) -> Result<Date32Array> {
    Ok(whole(batch, column, &DataType::Date32)?.as_primitive::<Date32Type>().clone())
}

/// The characters that make a spreadsheet treat a cell as a formula (OWASP, "CSV
/// Injection").
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A batch whose text cells cannot run as spreadsheet formulas: a cell beginning with one
/// of [`FORMULA_START`] gets a leading apostrophe, as OWASP recommends. Numbers, dates and
/// other typed columns are unchanged.
pub fn neutralise(batch: &RecordBatch) -> Result<RecordBatch> {
    use arrow::datatypes::{Field, Schema};
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match field.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let text = arrow::compute::cast(column, &DataType::Utf8)?;
                let safe: StringArray = text
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(|v| if v.starts_with(FORMULA_START) { format!("'{v}") } else { v.to_string() }))
                    .collect();
                fields.push(Field::new(field.name(), DataType::Utf8, field.is_nullable()));
                columns.push(std::sync::Arc::new(safe));
            }
            _ => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    Ok(RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    #[test]
    fn whole_columns_are_read_by_name_and_cast() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int32, true),
            Field::new("name", DataType::Utf8View, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(arrow::array::Int32Array::from(vec![Some(4), None])),
                Arc::new(arrow::array::StringViewArray::from(vec!["a", "b"])),
            ],
        )
        .unwrap();
        assert_eq!(ints(&batch, "n").unwrap(), Int64Array::from(vec![Some(4), None]));
        assert_eq!(floats(&batch, "n").unwrap().value(0), 4.0);
        assert_eq!(texts(&batch, "name").unwrap().value(1), "b");
        let missing = days(&batch, "day").unwrap_err().to_string();
        assert!(missing.contains("no column 'day'"), "{missing}");
    }

    #[test]
    fn cells_are_read_by_column_name() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("day", DataType::Date32, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Date32Array::from(vec![Some(20_000)])), Arc::new(StringArray::from(vec![None::<&str>]))],
        )
        .unwrap();
        let batches = [RecordBatch::new_empty(batch.schema()), batch];
        assert_eq!(date_at(&batches, "day").unwrap(), Some(20_000));
        assert_eq!(string_at(&batches, "name").unwrap(), None);
        assert_eq!(row_count(&batches), 1);
        let missing = date_at(&batches, "days").unwrap_err().to_string();
        assert!(missing.contains("no column 'days'"), "{missing}");
        assert_eq!(date_at(&[], "day").unwrap(), None);
    }
}
