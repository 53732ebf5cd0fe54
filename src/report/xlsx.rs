//! Result tables as Excel workbooks: one sheet, a bold frozen header, and typed cells
//! (numbers as numbers, dates as dates), because that is what compliance offices work in.

use std::path::Path;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, TimeUnit};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use crate::domain::time::days_to_date;
use crate::error::{Error, Result};

fn excel(e: XlsxError) -> Error {
    Error::Internal(format!("the workbook could not be made: {e}"))
}

/// Writes the batches as one worksheet to `path` (atomically).
pub fn write(batches: &[RecordBatch], path: &Path) -> Result<()> {
    let Some(first) = batches.first() else {
        return Err(Error::Internal("no result to write".into()));
    };
    crate::warehouse::write_atomically(path, &workbook(&first.schema(), batches)?)
}

/// The batches (with columns `schema`) as a workbook of one worksheet, in memory.
pub fn workbook(schema: &arrow::datatypes::Schema, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    for (col, field) in schema.fields().iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, field.name(), &bold).map_err(excel)?;
    }
    let mut row = 1u32;
    for batch in batches {
        for (col, array) in batch.columns().iter().enumerate() {
            let col = col as u16;
            let cast = |to: &DataType| arrow::compute::cast(array, to);
            match array.data_type() {
                DataType::Date32 => {
                    let days = cast(&DataType::Date32)?;
                    let days = days.as_any().downcast_ref::<arrow::array::Date32Array>().expect("date");
                    for i in 0..days.len() {
                        if days.is_valid(i) {
                            let d = days_to_date(days.value(i));
                            let value = ExcelDateTime::parse_from_str(&d.to_string()).map_err(excel)?;
                            sheet.write_datetime_with_format(row + i as u32, col, &value, &date).map_err(excel)?;
                        }
                    }
                }
                DataType::Timestamp(TimeUnit::Microsecond, _) => {
                    let micros = cast(&DataType::Int64)?;
                    let micros = micros.as_any().downcast_ref::<arrow::array::Int64Array>().expect("int");
                    for i in 0..micros.len() {
                        if micros.is_valid(i) {
                            let t = chrono::DateTime::from_timestamp_micros(micros.value(i)).expect("in range");
                            let text = t.format("%Y-%m-%dT%H:%M:%S").to_string();
                            let value = ExcelDateTime::parse_from_str(&text).map_err(excel)?;
                            sheet.write_datetime_with_format(row + i as u32, col, &value, &datetime).map_err(excel)?;
                        }
                    }
                }
                t if t.is_numeric() => {
                    let numbers = cast(&DataType::Float64)?;
                    let numbers = numbers.as_any().downcast_ref::<arrow::array::Float64Array>().expect("float");
                    for i in 0..numbers.len() {
                        if numbers.is_valid(i) {
                            sheet.write_number(row + i as u32, col, numbers.value(i)).map_err(excel)?;
                        }
                    }
                }
                DataType::Boolean => {
                    let flags = array.as_any().downcast_ref::<arrow::array::BooleanArray>().expect("bool");
                    for i in 0..flags.len() {
                        if flags.is_valid(i) {
                            sheet.write_boolean(row + i as u32, col, flags.value(i)).map_err(excel)?;
                        }
                    }
                }
                _ => {
                    let text = cast(&DataType::Utf8)?;
                    let text = text.as_any().downcast_ref::<arrow::array::StringArray>().expect("text");
                    for i in 0..text.len() {
                        if text.is_valid(i) {
                            sheet.write_string(row + i as u32, col, text.value(i)).map_err(excel)?;
                        }
                    }
                }
            }
        }
        row += batch.num_rows() as u32;
    }
    sheet.set_freeze_panes(1, 0).map_err(excel)?;
    sheet.autofit();
    workbook.save_to_buffer().map_err(excel)
}
