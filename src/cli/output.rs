//! Writing result tables as CSV, JSON or an aligned text table, to stdout or `--out FILE`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use arrow::array::RecordBatch;
use clap::ValueEnum;

use crate::error::{Error, Result};

tokio::task_local! {
    /// What the running command has said on stdout so far, held until its audit entry is
    /// written (see [`said`]).
    static SAID: std::sync::Mutex<String>;
}

/// Prints a line on stdout; inside [`said`] the line is held until the command's audit
/// entry is written, so a reader who stops reading early (a closed pipe) never leaves a
/// job without its entry.
pub fn say(line: impl std::fmt::Display) {
    let text = format!("{line}\n");
    let held = SAID.try_with(|said| said.lock().map(|mut said| said.push_str(&text)).is_ok());
    if held != Ok(true) {
        // A closed pipe is the reader's choice, not a failure.
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
}

/// Runs a command holding what it says; returns its result and the text held.
pub async fn said<T>(command: impl Future<Output = T>) -> (T, String) {
    SAID.scope(std::sync::Mutex::new(String::new()), async {
        let result = command.await;
        let text = SAID.with(|said| said.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default());
        (result, text)
    })
    .await
}

/// Writes held text to stdout; a closed pipe is an error [`Error::is_broken_pipe`] knows.
pub fn flush_said(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(|e| Error::io(Path::new("stdout"), e))
}

/// Output formats of list commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// RFC 4180 CSV with a header row; a text cell that a spreadsheet would run as a
    /// formula (beginning with =, +, -, @, tab or carriage return) starts with an apostrophe.
    Csv,
    /// CSV with every cell as held, for programs (never open it in a spreadsheet).
    CsvRaw,
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
                writer.write(&crate::engine::cells::neutralise(batch)?)?;
            }
        }
        Format::CsvRaw => {
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
