//! Reading the columns of batches inside a query's own code (a stage's kernel over the
//! rows a catalog query streams to it), without copying them: text in whichever of Arrow's
//! string layouts it arrives in, integers as they are.

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};

/// A text column, read row by row without a copy, whichever of Arrow's string layouts it
/// arrives in (parquet reads give views, SQL literals plain strings).
pub trait Strings {
    /// Rows.
    fn len(&self) -> usize;
    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether row `i` is null.
    fn is_null(&self, i: usize) -> bool;
    /// Row `i`'s text (unspecified, but valid, for a null).
    fn value(&self, i: usize) -> &str;
}

impl<A> Strings for A
where
    A: Array,
    for<'a> &'a A: arrow::array::ArrayAccessor<Item = &'a str>,
{
    fn len(&self) -> usize {
        Array::len(self)
    }

    fn is_null(&self, i: usize) -> bool {
        Array::is_null(self, i)
    }

    fn value(&self, i: usize) -> &str {
        arrow::array::ArrayAccessor::value(&self, i)
    }
}

/// Calls `f` with a text column as [`Strings`].
pub fn with_strings<T>(array: &ArrayRef, f: impl FnOnce(&dyn Strings) -> T) -> datafusion::error::Result<T> {
    match array.data_type() {
        DataType::Utf8 => Ok(f(array.as_string::<i32>())),
        DataType::LargeUtf8 => Ok(f(array.as_string::<i64>())),
        DataType::Utf8View => Ok(f(array.as_string_view())),
        _ => Err(datafusion::error::DataFusionError::Internal("a text column holds no text".into())),
    }
}

/// A text column as string views: itself when it is one (as parquet reads give text),
/// else converted, so code that looks rows up by their view has one path.
pub fn string_views(array: &ArrayRef) -> datafusion::error::Result<ArrayRef> {
    match array.data_type() {
        DataType::Utf8View => Ok(array.clone()),
        DataType::Utf8 | DataType::LargeUtf8 => Ok(arrow::compute::cast(array, &DataType::Utf8View)?),
        _ => Err(datafusion::error::DataFusionError::Internal("a text column holds no text".into())),
    }
}

/// A column of a batch by name, for code running inside a query (a missing column is a bug).
pub fn column_ref<'a>(batch: &'a RecordBatch, name: &str) -> datafusion::error::Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| datafusion::error::DataFusionError::Internal(format!("no column '{name}' in the rows read")))
}

/// An `Int64` column of a batch by name, without a copy.
pub fn int64_ref<'a>(batch: &'a RecordBatch, name: &str) -> datafusion::error::Result<&'a Int64Array> {
    column_ref(batch, name)?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| datafusion::error::DataFusionError::Internal(format!("column '{name}' is not Int64")))
}

/// `batch` with each text column holding only its own rows' text. A column made from a
/// table read (the students', say) shares that table's whole text with every batch made
/// from it; a stage that holds many such batches (the rating's scored rows, 4.1M at year
/// scale: 303 MiB of department names against about 100 MiB of their own) compacts them.
pub fn compact_text(batch: &RecordBatch) -> datafusion::error::Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.as_string_view_opt() {
            Some(text) if !text.data_buffers().is_empty() => std::sync::Arc::new(text.gc()) as ArrayRef,
            _ => c.clone(),
        })
        .collect();
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Text in any of Arrow's string layouts comes out as the same views; other columns
    /// are refused.
    #[test]
    fn text_of_every_layout_becomes_views() {
        let values = [Some("S1"), None, Some("a student id longer than twelve bytes")];
        let views: ArrayRef = Arc::new(arrow::array::StringViewArray::from(values.to_vec()));
        for text in [
            Arc::new(arrow::array::StringArray::from(values.to_vec())) as ArrayRef,
            Arc::new(arrow::array::LargeStringArray::from(values.to_vec())),
            views.clone(),
        ] {
            let got = string_views(&text).unwrap();
            assert_eq!(got.as_string_view().iter().collect::<Vec<_>>(), values, "{}", text.data_type());
        }
        assert!(string_views(&(Arc::new(Int64Array::from(vec![1])) as ArrayRef)).is_err());
    }

    /// A slice of a long text column keeps only its own text once compacted.
    #[test]
    fn compacted_text_holds_only_its_rows() {
        let text =
            arrow::array::StringViewArray::from_iter_values((0..10_000).map(|i| format!("Department number {i}")));
        let slice: ArrayRef = Arc::new(text.slice(100, 10));
        let batch = RecordBatch::try_from_iter([("department", slice.clone())]).unwrap();
        let held = |b: &RecordBatch| b.column(0).as_string_view().data_buffers().iter().map(|b| b.len()).sum::<usize>();
        assert!(held(&batch) > 100_000);
        let compacted = compact_text(&batch).unwrap();
        assert!(held(&compacted) <= 10 * 24, "{}", held(&compacted));
        assert_eq!(compacted.column(0).as_ref(), slice.as_ref());
    }
}
