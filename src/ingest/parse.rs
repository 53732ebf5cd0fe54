//! Reads one interchange CSV file into Arrow batches, checking every value.
//!
//! Problems are collected, not thrown: each names the file's line and the column, and
//! never quotes a value (values are personal data). Rows with a problem are kept out of
//! the batches and returned as rejects, so the caller can refuse the file or quarantine them.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
    UInt64Array, UInt64Builder,
};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::row::{RowConverter, SortField};
use chrono_tz::Tz;
use indicatif::ProgressBar;

use super::kinds::{Check, Column, Kind};
use super::time;
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
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(BufReader::with_capacity(1 << 20, file));
    let name = path.display().to_string();
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| file_error(&name, 1, &format!("cannot read the header row: {}", csv_reason(&e))))?
        .iter()
        .enumerate()
        .map(|(i, h)| if i == 0 { h.trim_start_matches('\u{feff}').to_string() } else { h.to_string() })
        .collect();

    let mut seen = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if let Some(first) = seen.insert(h.as_str(), i) {
            return Err(file_error(
                &name,
                1,
                &format!("column '{h}' appears twice (columns {} and {})", first + 1, i + 1),
            ));
        }
    }
    let mut warnings = Vec::new();
    for h in &header {
        if kind.column(h).is_none() {
            warnings.push(format!("{name}: column '{h}' is not part of kind {}, ignored", kind.name));
        }
    }
    let missing: Vec<&str> =
        kind.columns.iter().filter(|c| c.required && !seen.contains_key(c.name)).map(|c| c.name).collect();
    if !missing.is_empty() {
        return Err(file_error(
            &name,
            1,
            &format!(
                "missing required column{} {}",
                if missing.len() > 1 { "s" } else { "" },
                missing.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", ")
            ),
        ));
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
    let specials: Vec<(usize, &'static str)> = kind
        .columns
        .iter()
        .filter(|c| matches!(c.check, Check::Special))
        .filter_map(|c| seen.get(c.name).map(|&i| (i, c.name)))
        .collect();
    let key_header = seen[kind.key[0]];
    let span = kind.span.map(|(a, b)| {
        let pos = |n: &str| table_cols.iter().position(|(c, _)| *c == n).expect("span columns are table columns");
        (pos(a), pos(b), a, b)
    });

    let schema = staged_schema(kind);
    let mut builders: Vec<Builder> = table_cols.iter().map(|(_, c)| Builder::new(*c)).collect();
    let mut lines = UInt64Builder::new();
    let mut batches = Vec::new();
    let mut rejects = Vec::new();
    let mut special = Vec::new();
    let mut cells = vec![Cell::Null; slots.len()];
    let mut flags = vec![String::new(); slots.len()];
    let mut record = csv::StringRecord::new();
    let mut rows_read = 0u64;
    let mut pending = 0usize;
    let mut row_problems: Vec<(String, String)> = Vec::new();

    loop {
        let line_before = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                rows_read += 1;
                let line = e.position().map(|p| p.line()).unwrap_or(line_before);
                rejects.push(Reject { line, column: String::new(), reason: csv_reason(&e), record: None });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(Error::io(path, std::io::Error::other(csv_reason(&e))));
                }
                continue;
            }
        }
        rows_read += 1;
        let line = record.position().map(|p| p.line()).unwrap_or(line_before);
        if record.len() == 1 && record.get(0) == Some("") {
            rows_read -= 1; // a blank line is not a row
            continue;
        }
        row_problems.clear();
        if record.len() != header.len() {
            row_problems
                .push((String::new(), format!("row has {} fields, the header has {}", record.len(), header.len())));
        } else {
            for (i, slot) in slots.iter().enumerate() {
                cells[i] = match slot {
                    Slot::Input { header: None, column } => column.default.map_or(Cell::Null, Cell::Int),
                    Slot::Input { header: Some(h), column } => {
                        match check_value(&record[*h], *h, column, opts.tz, &mut flags[i]) {
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
            if let Some((a, b, an, bn)) = span
                && cells[a] != Cell::Null
                && cells[b] != Cell::Null
                && cells[b] < cells[a]
            {
                row_problems.push((bn.to_string(), format!("{bn} is before {an}")));
            }
        }
        if !row_problems.is_empty() {
            let raw: Vec<String> = record.iter().map(str::to_string).collect();
            for (column, reason) in row_problems.drain(..) {
                rejects.push(Reject { line, column, reason, record: Some(raw.clone()) });
            }
            continue;
        }
        for (i, slot) in slots.iter().enumerate() {
            match (&mut builders[i], slot) {
                (Builder::Date(b), Slot::Day { source }) => match cells[*source] {
                    Cell::Ts(t) => b.append_value(time::local_day(t, opts.tz)),
                    _ => b.append_null(),
                },
                (Builder::Ts(b), Slot::IngestedAt) => b.append_value(opts.ingested_at),
                (Builder::Text(b), _) => match cells[i] {
                    Cell::Text(h) => b.append_value(&record[h]),
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
        for (h, column) in &specials {
            let value = Some(&record[*h]).filter(|v| !v.is_empty()).map(str::to_string);
            special.push(SpecialValue { line, student_id: record[key_header].to_string(), column, value });
        }
        lines.append_value(line);
        pending += 1;
        if pending == BATCH_ROWS {
            batches.push(finish_batch(&schema, &mut builders, &mut lines)?);
            pending = 0;
            opts.progress.set_position(reader.position().byte());
        }
    }
    if pending > 0 || batches.is_empty() {
        batches.push(finish_batch(&schema, &mut builders, &mut lines)?);
    }
    opts.progress.set_position(reader.position().byte());
    let batch = concat_batches(&schema, &batches)?;
    let mut parsed = Parsed { batch, special, rows_read, rejects, warnings, header };
    drop_duplicate_keys(kind, &mut parsed)?;
    parsed.rejects.sort_by_key(|r| r.line);
    Ok(parsed)
}

fn finish_batch(schema: &SchemaRef, builders: &mut [Builder], lines: &mut UInt64Builder) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
    columns.push(Arc::new(lines.finish()));
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn check_value(
    text: &str,
    index: usize,
    column: &Column,
    tz: Tz,
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
        Check::Text | Check::Special => Ok(Cell::Text(index)),
        Check::Date => time::parse_date(text).map(Cell::Date),
        Check::Timestamp => time::parse_timestamp(text, tz).map(Cell::Ts),
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
            let b = text.as_bytes();
            let ok = b.len() == 7
                && b[4] == b'-'
                && text[..4]
                    .parse::<u32>()
                    .ok()
                    .zip(text[5..].parse::<u32>().ok())
                    .is_some_and(|(y, n)| (y + 1) % 100 == n);
            if ok { Ok(Cell::Text(index)) } else { Err("not an academic year (expected e.g. 2025-26)".into()) }
        }
    }
}

/// Marks every repeat of a key within the file as a reject (the first occurrence stays).
fn drop_duplicate_keys(kind: &Kind, parsed: &mut Parsed) -> Result<()> {
    let batch = &parsed.batch;
    if batch.num_rows() < 2 {
        return Ok(());
    }
    let schema = batch.schema();
    let key_columns: Vec<ArrayRef> =
        kind.key.iter().map(|k| batch.column(schema.index_of(k).expect("key is a table column")).clone()).collect();
    let converter = RowConverter::new(key_columns.iter().map(|c| SortField::new(c.data_type().clone())).collect())?;
    let rows = converter.convert_columns(&key_columns)?;
    let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
    // Stable sort keeps file order among equal keys, so the first occurrence comes first.
    order.sort_by(|&a, &b| rows.row(a as usize).cmp(&rows.row(b as usize)));
    let lines = batch
        .column(schema.index_of(LINE_COLUMN).expect("staged"))
        .as_any()
        .downcast_ref::<UInt64Array>()
        .expect("line column is UInt64");
    let mut keep = vec![true; batch.num_rows()];
    let mut dropped = BTreeSet::new();
    let mut first = order[0] as usize;
    for pair in order.windows(2) {
        let (prev, cur) = (pair[0] as usize, pair[1] as usize);
        if rows.row(prev) == rows.row(cur) {
            keep[cur] = false;
            dropped.insert(lines.value(cur));
            parsed.rejects.push(Reject {
                line: lines.value(cur),
                column: kind.key.join(", "),
                reason: format!("duplicate key ({}) of line {}", kind.key.join(", "), lines.value(first)),
                record: None,
            });
        } else {
            first = cur;
        }
    }
    if !dropped.is_empty() {
        parsed.batch = filter_record_batch(batch, &BooleanArray::from(keep))?;
        parsed.special.retain(|s| !dropped.contains(&s.line));
    }
    Ok(())
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
