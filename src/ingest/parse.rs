//! Reads one interchange CSV file into Arrow batches, checking every value.
//!
//! Problems are collected, not thrown: each names the file's line and the column, and
//! never quotes a value (values are personal data). Rows with a problem are kept out of
//! the batches and returned as rejects, so the caller can refuse the file or quarantine them.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono_tz::Tz;
use indicatif::ProgressBar;

use super::kinds::{Check, Column, Kind};
use super::order::RowOrder;
use super::split::{open_range, split_points};
use crate::domain::time;
use crate::error::{Error, Result};
use crate::warehouse::tables::Col;

/// Rows per Arrow batch.
const BATCH_ROWS: usize = 65_536;

/// The name of the staged column holding each row's line in its file.
pub const LINE_COLUMN: &str = "_line";

/// A row refused, with why.
#[derive(Debug, Clone)]
pub struct Reject {
    /// Line in the file where the row starts (the header is line 1).
    pub line: u64,
    /// The column at fault (empty when the whole row is at fault).
    pub column: String,
    /// What is wrong, without quoting the value.
    pub reason: String,
    /// The row's raw fields, for the rejects file (never printed).
    pub record: Option<Vec<String>>,
}

/// A special-category value split off a row, with the row's key.
#[derive(Debug, Clone)]
pub struct SpecialValue {
    /// Line of the row.
    pub line: u64,
    /// The row's student id.
    pub student_id: String,
    /// The column it came from.
    pub column: &'static str,
    /// The value (`None` when the cell was empty: a held value is then removed).
    pub value: Option<String>,
}

/// The result of reading one file.
#[derive(Debug)]
pub struct Parsed {
    /// Good rows in the table's layout plus `_line`, as one batch.
    pub batch: RecordBatch,
    /// Special-category values of good rows.
    pub special: Vec<SpecialValue>,
    /// Data rows read.
    pub rows_read: u64,
    /// Refused rows, one entry per problem, in line order.
    pub rejects: Vec<Reject>,
    /// Notes that do not refuse anything (unknown columns).
    pub warnings: Vec<String>,
    /// The file's header, for writing rejected rows back out.
    pub header: Vec<String>,
}

impl Parsed {
    /// Number of distinct rows refused.
    pub fn rejected_rows(&self) -> usize {
        self.rejects.iter().map(|r| r.line).collect::<BTreeSet<_>>().len()
    }
}

/// The staged layout for a kind: the table's columns plus `_line`.
pub fn staged_schema(kind: &Kind) -> SchemaRef {
    let mut fields: Vec<Field> = kind.table.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(LINE_COLUMN, DataType::UInt64, false));
    Arc::new(Schema::new(fields))
}

enum Slot {
    Input { header: Option<usize>, column: Column },
    Day { source: usize },
    IngestedAt,
}

enum Builder {
    Text(StringBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Int(Int64Builder),
}

impl Builder {
    fn new(col: Col) -> Builder {
        match col {
            Col::Text => Builder::Text(StringBuilder::new()),
            Col::Date => Builder::Date(Date32Builder::new()),
            Col::Timestamp => Builder::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
            Col::Int => Builder::Int(Int64Builder::new()),
            Col::Float => unreachable!("no input column is a float"),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Cell {
    Null,
    Text(usize),
    Flags,
    Int(i64),
    Date(i32),
    Ts(i64),
}

/// Options for reading.
pub struct ParseOptions<'a> {
    /// Zone for timestamps without an offset.
    pub tz: Tz,
    /// Value of `ingested_at` for every row.
    pub ingested_at: i64,
    /// Progress bar advanced by bytes read.
    pub progress: &'a ProgressBar,
}

/// Reads and checks one file of `kind`.
pub fn parse_file(path: &Path, kind: &Kind, opts: &ParseOptions) -> Result<Parsed> {
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    let parts = split_points(path, size)?;
    let mut reader = csv_reader(open_range(path, 0, parts[0].1)?, true);
    let name = path.display().to_string();
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| file_error(&name, 1, &format!("cannot read the header row: {}", csv_reason(&e))))?
        .iter()
        .enumerate()
        .map(|(i, h)| if i == 0 { h.trim_start_matches('\u{feff}').to_string() } else { h.to_string() })
        .collect();

    let mut seen = HashMap::new();
    let mut twice = None;
    for (i, h) in header.iter().enumerate() {
        if let Some(first) = seen.insert(h.as_str(), i) {
            twice.get_or_insert((first, i));
            seen.insert(h.as_str(), first);
        }
    }
    // The header is checked for what the kind needs first: a file whose first row is data
    // (no header) is named as such, and its values are never echoed as column names.
    let missing: Vec<&str> =
        kind.columns.iter().filter(|c| c.required && !seen.contains_key(c.name)).map(|c| c.name).collect();
    if !missing.is_empty() {
        let known = header.iter().any(|h| kind.column(h).is_some());
        return Err(file_error(
            &name,
            1,
            &format!(
                "missing required column{} {}{}",
                if missing.len() > 1 { "s" } else { "" },
                missing.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", "),
                if known { "" } else { " (the first row names no column of this kind: is the header row missing?)" }
            ),
        ));
    }
    if let Some((first, i)) = twice {
        // Named only when it is one of the kind's columns (anything else may be a value).
        let what = match kind.column(&header[i]) {
            Some(c) => format!("column '{}'", c.name),
            None => "a column".to_string(),
        };
        return Err(file_error(&name, 1, &format!("{what} appears twice (columns {} and {})", first + 1, i + 1)));
    }
    // The row holds the kind's required columns, so it is a header: its other names are
    // column names, safe to repeat.
    let mut warnings = Vec::new();
    for h in &header {
        if kind.column(h).is_none() {
            warnings.push(format!("{name}: column '{h}' is not part of kind {}, ignored", kind.name));
        }
    }

    // Where each table column's value comes from.
    let table_cols = kind.table.columns;
    let slots: Vec<Slot> = table_cols
        .iter()
        .map(|(col_name, _)| {
            if let Some(column) = kind.column(col_name) {
                Slot::Input { header: seen.get(col_name).copied(), column: *column }
            } else if *col_name == "day" {
                let source = kind.day_of.expect("kinds_and_tables_agree");
                Slot::Day {
                    source: table_cols.iter().position(|(n, _)| *n == source).expect("day source is a table column"),
                }
            } else {
                Slot::IngestedAt
            }
        })
        .collect();
    let layout = Layout {
        kind,
        slots,
        specials: kind
            .columns
            .iter()
            .filter(|c| matches!(c.check, Check::Special))
            .filter_map(|c| seen.get(c.name).map(|&i| (i, c.name)))
            .collect(),
        key_header: seen[kind.key[0]],
        span: kind.span.map(|(a, b)| {
            let pos = |n: &str| table_cols.iter().position(|(c, _)| *c == n).expect("span columns are table columns");
            (pos(a), pos(b), a, b)
        }),
        width: header.len(),
        schema: staged_schema(kind),
        path,
        opts,
        crlf: header_ends_in_crlf(path)?,
    };

    // The first part continues after the header; the others start on a line boundary
    // (only files without quotes are split, so no field spans two parts). Each part is
    // read by its own thread, then ranked and sorted by it (`RowOrder::arrange`).
    let chunks: Vec<Result<Chunk>> = std::thread::scope(|scope| {
        let others: Vec<_> = parts[1..]
            .iter()
            .map(|&(start, end, lines_before)| {
                let layout = &layout;
                scope.spawn(move || read_rows(csv_reader(open_range(path, start, end)?, false), lines_before, layout))
            })
            .collect();
        let mut chunks = vec![read_rows(reader, 0, &layout)];
        chunks.extend(others.into_iter().map(|h| h.join().expect("a CSV reading thread panicked")));
        chunks
    });
    let mut batches = Vec::new();
    let mut special = Vec::new();
    let mut rejects = Vec::new();
    let mut rows_read = 0;
    for chunk in chunks {
        let chunk = chunk?;
        batches.push(chunk.batches);
        special.extend(chunk.special);
        rejects.extend(chunk.rejects);
        rows_read += chunk.rows_read;
    }
    let order = RowOrder::new(kind, &layout.schema)?;
    let (batch, dropped) = order.arrange(kind, &layout.schema, &batches, &mut rejects)?;
    drop(batches);
    if !dropped.is_empty() {
        special.retain(|s| !dropped.contains(&s.line));
    }
    rejects.sort_by_key(|r| r.line);
    Ok(Parsed { batch, special, rows_read, rejects, warnings, header })
}

/// Headers are trimmed by the reader; fields are trimmed where they are read (`field`):
/// the reader's own field trimming copies every row into a new record.
fn csv_reader<R: std::io::Read>(input: R, has_headers: bool) -> csv::Reader<R> {
    csv::ReaderBuilder::new().has_headers(has_headers).flexible(true).trim(csv::Trim::Headers).from_reader(input)
}

/// A row's field without leading and trailing whitespace.
fn field(record: &csv::StringRecord, index: usize) -> &str {
    let text = &record[index];
    // Most fields start and end with a printable ASCII character: nothing to trim.
    match text.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        [only] if only.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// What every part of a file needs to read its rows.
struct Layout<'a> {
    kind: &'a Kind,
    slots: Vec<Slot>,
    specials: Vec<(usize, &'static str)>,
    key_header: usize,
    span: Option<(usize, usize, &'static str, &'static str)>,
    width: usize,
    schema: SchemaRef,
    path: &'a Path,
    opts: &'a ParseOptions<'a>,
    /// Lines end in CR LF (the header's does): the CSV reader counts a record's line
    /// before it passes the LF left from the line above, one too few.
    crlf: bool,
}

/// The rows of one part of a file.
struct Chunk {
    batches: Vec<RecordBatch>,
    special: Vec<SpecialValue>,
    rejects: Vec<Reject>,
    rows_read: u64,
}

/// Whether the file's first line ends in CR LF.
fn header_ends_in_crlf(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(1 << 16).read_to_end(&mut head)).map_err(|e| Error::io(path, e))?;
    Ok(memchr::memchr(b'\n', &head).is_some_and(|i| i > 0 && head[i - 1] == b'\r'))
}

/// Reads and checks the rows of one part; `lines_before` is the file line the part's
/// first line follows.
fn read_rows<R: std::io::Read>(mut reader: csv::Reader<R>, lines_before: u64, layout: &Layout) -> Result<Chunk> {
    let Layout { slots, specials, key_header, span, width, schema, path, opts, crlf, .. } = layout;
    // In a CR LF file every record but the first of a later part (which starts just after
    // an LF) is counted one line short by the reader.
    let mut first_record = true;
    let mut line_of = |reported: u64| {
        let short = *crlf && !(first_record && lines_before > 0);
        first_record = false;
        lines_before + reported + u64::from(short)
    };
    let mut builders: Vec<Builder> = layout.kind.table.columns.iter().map(|(_, c)| Builder::new(*c)).collect();
    let mut lines = UInt64Builder::new();
    let mut chunk = Chunk { batches: Vec::new(), special: Vec::new(), rejects: Vec::new(), rows_read: 0 };
    let mut cells = vec![Cell::Null; slots.len()];
    let mut flags = vec![String::new(); slots.len()];
    let mut record = csv::StringRecord::new();
    let mut clock = time::LocalClock::new(opts.tz);
    let mut pending = 0usize;
    let mut reported = reader.position().byte();
    let mut row_problems: Vec<(String, String)> = Vec::new();

    loop {
        let line_before = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                chunk.rows_read += 1;
                let line = line_of(e.position().map(|p| p.line()).unwrap_or(line_before));
                chunk.rejects.push(Reject { line, column: String::new(), reason: csv_reason(&e), record: None });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(Error::io(path, std::io::Error::other(csv_reason(&e))));
                }
                continue;
            }
        }
        chunk.rows_read += 1;
        let line = line_of(record.position().map(|p| p.line()).unwrap_or(line_before));
        if record.len() == 1 && field(&record, 0).is_empty() {
            chunk.rows_read -= 1; // a blank line is not a row
            continue;
        }
        row_problems.clear();
        if record.len() != *width {
            row_problems.push((String::new(), format!("row has {} fields, the header has {width}", record.len())));
        } else {
            for (i, slot) in slots.iter().enumerate() {
                cells[i] = match slot {
                    Slot::Input { header: None, column } => column.default.map_or(Cell::Null, Cell::Int),
                    Slot::Input { header: Some(h), column } => {
                        match check_value(field(&record, *h), *h, column, &mut clock, &mut flags[i]) {
                            Ok(cell) => cell,
                            Err(reason) => {
                                row_problems.push((column.name.to_string(), reason));
                                Cell::Null
                            }
                        }
                    }
                    Slot::Day { .. } | Slot::IngestedAt => Cell::Null,
                };
            }
            if let Some((a, b, an, bn)) = *span
                && cells[a] != Cell::Null
                && cells[b] != Cell::Null
                && cells[b] < cells[a]
            {
                row_problems.push((bn.to_string(), format!("{bn} is before {an}")));
            }
        }
        if !row_problems.is_empty() {
            let raw: Vec<String> = record.iter().map(|f| f.trim().to_string()).collect();
            for (column, reason) in row_problems.drain(..) {
                chunk.rejects.push(Reject { line, column, reason, record: Some(raw.clone()) });
            }
            continue;
        }
        for (i, slot) in slots.iter().enumerate() {
            match (&mut builders[i], slot) {
                (Builder::Date(b), Slot::Day { source }) => match cells[*source] {
                    Cell::Ts(t) => b.append_value(clock.local_day(t)),
                    _ => b.append_null(),
                },
                (Builder::Ts(b), Slot::IngestedAt) => b.append_value(opts.ingested_at),
                (Builder::Text(b), _) => match cells[i] {
                    Cell::Text(h) => b.append_value(field(&record, h)),
                    Cell::Flags => b.append_value(&flags[i]),
                    _ => b.append_null(),
                },
                (Builder::Date(b), _) => match cells[i] {
                    Cell::Date(d) => b.append_value(d),
                    _ => b.append_null(),
                },
                (Builder::Ts(b), _) => match cells[i] {
                    Cell::Ts(t) => b.append_value(t),
                    _ => b.append_null(),
                },
                (Builder::Int(b), _) => match cells[i] {
                    Cell::Int(v) => b.append_value(v),
                    _ => b.append_null(),
                },
            }
        }
        for (h, column) in specials {
            let value = Some(field(&record, *h)).filter(|v| !v.is_empty()).map(str::to_string);
            chunk.special.push(SpecialValue {
                line,
                student_id: field(&record, *key_header).to_string(),
                column,
                value,
            });
        }
        lines.append_value(line);
        pending += 1;
        if pending == BATCH_ROWS {
            chunk.batches.push(finish_batch(schema, &mut builders, &mut lines)?);
            pending = 0;
            let at = reader.position().byte();
            opts.progress.inc(at - reported);
            reported = at;
        }
    }
    if pending > 0 || chunk.batches.is_empty() {
        chunk.batches.push(finish_batch(schema, &mut builders, &mut lines)?);
    }
    opts.progress.inc(reader.position().byte() - reported);
    Ok(chunk)
}

fn finish_batch(schema: &SchemaRef, builders: &mut [Builder], lines: &mut UInt64Builder) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
    columns.push(Arc::new(lines.finish()));
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The longest text value accepted (names, identifiers, notes): longer is not data.
const MAX_TEXT_BYTES: usize = 4096;

fn check_value(
    text: &str,
    index: usize,
    column: &Column,
    clock: &mut time::LocalClock,
    flags: &mut String,
) -> std::result::Result<Cell, String> {
    if text.is_empty() {
        return match column.default {
            Some(v) => Ok(Cell::Int(v)),
            None if column.required => Err("missing value".into()),
            None => Ok(Cell::Null),
        };
    }
    match column.check {
        Check::Text | Check::Special => {
            if text.len() > MAX_TEXT_BYTES {
                Err(format!("longer than {MAX_TEXT_BYTES} bytes"))
            } else if has_control(text) {
                Err("holds a control character (a NUL byte, say)".into())
            } else {
                Ok(Cell::Text(index))
            }
        }
        Check::Date => time::parse_date(text).map(Cell::Date),
        Check::Timestamp => time::parse_timestamp_on(text, clock).map(Cell::Ts),
        Check::Int { min, max } => match text.parse::<i64>() {
            Ok(v) if v >= min && v <= max => Ok(Cell::Int(v)),
            Ok(_) => Err(format!("outside {min} to {max}")),
            Err(_) => Err("not a whole number".into()),
        },
        Check::Enum(allowed) => {
            if allowed.contains(&text) {
                Ok(Cell::Text(index))
            } else {
                Err(format!("unknown value, expected one of {}", allowed.join(", ")))
            }
        }
        Check::Flags(allowed) => {
            flags.clear();
            for flag in text.split(';').map(str::trim).filter(|f| !f.is_empty()) {
                if !allowed.contains(&flag) {
                    return Err(format!("unknown flag, expected some of {}", allowed.join(", ")));
                }
                if !flags.is_empty() {
                    flags.push(';');
                }
                flags.push_str(flag);
            }
            Ok(if flags.is_empty() { Cell::Null } else { Cell::Flags })
        }
        Check::AcademicYear => {
            if text.parse::<crate::domain::year::AcademicYear>().is_ok() {
                Ok(Cell::Text(index))
            } else {
                Err("not an academic year (expected e.g. 2025-26)".into())
            }
        }
    }
}

/// Whether text holds a control character other than a tab (bytes first: ASCII text, the
/// usual case, needs no decoding).
fn has_control(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
    } else {
        text.chars().any(|c| c.is_control() && c != '\t')
    }
}

fn file_error(name: &str, line: u64, message: &str) -> Error {
    Error::Rejected { summary: format!("{name}:{line}: {message}; nothing was ingested") }
}

/// Describes a CSV reader error without quoting data.
fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 (save the file as UTF-8)".into(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("row has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => "malformed CSV".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::has_control;

    #[test]
    fn control_characters_are_found_in_ascii_and_in_other_text() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let want = c.is_control() && c != '\t';
            assert_eq!(has_control(&format!("S1{c}")), want, "U+{:04X}", c as u32);
            assert_eq!(has_control(&format!("É{c}")), want, "U+{:04X} beside other text", c as u32);
        }
    }
}
