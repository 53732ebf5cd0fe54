//! Writing result tables as CSV, JSON or an aligned text table, to stdout or `--out FILE`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use arrow::array::RecordBatch;
use clap::ValueEnum;

use crate::error::{Error, Result};

/// Output formats of list commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
    /// An aligned text table for reading on screen.
    Table,
    /// An Excel workbook with typed columns (dates as dates); needs `--out FILE`.
    Xlsx,
}

impl Format {
    /// The format to use: the one asked for, else `table` on a terminal and `csv` otherwise.
    pub fn resolve(asked: Option<Format>, out: Option<&Path>) -> Format {
        if let Some(format) = asked {
            return format;
        }
        match out {
            Some(path) if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) => Format::Xlsx,
            None if std::io::stdout().is_terminal() => Format::Table,
            _ => Format::Csv,
        }
    }
}

/// Runs a query and writes its result; an empty result still gets its header.
pub async fn write_frame(
    df: datafusion::dataframe::DataFrame,
    name: &str,
    format: Format,
    out: Option<&Path>,
) -> Result<()> {
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let mut batches = df.collect().await.map_err(|e| Error::query(name, e))?;
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    write(&batches, format, out)
}

/// Writes batches in `format` to `out` (atomically) or stdout.
pub fn write(batches: &[RecordBatch], format: Format, out: Option<&Path>) -> Result<()> {
    if format == Format::Xlsx {
        let path = out.ok_or_else(|| Error::Usage("--format xlsx needs --out FILE.xlsx".into()))?;
        return crate::report::xlsx::write(batches, path);
    }
    let mut buf = Vec::new();
    render(batches, format, &mut buf)?;
    match out {
        Some(path) => crate::warehouse::write_atomically(path, &buf),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&buf).and_then(|()| stdout.flush()).map_err(|e| Error::io("<stdout>", e))
        }
    }
}

/// Renders batches in `format` into `w`.
pub fn render(batches: &[RecordBatch], format: Format, w: &mut Vec<u8>) -> Result<()> {
    match format {
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *w);
            for batch in batches {
                writer.write(batch)?;
            }
        }
        Format::Json => {
            {
                let mut writer = arrow::json::ArrayWriter::new(&mut *w);
                let refs: Vec<&RecordBatch> = batches.iter().collect();
                writer.write_batches(&refs)?;
                writer.finish()?;
            }
            if batches.iter().all(|b| b.num_rows() == 0) {
                w.extend_from_slice(b"[]");
            }
            w.push(b'\n');
        }
        Format::Table => {
            let text = arrow::util::pretty::pretty_format_batches(batches)?;
            w.extend_from_slice(text.to_string().as_bytes());
            w.push(b'\n');
        }
        Format::Xlsx => return Err(Error::Usage("--format xlsx needs --out FILE.xlsx".into())),
    }
    Ok(())
}
