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
use super::split::{self, open_range};
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

/// Each batch's builders start at a batch's size: grown from empty, a batch's buffers were
/// copied a dozen times as they doubled (the reallocations were 3.7% of a profile of the
/// year's activity ingest).
impl Builder {
    fn new(col: Col) -> Builder {
        match col {
            Col::Text => Builder::Text(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8)),
            Col::Date => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS)),
            Col::Timestamp => Builder::Ts(TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC")),
            Col::Int => Builder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            Col::Float => unreachable!("no input column is a float"),
        }
    }

    /// The batch's column; the builder starts the next batch at its size (text: as many
    /// bytes as this batch's).
    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => {
                let bytes = b.values_slice().len();
                let done = b.finish();
                *b = StringBuilder::with_capacity(BATCH_ROWS, bytes);
                Arc::new(done)
            }
            Builder::Date(b) => Arc::new(std::mem::replace(b, Date32Builder::with_capacity(BATCH_ROWS)).finish()),
            Builder::Ts(b) => Arc::new(
                std::mem::replace(b, TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"))
                    .finish(),
            ),
            Builder::Int(b) => Arc::new(std::mem::replace(b, Int64Builder::with_capacity(BATCH_ROWS)).finish()),
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
#[cfg(test)]
pub fn parse_file(path: &Path, kind: &Kind, opts: &ParseOptions) -> Result<Parsed> {
    parse_planned(path, &split::plan(path)?, kind, opts)
}

/// Reads and checks one file of `kind` as `plan` (the pass that hashed it) says to.
pub(super) fn parse_planned(path: &Path, plan: &split::Plan, kind: &Kind, opts: &ParseOptions) -> Result<Parsed> {
    let parts = &plan.parts;
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
        crlf: plan.first.crlf,
    };

    // The first part continues after the header; the others start on a line boundary
    // (only files without quotes are split, so no field spans two parts). Each part is
    // read by its own thread, then ranked and sorted by it (`RowOrder::arrange`). A file
    // without quotes is split into lines and fields as bytes (`read_plain`); the first part
    // is, too, when the header is the file's first line.
    let data_start = plan.first.end.filter(|_| plan.plain);
    let chunks: Vec<Result<Chunk>> = std::thread::scope(|scope| {
        let others: Vec<_> = parts[1..]
            .iter()
            .map(|&(start, end, lines_before)| {
                let layout = &layout;
                scope.spawn(move || read_plain(layout, start, end, lines_before))
            })
            .collect();
        let mut chunks = vec![match data_start {
            Some(start) => read_plain(&layout, start.min(parts[0].1), parts[0].1, 1),
            None => read_rows(reader, 0, &layout),
        }];
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
    // Every row of a file has the same `ingested_at`.
    let same: Vec<usize> =
        layout.slots.iter().enumerate().filter(|(_, s)| matches!(s, Slot::IngestedAt)).map(|(i, _)| i).collect();
    let (batch, dropped) = order.arrange(kind, &layout.schema, &batches, &same, &mut rejects)?;
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

/// A row's fields as a reader split them.
trait Fields {
    /// How many fields the row has.
    fn len(&self) -> usize;
    /// Field `index`, as read.
    fn raw(&self, index: usize) -> &str;
    /// Field `index` without leading and trailing whitespace.
    fn field(&self, index: usize) -> &str {
        let text = self.raw(index);
        // Most fields start and end with a printable ASCII character: nothing to trim.
        match text.as_bytes() {
            [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
            [only] if only.is_ascii_graphic() => text,
            _ => text.trim(),
        }
    }
}

impl Fields for csv::StringRecord {
    fn len(&self) -> usize {
        csv::StringRecord::len(self)
    }

    fn raw(&self, index: usize) -> &str {
        &self[index]
    }
}

/// A line without quotes, split at its commas: field `i` ends at `ends[i]`, the next
/// starts one byte after it.
struct Split<'a> {
    text: &'a str,
    ends: &'a [usize],
}

impl Fields for Split<'_> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn raw(&self, index: usize) -> &str {
        let start = if index == 0 { 0 } else { self.ends[index - 1] + 1 };
        &self.text[start..self.ends[index]]
    }
}

/// Why a line that is not UTF-8 is refused.
const NOT_UTF8: &str = "not valid UTF-8 (save the file as UTF-8)";

/// Bytes read at a time by [`read_plain`].
const BLOCK_BYTES: usize = 1 << 20;

/// Reads and checks the rows of bytes `start..end` of a file without quotes, from the file
/// line `lines_before` is the last before. Lines end at LF (a CR before it dropped) and
/// fields at commas, as the CSV reader splits such a file (RFC 4180 with CR, LF or CR LF
/// line ends): blank lines are no row, and a line holding a CR elsewhere is given to the
/// CSV reader, for which that CR ends a record. Each block of lines is checked as UTF-8
/// at once; only when that fails is each line checked, and one that is not refused.
fn read_plain(layout: &Layout, start: u64, end: u64, lines_before: u64) -> Result<Chunk> {
    use std::io::{Read, Seek, SeekFrom};
    let path = layout.path;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(start)).map_err(|e| Error::io(path, e))?;
    let mut rows = RowReader::new(layout);
    let mut line = lines_before;
    let mut left = end - start;
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK_BYTES + (1 << 16));
    let mut ends = Vec::with_capacity(layout.width + 1);
    let mut separators = Vec::new();
    while left > 0 || !block.is_empty() {
        // The block holds the part of a line the last one ended in; more bytes follow it.
        let carried = block.len();
        let wanted = left.min(BLOCK_BYTES as u64) as usize;
        let read = (&mut file).take(wanted as u64).read_to_end(&mut block).map_err(|e| Error::io(path, e))?;
        if read < wanted {
            let shorter = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file became shorter while read");
            return Err(Error::io(path, shorter));
        }
        left -= wanted as u64;
        // Whole lines only, but for the last block (a last line may have no LF).
        let whole = match memchr::memrchr(b'\n', &block[carried..]) {
            _ if left == 0 => block.len(),
            Some(at) => carried + at + 1,
            None => continue,
        };
        let lines = &block[..whole];
        let text = std::str::from_utf8(lines).ok();
        separators.clear();
        find_separators(lines, &mut separators);
        let mut next = separators.iter().map(|&at| at as usize);
        let mut from = 0;
        while from < lines.len() {
            line += 1;
            ends.clear();
            // The line runs to its LF (a CR just before it, or at the end of the file, is
            // no part of it); a CR elsewhere is a line end to the CSV reader.
            let (mut to, mut after, mut lone_cr) = (lines.len(), lines.len(), false);
            while let Some(at) = next.next() {
                match lines[at] {
                    b',' => ends.push(at - from),
                    b'\n' => {
                        (to, after) = (at, at + 1);
                        break;
                    }
                    _ if at + 1 == lines.len() => {
                        (to, after) = (at, at + 1);
                        break;
                    }
                    _ if lines[at + 1] == b'\n' => {
                        next.next();
                        (to, after) = (at, at + 2);
                        break;
                    }
                    _ => lone_cr = true,
                }
            }
            let bytes = &lines[from..to];
            let start = std::mem::replace(&mut from, after);
            if bytes.is_empty() {
                continue; // a blank line is no row
            }
            if lone_cr {
                rows.take_csv(csv_reader(bytes, false), line)?;
                continue;
            }
            let text = match text.map(|t| &t[start..to]).map_or_else(|| std::str::from_utf8(bytes), Ok) {
                Ok(text) => text,
                Err(_) => {
                    rows.unreadable(line, NOT_UTF8.into());
                    continue;
                }
            };
            ends.push(bytes.len());
            rows.take(line, &Split { text, ends: &ends })?;
        }
        layout.opts.progress.inc(whole as u64);
        block.drain(..whole);
    }
    rows.finish()
}

/// Appends the offset of every comma, CR and LF in `bytes` to `found`, in order: eight
/// bytes at a time, the bytes of a word equal to each found without a branch (a call to
/// search for each comma took longer than the rest of reading a row).
fn find_separators(bytes: &[u8], found: &mut Vec<u32>) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The high bit of each byte of `word` that is `byte`: a byte of `x` is 0 exactly when
    // neither its low seven bits (plus 0x7f) nor its high bit set the high bit.
    let each = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        !(((x & LOW7) + LOW7) | x | LOW7)
    };
    let mut words = bytes.chunks_exact(8);
    let mut base = 0u32;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("chunks of eight bytes"));
        let mut hits = each(word, b',') | each(word, b'\n') | each(word, b'\r');
        while hits != 0 {
            found.push(base + hits.trailing_zeros() / 8);
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, byte) in words.remainder().iter().enumerate() {
        if matches!(byte, b',' | b'\n' | b'\r') {
            found.push(base + i as u32);
        }
    }
}

/// Reads and checks the rows of one part through the CSV reader (files with quotes);
/// `lines_before` is the file line the part's first line follows.
fn read_rows<R: std::io::Read>(mut reader: csv::Reader<R>, lines_before: u64, layout: &Layout) -> Result<Chunk> {
    let mut rows = RowReader::new(layout);
    // In a CR LF file every record but the first of a later part (which starts just after
    // an LF) is counted one line short by the reader.
    let mut first_record = true;
    let mut line_of = |reported: u64| {
        let short = layout.crlf && !(first_record && lines_before > 0);
        first_record = false;
        lines_before + reported + u64::from(short)
    };
    let mut record = csv::StringRecord::new();
    let mut reported = reader.position().byte();
    loop {
        let line_before = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = line_of(record.position().map(|p| p.line()).unwrap_or(line_before));
                if rows.take(line, &record)? {
                    let at = reader.position().byte();
                    layout.opts.progress.inc(at - reported);
                    reported = at;
                }
            }
            Err(e) => {
                let line = line_of(e.position().map(|p| p.line()).unwrap_or(line_before));
                rows.unreadable(line, csv_reason(&e));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(Error::io(layout.path, std::io::Error::other(csv_reason(&e))));
                }
            }
        }
    }
    layout.opts.progress.inc(reader.position().byte() - reported);
    rows.finish()
}

/// One part's rows as they are checked: the table's columns being built, and the rows refused.
struct RowReader<'a> {
    layout: &'a Layout<'a>,
    builders: Vec<Builder>,
    lines: UInt64Builder,
    chunk: Chunk,
    cells: Vec<Cell>,
    flags: Vec<String>,
    clock: time::LocalClock,
    pending: usize,
    row_problems: Vec<(String, String)>,
}

impl<'a> RowReader<'a> {
    fn new(layout: &'a Layout<'a>) -> RowReader<'a> {
        RowReader {
            layout,
            builders: layout.kind.table.columns.iter().map(|(_, c)| Builder::new(*c)).collect(),
            lines: UInt64Builder::with_capacity(BATCH_ROWS),
            chunk: Chunk { batches: Vec::new(), special: Vec::new(), rejects: Vec::new(), rows_read: 0 },
            cells: vec![Cell::Null; layout.slots.len()],
            flags: vec![String::new(); layout.slots.len()],
            clock: time::LocalClock::new(layout.opts.tz),
            pending: 0,
            row_problems: Vec::new(),
        }
    }

    /// A row that could not be read at all (not UTF-8, say).
    fn unreadable(&mut self, line: u64, reason: String) {
        self.chunk.rows_read += 1;
        self.chunk.rejects.push(Reject { line, column: String::new(), reason, record: None });
    }

    /// Every record the CSV reader finds in one line's bytes.
    fn take_csv(&mut self, mut reader: csv::Reader<&[u8]>, line: u64) -> Result<()> {
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    self.take(line, &record)?;
                }
                Err(e) => self.unreadable(line, csv_reason(&e)),
            }
        }
    }

    /// Checks the record read at `line` and adds it to the rows, or refuses it, naming
    /// why; returns whether a batch of rows was finished.
    fn take(&mut self, line: u64, record: &impl Fields) -> Result<bool> {
        let Layout { slots, specials, key_header, span, width, schema, opts, .. } = self.layout;
        let Self { builders, lines, chunk, cells, flags, clock, row_problems, .. } = self;
        if record.len() == 1 && record.field(0).is_empty() {
            return Ok(false); // a blank line is not a row
        }
        chunk.rows_read += 1;
        row_problems.clear();
        if record.len() != *width {
            row_problems.push((String::new(), format!("row has {} fields, the header has {width}", record.len())));
        } else {
            for (i, slot) in slots.iter().enumerate() {
                cells[i] = match slot {
                    Slot::Input { header: None, column } => column.default.map_or(Cell::Null, Cell::Int),
                    Slot::Input { header: Some(h), column } => {
                        match check_value(record.field(*h), *h, column, clock, &mut flags[i]) {
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
            let raw: Vec<String> = (0..record.len()).map(|i| record.raw(i).trim().to_string()).collect();
            for (column, reason) in row_problems.drain(..) {
                chunk.rejects.push(Reject { line, column, reason, record: Some(raw.clone()) });
            }
            return Ok(false);
        }
        for (i, slot) in slots.iter().enumerate() {
            match (&mut builders[i], slot) {
                (Builder::Date(b), Slot::Day { source }) => match cells[*source] {
                    Cell::Ts(t) => b.append_value(clock.local_day(t)),
                    _ => b.append_null(),
                },
                (Builder::Ts(b), Slot::IngestedAt) => b.append_value(opts.ingested_at),
                (Builder::Text(b), _) => match cells[i] {
                    Cell::Text(h) => b.append_value(record.field(h)),
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
            let value = Some(record.field(*h)).filter(|v| !v.is_empty()).map(str::to_string);
            chunk.special.push(SpecialValue { line, student_id: record.field(*key_header).to_string(), column, value });
        }
        lines.append_value(line);
        self.pending += 1;
        if self.pending == BATCH_ROWS {
            chunk.batches.push(finish_batch(schema, builders, lines)?);
            self.pending = 0;
            return Ok(true);
        }
        Ok(false)
    }

    /// The part's rows, refused rows and special-category values.
    fn finish(mut self) -> Result<Chunk> {
        if self.pending > 0 || self.chunk.batches.is_empty() {
            self.chunk.batches.push(finish_batch(&self.layout.schema, &mut self.builders, &mut self.lines)?);
        }
        Ok(self.chunk)
    }
}

fn finish_batch(schema: &SchemaRef, builders: &mut [Builder], lines: &mut UInt64Builder) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
    columns.push(Arc::new(std::mem::replace(lines, UInt64Builder::with_capacity(BATCH_ROWS)).finish()));
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
    use super::*;

    /// Reads `data` (the rows after the header) as an activity file, with the header's
    /// first name quoted or not: a file holding a quote is read by the CSV reader, one
    /// without by `read_plain`.
    fn read(data: &[u8], quoted: bool, crlf: bool) -> Parsed {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("activity.csv");
        let name = if quoted { "\"student_id\"" } else { "student_id" };
        let mut contents = format!("{name},occurred_at,source,count{}", if crlf { "\r\n" } else { "\n" }).into_bytes();
        contents.extend_from_slice(data);
        std::fs::write(&path, contents).unwrap();
        let kind = crate::ingest::kinds::by_name("activity").unwrap();
        let progress = ProgressBar::hidden();
        let opts = ParseOptions { tz: chrono_tz::Europe::London, ingested_at: 0, progress: &progress };
        parse_file(&path, &kind, &opts).unwrap()
    }

    /// A problem's line, column, reason and the row's fields.
    type Problem = (u64, String, String, Option<Vec<String>>);

    /// What reading gave, in a form to compare: rows read, the rows (with their lines) and
    /// each problem's line, column and reason.
    fn outcome(parsed: &Parsed) -> (u64, RecordBatch, Vec<Problem>) {
        let rejects = parsed.rejects.iter().map(|r| (r.line, r.column.clone(), r.reason.clone(), r.record.clone()));
        (parsed.rows_read, parsed.batch.clone(), rejects.collect())
    }

    #[test]
    fn a_file_without_quotes_is_read_as_the_csv_reader_reads_it() {
        let row =
            |i: usize| format!("S{:07},2025-10-{:02}T{:02}:{:02}:00,vle,{}", i % 97, 1 + i % 28, i % 24, i % 60, i % 5);
        // Blocks of lines cut mid-line (more than a block's bytes), padded and non-ASCII
        // fields, blank and whitespace lines, a row of the wrong width, a bad value, a
        // line that is not UTF-8, a last line without its line end.
        let mut rows: Vec<Vec<u8>> = (0..40_000).map(|i| row(i).into_bytes()).collect();
        rows[3] = b"  S0000001 , 2025-10-02T10:00:00 ,vle, 3 ".to_vec();
        rows[10] = Vec::new();
        rows[11] = b"   ".to_vec();
        rows[20] = "S\u{e9}0000001,2025-10-02T10:00:00,vle,3".as_bytes().to_vec();
        rows[30] = b"S0000001,2025-10-02T10:00:00,vle".to_vec();
        rows[31] = b"S0000001,2025-10-02T10:00:00,telepathy,1".to_vec();
        rows[40] = b"S0000001,2025-10-02T10:00:00,vle,\xff".to_vec();
        rows[50] = b"S0000001, yesterday ,telepathy,-1".to_vec(); // three problems, in column order
        rows[51] = b"S0000001,2025-10-02T10:00:00,library, ".to_vec(); // an empty count: the default
        rows[25_000] = b"S0000002,2025-10-03T10:00:00,vle,1,".to_vec();
        for crlf in [false, true] {
            let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            for last in [&end[..0], end, b"\r", b"\n\n"] {
                let mut data = rows.join(end);
                data.extend_from_slice(last);
                let (plain, csv) = (read(&data, false, crlf), read(&data, true, crlf));
                assert_eq!(outcome(&plain), outcome(&csv), "CR LF {crlf}, ending {last:?}");
                assert_eq!(plain.batch.num_rows(), 40_000 - 7, "CR LF {crlf}, ending {last:?}");
                let lines: Vec<(u64, &str)> = plain.rejects.iter().map(|r| (r.line, r.column.as_str())).collect();
                let want = [(32, ""), (33, "source"), (42, ""), (52, "occurred_at"), (52, "source"), (52, "count")];
                assert_eq!(lines, [&want[..], &[(25_002, "")]].concat(), "CR LF {crlf}, ending {last:?}");
            }
        }
    }

    #[test]
    fn a_cr_inside_a_line_ends_a_record_as_it_does_for_the_csv_reader() {
        let data =
            b"S0000001,2025-10-02T10:00:00,vle,1\nS0000002,2025-10-02T10:00:00\rS0000003,2025-10-02T11:00:00,vle,2\n";
        let plain = read(data, false, false);
        assert_eq!(plain.rows_read, 3);
        assert_eq!(plain.batch.num_rows(), 2);
        let rejects: Vec<(u64, &str)> = plain.rejects.iter().map(|r| (r.line, r.reason.as_str())).collect();
        assert_eq!(rejects, [(3, "row has 2 fields, the header has 4")]);
        assert_eq!(outcome(&plain).1, outcome(&read(data, true, false)).1);
    }

    #[test]
    fn separators_are_found_at_every_offset_of_a_word() {
        let bytes: Vec<u8> =
            (0..200u32).map(|i| [b'a', b',', b'\r', b'\n', 0xff, b'\t'][(i * i % 7 % 6) as usize]).collect();
        let mut found = Vec::new();
        find_separators(&bytes, &mut found);
        let want: Vec<u32> =
            (0..bytes.len() as u32).filter(|&i| matches!(bytes[i as usize], b',' | b'\r' | b'\n')).collect();
        assert_eq!(found, want);
    }

    #[test]
    fn control_characters_are_found_in_ascii_and_in_other_text() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let want = c.is_control() && c != '\t';
            assert_eq!(has_control(&format!("S1{c}")), want, "U+{:04X}", c as u32);
            assert_eq!(has_control(&format!("É{c}")), want, "U+{:04X} beside other text", c as u32);
        }
    }
}
