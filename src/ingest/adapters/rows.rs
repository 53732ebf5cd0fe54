//! Reading exported CSV files row by row: header lookup, NULL spellings, malformed rows
//! rejected by line.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};

use super::{Sink, text};

/// A CSV reader over a decoded export.
pub type CsvReader = csv::Reader<Box<dyn std::io::BufRead + Send>>;

/// Opens an exported CSV file (any byte-order mark skipped) and reads its header, trimmed;
/// the header is kept on the sink for the rejects file.
pub fn open_csv(path: &Path, sink: &mut Sink) -> Result<(CsvReader, Vec<String>)> {
    let (reader, _) = text::open(path)?;
    let mut csv = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(reader);
    let header: Vec<String> = csv
        .headers()
        .map_err(|e| Error::Rejected { summary: format!("{}:1: the header cannot be read: {e}", path.display()) })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    sink.header = header.clone();
    Ok((csv, header))
}

/// Reads records, handing each well-shaped one to `row`; a record with the wrong number of
/// fields (a trailing empty field is allowed) or invalid text is rejected by line.
pub fn each_record(
    path: &Path,
    csv: &mut CsvReader,
    width: usize,
    sink: &mut Sink,
    mut row: impl FnMut(&csv::StringRecord, u64, &mut Sink) -> Result<()>,
) -> Result<()> {
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                line = record.position().map(|p| p.line()).unwrap_or(line + 1);
                sink.read_row();
                let trailing_empty =
                    record.len() == width + 1 && record.get(width).is_some_and(|f| f.trim().is_empty());
                if record.len() != width && !trailing_empty {
                    let reason = format!("has {} fields, the header has {width}", record.len());
                    sink.reject(line, "", reason, record.iter().map(String::from).collect());
                    continue;
                }
                row(&record, line, sink)?;
            }
            Err(e) => {
                let at = e.position().map(|p| p.line()).unwrap_or(line + 1);
                match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        sink.read_row();
                        sink.reject(at, "", "is not valid UTF-8 text", Vec::new());
                        line = at;
                    }
                    csv::ErrorKind::Io(_) => {
                        return Err(Error::io(path, std::io::Error::other(e.to_string())));
                    }
                    _ => {
                        sink.read_row();
                        sink.reject(at, "", format!("cannot be read as CSV: {e}"), Vec::new());
                        line = at;
                    }
                }
            }
        }
    }
}

/// The value of a field by header name, trimmed, with database NULL spellings as empty.
pub fn field(record: &csv::StringRecord, index: Option<usize>) -> &str {
    match index.and_then(|i| record.get(i)).map(str::trim) {
        Some("NULL") | Some("\\N") | None => "",
        Some(v) => v,
    }
}

/// Finds each wanted column in a header, case-insensitively and ignoring spaces and
/// underscores (`a|b` accepts either name); returns the missing required ones as an error naming the file.
pub fn locate(
    path: &Path,
    header: &[String],
    wanted: &[(&'static str, bool)],
) -> Result<HashMap<&'static str, Option<usize>>> {
    let norm = |s: &str| s.chars().filter(|c| !matches!(c, ' ' | '_' | '-')).collect::<String>().to_lowercase();
    let normalised: Vec<String> = header.iter().map(|h| norm(h)).collect();
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for (name, required) in wanted {
        let pos = name.split('|').find_map(|alt| normalised.iter().position(|h| *h == norm(alt)));
        if pos.is_none() && *required {
            missing.push(name.split('|').next().unwrap_or(name));
        }
        out.insert(*name, pos);
    }
    if !missing.is_empty() {
        return Err(Error::Rejected {
            summary: format!("{}:1: missing column(s) {}", path.display(), missing.join(", ")),
        });
    }
    Ok(out)
}
