//! Rows written one at a time (a rating run, a case outcome, a subject-access request) as
//! typed structs that name their columns, instead of positional single-row batches: a
//! column named wrongly, or of the wrong type, is an error, and a column left out is null.

use arrow::array::{ArrayRef, RecordBatch};
use datafusion::scalar::ScalarValue;

use super::tables::{Col, TableDef};
use crate::error::{Error, Result};

/// A value of a column, by name.
pub type Cell = (&'static str, ScalarValue);

/// A struct that is one row of a table.
pub trait Row {
    /// The table it is a row of.
    const TABLE: TableDef;

    /// Its cells, by column name.
    fn cells(&self) -> Vec<Cell>;
}

/// A number cell.
pub fn float(value: f64) -> ScalarValue {
    ScalarValue::Float64(Some(value))
}

/// A text cell.
pub fn text(value: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(value.into()))
}

/// A timestamp cell (UTC microseconds).
pub fn instant(micros: Option<i64>) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(micros, Some("UTC".into()))
}

/// A day cell (days since the Unix epoch).
pub fn day(days: Option<i32>) -> ScalarValue {
    ScalarValue::Date32(days)
}

/// An integer cell.
pub fn int(value: i64) -> ScalarValue {
    ScalarValue::Int64(Some(value))
}

/// Rows as one batch in the table's layout.
pub fn batch<R: Row>(rows: &[R]) -> Result<RecordBatch> {
    named(&R::TABLE, &rows.iter().map(Row::cells).collect::<Vec<_>>())
}

/// Rows given as cells by column name, as one batch in the table's layout.
pub fn named(def: &TableDef, cells: &[Vec<Cell>]) -> Result<RecordBatch> {
    for row in cells {
        for (name, _) in row {
            if !def.column_names().any(|c| c == *name) {
                return Err(Error::Internal(format!("table '{}' has no column '{name}'", def.name)));
            }
        }
    }
    let columns = def
        .columns
        .iter()
        .map(|(name, col)| {
            let null = ScalarValue::try_from(col.data_type()).map_err(|e| Error::query(def.name, e))?;
            let values = cells
                .iter()
                .map(|row| row.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_else(|| null.clone()));
            let array = ScalarValue::iter_to_array(values).map_err(|e| Error::query(def.name, e))?;
            if array.data_type() != &col.data_type() {
                return Err(Error::Internal(format!("table '{}': column '{name}' is not {}", def.name, kind(*col))));
            }
            Ok(array)
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(def.schema(), columns)?)
}

/// Whole columns given by name, as one batch in the table's layout: for bulk rows, where a
/// cell per value would be slow. A column not given is null; a name the table lacks, or a
/// column of the wrong type, is an error.
pub fn columns(def: &TableDef, given: Vec<(&'static str, ArrayRef)>) -> Result<RecordBatch> {
    for (name, _) in &given {
        if !def.column_names().any(|c| c == *name) {
            return Err(Error::Internal(format!("table '{}' has no column '{name}'", def.name)));
        }
    }
    let rows = given.first().map_or(0, |(_, a)| a.len());
    let columns = def
        .columns
        .iter()
        .map(|(name, col)| match given.iter().find(|(n, _)| n == name) {
            Some((_, array)) if array.data_type() != &col.data_type() => {
                Err(Error::Internal(format!("table '{}': column '{name}' is not {}", def.name, kind(*col))))
            }
            Some((_, array)) => Ok(array.clone()),
            None => Ok(arrow::array::new_null_array(&col.data_type(), rows)),
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(def.schema(), columns)?)
}

fn kind(col: Col) -> &'static str {
    match col {
        Col::Text => "text",
        Col::Date => "a date",
        Col::Timestamp => "a timestamp",
        Col::Int => "an integer",
        Col::Float => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::tables;

    struct Request<'a>(&'a str, Vec<Cell>);

    impl Row for Request<'_> {
        const TABLE: TableDef = tables::SAR_REQUESTS;
        fn cells(&self) -> Vec<Cell> {
            let mut cells = vec![("request_id", text(self.0))];
            cells.extend(self.1.iter().cloned());
            cells
        }
    }

    #[test]
    fn cells_land_in_their_named_columns_and_the_rest_are_null() {
        let rows = [Request("SAR-1", vec![("files", int(3))]), Request("SAR-2", vec![("made_at", instant(Some(7)))])];
        let batch = batch(&rows).unwrap();
        assert_eq!(batch.schema(), tables::SAR_REQUESTS.schema());
        assert_eq!(batch.num_rows(), 2);
        let files = batch.column_by_name("files").unwrap();
        assert_eq!(ScalarValue::try_from_array(files, 0).unwrap(), int(3));
        assert!(files.is_null(1));
        assert!(batch.column_by_name("student_id").unwrap().is_null(0));
    }

    #[test]
    fn whole_columns_land_by_name_and_a_wrong_one_is_refused() {
        use std::sync::Arc;
        let ids: ArrayRef = Arc::new(arrow::array::StringArray::from(vec!["SAR-1", "SAR-2"]));
        let files: ArrayRef = Arc::new(arrow::array::Int64Array::from(vec![3, 4]));
        let batch = columns(&tables::SAR_REQUESTS, vec![("files", files.clone()), ("request_id", ids)]).unwrap();
        assert_eq!(batch.schema(), tables::SAR_REQUESTS.schema());
        assert_eq!(ScalarValue::try_from_array(batch.column_by_name("files").unwrap(), 1).unwrap(), int(4));
        assert_eq!(batch.column_by_name("student_id").unwrap().null_count(), 2);
        let wrong = columns(&tables::SAR_REQUESTS, vec![("request_id", files)]).unwrap_err().to_string();
        assert!(wrong.contains("'request_id' is not text"), "{wrong}");
    }

    #[test]
    fn a_wrong_name_or_type_is_refused() {
        let wrong_name = batch(&[Request("SAR-1", vec![("file_count", int(3))])]).unwrap_err().to_string();
        assert!(wrong_name.contains("no column 'file_count'"), "{wrong_name}");
        let wrong_type = batch(&[Request("SAR-1", vec![("files", text("3"))])]).unwrap_err().to_string();
        assert!(wrong_type.contains("'files' is not an integer"), "{wrong_type}");
    }
}
