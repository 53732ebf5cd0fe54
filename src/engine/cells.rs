//! Reading single values out of query results, and making query parameters from days and
//! instants: the small conversions between Arrow cells and Rollcall's day numbers.

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use datafusion::scalar::ScalarValue;

/// A `Date32` parameter.
pub fn date(day: i32) -> ScalarValue {
    ScalarValue::Date32(Some(day))
}

/// A UTC timestamp parameter.
pub fn utc(micros: i64) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(micros), Some("UTC".into()))
}

/// How many rows the batches hold.
pub fn first_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn cell(batches: &[RecordBatch], column: usize, to: &DataType) -> Option<arrow::array::ArrayRef> {
    let batch = batches.iter().find(|b| b.num_rows() > 0)?;
    let array = arrow::compute::cast(batch.column(column), to).ok()?;
    array.is_valid(0).then_some(array)
}

/// The first row's value of a date column.
pub fn date_at(batches: &[RecordBatch], column: usize) -> Option<i32> {
    cell(batches, column, &DataType::Date32)
        .map(|a| a.as_any().downcast_ref::<arrow::array::Date32Array>().expect("date").value(0))
}

/// The first row's value of a timestamp column, in UTC microseconds.
pub fn timestamp_at(batches: &[RecordBatch], column: usize) -> Option<i64> {
    cell(batches, column, &DataType::Int64)
        .map(|a| a.as_any().downcast_ref::<arrow::array::Int64Array>().expect("int").value(0))
}

/// The first row's value of an integer column.
pub fn int_at(batches: &[RecordBatch], column: usize) -> Option<i64> {
    timestamp_at(batches, column)
}

/// The first row's value of a text column.
pub fn string_at(batches: &[RecordBatch], column: usize) -> Option<String> {
    cell(batches, column, &DataType::Utf8)
        .map(|a| a.as_any().downcast_ref::<arrow::array::StringArray>().expect("text").value(0).to_string())
}

/// The first row's value of a boolean column.
pub fn bool_at(batches: &[RecordBatch], column: usize) -> Option<bool> {
    cell(batches, column, &DataType::Boolean)
        .map(|a| a.as_any().downcast_ref::<arrow::array::BooleanArray>().expect("bool").value(0))
}
