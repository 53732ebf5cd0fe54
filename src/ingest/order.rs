//! Putting a file's rows in the table's order once they are read, and finding a repeated
//! key beside its first line.
//!
//! Each order column becomes a small unsigned number per row: text its rank among the
//! file's distinct values (byte order), dates, timestamps and integers their distance
//! from the file's least value, a day's calendar month ([`kinds::MONTH`]) its distance
//! from the least month, with 0 for a missing value. The numbers are packed, most
//! significant column first, into 128-bit words; when the row's number in the file fits
//! in the last word's spare bits (a year's activity of a thousand students takes under 80
//! bits of key), a row is one integer and sorting is a plain integer sort. Each reading thread ranks and
//! sorts its own part; the parts are then merged. Rows with equal numbers have equal
//! values, so repeated keys meet in the merge.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int64Array, RecordBatch, StringBuilder, TimestampMicrosecondArray,
    UInt32Array, UInt64Array,
};
use arrow::buffer::NullBuffer;
use arrow::compute::{concat, take};
use arrow::datatypes::{DataType, Date32Type, Int64Type, SchemaRef, TimestampMicrosecondType, UInt64Type};
// The engine's hash map (foldhash): looked up once per row and text column.
use datafusion::common::HashMap;

use super::kinds::{self, Kind};
use super::parse::{LINE_COLUMN, Reject, staged_schema};
use crate::allocator::zeroed_writable;
use crate::engine::threads::on_threads;
use crate::error::{Error, Result};

/// The order a kind's rows are stored in: [`Kind::order`], then the rest of the key (then
/// line, to break ties). With the key leading, rows repeating a key sit side by side.
pub(super) struct RowOrder {
    columns: Vec<usize>,
    /// Whether each of `columns` is ordered by its calendar month (a `day` column named
    /// as [`kinds::MONTH`]) rather than by its value.
    by_month: Vec<bool>,
    line: usize,
    /// Key bits allowed in one packed word with the row's number (tests lower it to try
    /// the wide layout).
    packed_bits: u32,
}

/// One order column's values in one part, before the parts are compared: text as ids
/// into the part's distinct values (first met first; 0 for none), the rest as the part's
/// least and greatest value.
enum Local<'a> {
    Text { ids: Vec<u32>, distinct: Vec<&'a str> },
    Number { least: Option<i64>, greatest: Option<i64> },
}

/// How one order column becomes its number and back: its bits in the words, and what
/// the numbers stand for.
struct Place<'a> {
    word: usize,
    shift: u32,
    width: u32,
    values: Values<'a>,
}

/// What an order column's numbers stand for (0 is a missing value).
enum Values<'a> {
    /// Every part's distinct values in byte order (number n is `all[n - 1]`), and each
    /// part's ids as these numbers.
    Text { all: Vec<&'a str>, ranks: Vec<Vec<u32>> },
    /// Number n is `least + n - 1`.
    Number { least: i64 },
    /// Number n is the month `least + n - 1` (counted as in [`month_of`]) of the day.
    Month { least: i64 },
}

/// One part's rows in order. Packed: one word a row, the row's number (counted across
/// every part) in the low `row_bits`. Wide: `words` words a row, and the rows' order.
enum Sorted {
    Packed { keys: Vec<u128>, row_bits: u32 },
    Wide { words: usize, keys: Vec<u128>, order: Vec<u32>, base: usize },
}

impl Sorted {
    fn len(&self) -> usize {
        match self {
            Sorted::Packed { keys, .. } => keys.len(),
            Sorted::Wide { order, .. } => order.len(),
        }
    }

    /// The row (counted across every part) at position `k` of this part's order.
    fn row(&self, k: usize) -> usize {
        match self {
            Sorted::Packed { keys, row_bits } => (keys[k] & ((1u128 << row_bits) - 1)) as usize,
            Sorted::Wide { order, base, .. } => base + order[k] as usize,
        }
    }

    /// Orders position `a` of this part against position `b` of `other` (wide keys; packed
    /// keys are merged as words, see [`merged`]): key, then row.
    fn compare(&self, a: usize, other: &Sorted, b: usize) -> std::cmp::Ordering {
        self.key(a).cmp(other.key(b)).then(self.row(a).cmp(&other.row(b)))
    }

    /// Whether position `a` of this part has the same (wide) key as position `b` of `other`.
    fn same_key(&self, a: usize, other: &Sorted, b: usize) -> bool {
        self.key(a) == other.key(b)
    }

    /// The wide key at position `k`.
    fn key(&self, k: usize) -> &[u128] {
        match self {
            Sorted::Packed { .. } => unreachable!("packed keys are merged as words"),
            Sorted::Wide { words, keys, order, .. } => {
                let at = order[k] as usize * words;
                &keys[at..at + words]
            }
        }
    }
}

/// Each part's keys and the row bits, when every part is packed.
fn packed_lists(sorted: &[Sorted]) -> Option<(Vec<&[u128]>, u32)> {
    let mut bits = None;
    let lists = sorted
        .iter()
        .map(|part| match part {
            Sorted::Packed { keys, row_bits } => {
                bits = Some(*row_bits);
                Some(keys.as_slice())
            }
            Sorted::Wide { .. } => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((lists, bits?))
}

/// The keys of sorted lists, in order (lists are few: one per reading thread).
fn merged<'a>(lists: &'a [&'a [u128]]) -> impl Iterator<Item = u128> + 'a {
    let mut next = vec![0usize; lists.len()];
    std::iter::from_fn(move || {
        let mut pick: Option<(usize, u128)> = None;
        for (p, list) in lists.iter().enumerate() {
            if let Some(&key) = list.get(next[p])
                && pick.is_none_or(|(_, best)| key < best)
            {
                pick = Some((p, key));
            }
        }
        let (p, key) = pick?;
        next[p] += 1;
        Some(key)
    })
}

/// Bits to write any of `n` values (0 for one value).
fn bits_for(n: u128) -> u32 {
    if n <= 1 { 0 } else { 128 - (n - 1).leading_zeros() }
}

impl RowOrder {
    pub(super) fn new(kind: &Kind, schema: &SchemaRef) -> Result<RowOrder> {
        let names: Vec<&str> =
            kind.order.iter().chain(kind.key.iter().filter(|k| !kind.order.contains(k))).copied().collect();
        let by_month: Vec<bool> = names.iter().map(|&name| name == kinds::MONTH).collect();
        let columns: Vec<usize> = names
            .iter()
            .map(|&name| if name == kinds::MONTH { "day" } else { name })
            .map(|name| schema.index_of(name).expect("order and key columns are table columns"))
            .collect();
        for (&c, _) in columns.iter().zip(&by_month).filter(|(_, m)| **m) {
            if schema.field(c).data_type() != &DataType::Date32 {
                return Err(Error::Internal(format!("{} is ordered by month without a day column", kind.name)));
            }
        }
        for &i in &columns {
            let field = schema.field(i);
            if !matches!(
                field.data_type(),
                DataType::Utf8 | DataType::Date32 | DataType::Int64 | DataType::Timestamp(..)
            ) {
                return Err(Error::Internal(format!("no row order for column {} of {}", field.name(), kind.name)));
            }
        }
        let line = schema.index_of(LINE_COLUMN).expect("staged");
        Ok(RowOrder { columns, by_month, line, packed_bits: 128 })
    }

    /// Puts the parts' rows (each part's batches in line order, the parts in file order)
    /// in the table's order as one batch, refusing every repeat of a key after its first
    /// line. Each part is ranked and sorted on its own thread. Columns `same` hold one
    /// value on every row. Returns the lines refused.
    pub(super) fn arrange(
        &self,
        kind: &Kind,
        schema: &SchemaRef,
        parts: &[Vec<RecordBatch>],
        same: &[usize],
        rejects: &mut Vec<Reject>,
    ) -> Result<(RecordBatch, BTreeSet<u64>)> {
        let lengths: Vec<usize> = parts.iter().map(|p| p.iter().map(RecordBatch::num_rows).sum()).collect();
        let total: usize = lengths.iter().sum();
        if total == 0 {
            return Ok((RecordBatch::new_empty(schema.clone()), BTreeSet::new()));
        }
        if u32::try_from(total).is_err() {
            return Err(Error::Usage(format!("a {} file has more than {} rows: split it", kind.name, u32::MAX)));
        }
        let locals: Vec<Vec<Local>> =
            on_threads(parts, |batches| self.local(batches)).into_iter().collect::<Result<_>>()?;
        let (places, words, key_bits) = self.places(&locals);
        let row_bits = bits_for(total as u128);
        let packed = words == 1 && key_bits <= self.packed_bits.saturating_sub(row_bits);
        let bases: Vec<usize> = lengths.iter().scan(0, |at, n| Some(std::mem::replace(at, *at + n))).collect();
        let indexed: Vec<(usize, &Vec<RecordBatch>)> = parts.iter().enumerate().collect();
        let sorted: Vec<Sorted> = on_threads(&indexed, |&(p, batches)| {
            self.sort(batches, &locals[p], p, bases[p], &places, words, packed.then_some(row_bits))
        });
        drop(locals);

        let batches: Vec<&RecordBatch> = parts.iter().flatten().collect();
        let starts: Vec<usize> =
            batches.iter().scan(0, |at, b| Some(std::mem::replace(at, *at + b.num_rows()))).collect();
        let line_of = |row: usize| {
            let b = starts.partition_point(|&s| s <= row) - 1;
            let lines = batches[b].column(self.line).as_primitive::<UInt64Type>();
            lines.value(row - starts[b])
        };
        // The kept rows' key words (`words` a row), and their rows counted across `batches`.
        let mut kept_words = Vec::with_capacity(total * words);
        let mut kept = Vec::with_capacity(total);
        let mut dropped = BTreeSet::new();
        let mut refuse = |line: u64, first_line: u64| {
            dropped.insert(line);
            rejects.push(Reject {
                line,
                column: kind.key.join(", "),
                reason: format!("duplicate key ({}) of line {first_line}", kind.key.join(", ")),
                record: None,
            });
        };
        if let Some((lists, row_bits)) = packed_lists(&sorted) {
            // One word a row, the row in its low bits: the words alone are merged, and a
            // repeated key comes right after its first row.
            let row_of = |key: u128| (key & ((1u128 << row_bits) - 1)) as usize;
            let mut first: Option<u128> = None;
            for key in merged(&lists) {
                match first {
                    Some(f) if f >> row_bits == key >> row_bits => refuse(line_of(row_of(key)), line_of(row_of(f))),
                    _ => {
                        first = Some(key);
                        kept_words.push(key);
                        kept.push(row_of(key) as u32);
                    }
                }
            }
        } else {
            // Wide keys: the part whose next row comes first (parts are few: one per reading thread).
            let mut next = vec![0usize; sorted.len()];
            let mut first: Option<(usize, usize)> = None;
            loop {
                let mut pick: Option<(usize, usize)> = None;
                for (p, part) in sorted.iter().enumerate() {
                    if next[p] < part.len() && pick.is_none_or(|(q, k)| part.compare(next[p], &sorted[q], k).is_lt()) {
                        pick = Some((p, next[p]));
                    }
                }
                let Some((p, k)) = pick else { break };
                next[p] += 1;
                let row = sorted[p].row(k);
                match first {
                    Some((q, f)) if sorted[q].same_key(f, &sorted[p], k) => {
                        refuse(line_of(row), line_of(sorted[q].row(f)));
                    }
                    _ => {
                        first = Some((p, k));
                        kept_words.extend_from_slice(sorted[p].key(k));
                        kept.push(row as u32);
                    }
                }
            }
        }
        drop(sorted);
        // The order columns come back from the keys, in order (a month is not its day: the
        // day is gathered); a column of one value is that value repeated; the others are
        // gathered from the parts' rows laid end to end.
        let kept = UInt32Array::from(kept);
        let columns = (0..schema.fields().len())
            .map(|c| match self.columns.iter().zip(&self.by_month).position(|(&o, &month)| o == c && !month) {
                Some(o) => Ok(rebuilt(&places[o], schema.field(c).data_type(), &kept_words, words)),
                None if same.contains(&c) => {
                    Ok(take(&batches[0].column(c).slice(0, 1), &UInt32Array::from(vec![0; kept.len()]), None)?)
                }
                None => {
                    let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
                    Ok(take(&concat(&arrays)?, &kept, None)?)
                }
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        Ok((RecordBatch::try_new(schema.clone(), columns)?, dropped))
    }

    /// One part's order columns: text as ids into the part's distinct values, numbers' range.
    fn local<'a>(&self, batches: &'a [RecordBatch]) -> Result<Vec<Local<'a>>> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        Ok(self
            .columns
            .iter()
            .map(|&c| match batches.first().map(|b| b.column(c).data_type()) {
                Some(DataType::Utf8) => {
                    let mut ids = Vec::with_capacity(rows);
                    let mut distinct = Vec::new();
                    let mut seen: HashMap<&'a str, u32> = HashMap::default();
                    // Files usually run one student's rows after another's: a value like
                    // the row's before is not looked up.
                    let mut last: Option<(&'a str, u32)> = None;
                    for batch in batches {
                        let text = batch.column(c).as_string::<i32>();
                        for value in text.iter() {
                            ids.push(match (value, last) {
                                (None, _) => 0,
                                (Some(v), Some((before, id))) if v == before => id,
                                (Some(v), _) => {
                                    let id = *seen.entry(v).or_insert_with(|| {
                                        distinct.push(v);
                                        distinct.len() as u32
                                    });
                                    last = Some((v, id));
                                    id
                                }
                            });
                        }
                    }
                    Local::Text { ids, distinct }
                }
                _ => {
                    let (mut least, mut greatest) = (None::<i64>, None::<i64>);
                    for batch in batches {
                        let (lo, hi) = number_range(batch.column(c));
                        least = least.into_iter().chain(lo).min();
                        greatest = greatest.into_iter().chain(hi).max();
                    }
                    Local::Number { least, greatest }
                }
            })
            .collect())
    }

    /// Where each column goes in the packed words, from every part's values; returns the
    /// places, the words a row takes and the bits the key takes in the last word.
    fn places<'a>(&self, locals: &[Vec<Local<'a>>]) -> (Vec<Place<'a>>, usize, u32) {
        let mut places = Vec::with_capacity(self.columns.len());
        let (mut word, mut used) = (0usize, 0u32);
        for c in 0..self.columns.len() {
            let (count, values) = match &locals[0][c] {
                Local::Text { .. } => {
                    let mut all: Vec<&'a str> = locals
                        .iter()
                        .flat_map(|part| match &part[c] {
                            Local::Text { distinct, .. } => distinct.iter().copied(),
                            Local::Number { .. } => unreachable!("parts share one schema"),
                        })
                        .collect();
                    all.sort_unstable();
                    all.dedup();
                    // Rank 0 is a missing value; a value's rank is its place in byte order, plus 1.
                    let ranks = locals
                        .iter()
                        .map(|part| match &part[c] {
                            Local::Text { distinct, .. } => std::iter::once(0)
                                .chain(
                                    distinct
                                        .iter()
                                        .map(|v| all.binary_search(v).expect("every value is in all") as u32 + 1),
                                )
                                .collect(),
                            Local::Number { .. } => unreachable!("parts share one schema"),
                        })
                        .collect();
                    (all.len() as u128 + 1, Values::Text { all, ranks })
                }
                Local::Number { .. } => {
                    let (mut least, mut greatest) = (None::<i64>, None::<i64>);
                    for part in locals {
                        if let Local::Number { least: lo, greatest: hi } = part[c] {
                            least = least.into_iter().chain(lo).min();
                            greatest = greatest.into_iter().chain(hi).max();
                        }
                    }
                    let (least, greatest) = if self.by_month[c] {
                        (least.map(month_of), greatest.map(month_of))
                    } else {
                        (least, greatest)
                    };
                    let least = least.unwrap_or(0);
                    let span = greatest.map_or(0, |g| (g as i128 - least as i128) as u128 + 1);
                    (span + 1, if self.by_month[c] { Values::Month { least } } else { Values::Number { least } })
                }
            };
            let width = bits_for(count);
            if used + width > 128 {
                word += 1;
                used = 0;
            }
            used += width;
            places.push(Place { word, shift: 128 - used, width, values });
        }
        (places, word + 1, used)
    }

    /// Part `p`'s rows (the first counted `base` across every part) as keys, sorted.
    #[allow(clippy::too_many_arguments)]
    fn sort(
        &self,
        batches: &[RecordBatch],
        local: &[Local],
        p: usize,
        base: usize,
        places: &[Place],
        words: usize,
        row_bits: Option<u32>,
    ) -> Sorted {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        // Each column's number is or-ed into its word: mapped writable first, or the
        // first column's pass would fault every page twice (see `zeroed_writable`).
        let mut keys: Vec<u128> = zeroed_writable(rows * words);
        for ((&c, place), local) in self.columns.iter().zip(places).zip(local) {
            let mut at = place.word;
            match (local, &place.values) {
                (Local::Text { ids, .. }, Values::Text { ranks, .. }) => {
                    let ranks = &ranks[p];
                    for &id in ids {
                        keys[at] |= (ranks[id as usize] as u128) << place.shift;
                        at += words;
                    }
                }
                (_, Values::Number { least }) => {
                    for batch in batches {
                        each_number(batch.column(c), |value| {
                            let v = value.map_or(0, |v| (v as i128 - *least as i128) as u128 + 1);
                            keys[at] |= v << place.shift;
                            at += words;
                        });
                    }
                }
                (_, Values::Month { least }) => {
                    for batch in batches {
                        each_number(batch.column(c), |value| {
                            let v = value.map_or(0, |v| (month_of(v) - least) as u128 + 1);
                            keys[at] |= v << place.shift;
                            at += words;
                        });
                    }
                }
                (Local::Number { .. }, Values::Text { .. }) => unreachable!("parts share one schema"),
            }
        }
        match row_bits {
            Some(row_bits) => {
                for (i, key) in keys.iter_mut().enumerate() {
                    *key |= (base + i) as u128;
                }
                let lead = &places[0];
                let keys = sort_packed(keys, (lead.width <= LEAD_BITS).then_some((lead.shift, lead.width)));
                Sorted::Packed { keys, row_bits }
            }
            None => {
                let mut order: Vec<u32> = (0..rows as u32).collect();
                order.sort_unstable_by(|&a, &b| {
                    let (a, b) = (a as usize * words, b as usize * words);
                    keys[a..a + words].cmp(&keys[b..b + words]).then(a.cmp(&b))
                });
                Sorted::Wide { words, keys, order, base }
            }
        }
    }
}

/// The widest leading column (in bits) whose values bucket packed keys before they are
/// sorted: a month, or a file's students.
const LEAD_BITS: u32 = 16;

/// Packed keys (each unique: the row is in its low bits) in order. Files come one
/// student's rows after another's, each day's rows in time order but for a few (a day's
/// other sources after its VLE rows): bucketed by the leading column (`lead`: its shift
/// and width, a month or a student), such rows are nearly in order, and each bucket is
/// put in order by moving the few out of place (a full sort compares every key about 20
/// times). A bucket moving more than a few places a key is sorted in full.
fn sort_packed(keys: Vec<u128>, lead: Option<(u32, u32)>) -> Vec<u128> {
    let Some((shift, width)) = lead.filter(|_| keys.len() > 1) else {
        let mut keys = keys;
        sort_nearly_ordered(&mut keys);
        return keys;
    };
    let mask = (1u128 << width) - 1;
    let bucket = |key: u128| ((key >> shift) & mask) as usize;
    let mut starts = vec![0usize; (1 << width) + 1];
    for &key in &keys {
        starts[bucket(key) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut sorted = vec![0u128; keys.len()];
    let mut at = starts.clone();
    for &key in &keys {
        let b = bucket(key);
        sorted[at[b]] = key;
        at[b] += 1;
    }
    drop(keys);
    for run in starts.windows(2) {
        sort_nearly_ordered(&mut sorted[run[0]..run[1]]);
    }
    sorted
}

/// Insertion sort while it moves keys at most 8 places each on average, then a full sort.
fn sort_nearly_ordered(keys: &mut [u128]) {
    let budget = keys.len().saturating_mul(8);
    let mut moved = 0usize;
    for i in 1..keys.len() {
        let key = keys[i];
        let mut j = i;
        while j > 0 && keys[j - 1] > key {
            keys[j] = keys[j - 1];
            j -= 1;
        }
        keys[j] = key;
        moved += i - j;
        if moved > budget {
            keys.sort_unstable();
            return;
        }
    }
}

/// An order column of the kept rows, from their key words (`words` a row).
fn rebuilt(place: &Place, data_type: &DataType, kept_words: &[u128], words: usize) -> ArrayRef {
    let rows = kept_words.len() / words;
    let mask = (1u128 << place.width) - 1;
    let numbers = kept_words.iter().skip(place.word).step_by(words).map(|word| (word >> place.shift) & mask);
    match &place.values {
        Values::Text { all, .. } => {
            // Room for the distinct values' mean length a row (the ids of a year's students
            // are all as long): the builder grows if more is needed.
            let mean = all.iter().map(|v| v.len()).sum::<usize>().div_ceil(all.len().max(1));
            let mut text = StringBuilder::with_capacity(rows, rows * mean);
            for n in numbers {
                match n {
                    0 => text.append_null(),
                    n => text.append_value(all[n as usize - 1]),
                }
            }
            Arc::new(text.finish())
        }
        Values::Month { .. } => unreachable!("a month is not rebuilt: its day is gathered"),
        Values::Number { least } => {
            // Most order columns have no missing value: then no validity is built.
            let nulls = numbers.clone().any(|n| n == 0).then(|| NullBuffer::from_iter(numbers.clone().map(|n| n > 0)));
            let value = |n: u128| (*least as i128 + n as i128 - 1) as i64;
            match data_type {
                DataType::Date32 => Arc::new(Date32Array::new(numbers.map(|n| value(n) as i32).collect(), nulls)),
                DataType::Int64 => Arc::new(Int64Array::new(numbers.map(value).collect(), nulls)),
                DataType::Timestamp(_, zone) => Arc::new(
                    TimestampMicrosecondArray::new(numbers.map(value).collect(), nulls).with_timezone_opt(zone.clone()),
                ),
                other => unreachable!("RowOrder::new refuses {other}"),
            }
        }
    }
}

/// The calendar month of a day (days since 1970-01-01) as months since March of year 0:
/// increasing with the day, and the same for every day of a month. The civil-from-days
/// arithmetic of Howard Hinnant's `chrono`-compatible algorithms, without the day.
fn month_of(days: i64) -> i64 {
    // Days since 0000-03-01; eras of 400 years (146,097 days) begin on March 1st.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    // Months counted from March (0) to February (11).
    let mp = (5 * doy + 2) / 153;
    (era * 400 + yoe) * 12 + mp
}

/// The least and greatest value of a date, timestamp or integer column.
fn number_range(column: &ArrayRef) -> (Option<i64>, Option<i64>) {
    let (mut lo, mut hi) = (None::<i64>, None::<i64>);
    each_number(column, |v| {
        if let Some(v) = v {
            lo = Some(lo.map_or(v, |l| l.min(v)));
            hi = Some(hi.map_or(v, |h| h.max(v)));
        }
    });
    (lo, hi)
}

/// Calls `f` with each value of a date, timestamp or integer column, in row order.
fn each_number(column: &ArrayRef, mut f: impl FnMut(Option<i64>)) {
    match column.data_type() {
        DataType::Date32 => column.as_primitive::<Date32Type>().iter().for_each(|v| f(v.map(i64::from))),
        DataType::Int64 => column.as_primitive::<Int64Type>().iter().for_each(&mut f),
        DataType::Timestamp(..) => column.as_primitive::<TimestampMicrosecondType>().iter().for_each(&mut f),
        other => unreachable!("RowOrder::new refuses {other}"),
    }
}

/// Rows built by an adapter (in the table's layout, keys unique) as staged rows: numbered
/// as lines in their given order, then put in the table's order.
pub fn staged_from(kind: &Kind, rows: RecordBatch) -> Result<RecordBatch> {
    let schema = staged_schema(kind);
    let mut columns = rows.columns().to_vec();
    columns.push(Arc::new(UInt64Array::from_iter_values(1..=rows.num_rows() as u64)));
    let batches = vec![RecordBatch::try_new(schema.clone(), columns)?];
    let mut rejects = Vec::new();
    let (staged, _) = RowOrder::new(kind, &schema)?.arrange(kind, &schema, &[batches], &[], &mut rejects)?;
    if !rejects.is_empty() {
        return Err(Error::Internal(format!("{} rows built for {} repeat a key", rejects.len(), kind.name)));
    }
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use arrow::array::StringArray;
    use arrow::compute::{SortColumn, lexsort_to_indices, take_record_batch};
    use arrow::util::display::array_value_to_string;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::ingest::kinds;

    /// Random staged rows of `kind`, few distinct values a column so keys repeat; text
    /// values that sort differently by bytes and by character, and missing values where
    /// the layout allows them.
    fn rows(kind: &Kind, n: usize, seed: u64) -> RecordBatch {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let schema = staged_schema(kind);
        let texts = ["S10", "S1", "S100", "S2", "s1", "Z", "É", "S1 ", "vle", "library"];
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                let missing = |rng: &mut rand_chacha::ChaCha8Rng| f.is_nullable() && rng.random_range(0..10) == 0;
                match f.data_type() {
                    DataType::Utf8 => Arc::new(StringArray::from_iter(
                        (0..n).map(|_| (!missing(&mut rng)).then(|| texts[rng.random_range(0..texts.len())])),
                    )),
                    DataType::Date32 => Arc::new(Date32Array::from_iter(
                        (0..n).map(|_| (!missing(&mut rng)).then(|| 20_000 + rng.random_range(-3..4))),
                    )),
                    DataType::Int64 => Arc::new(Int64Array::from_iter(
                        (0..n).map(|_| (!missing(&mut rng)).then(|| rng.random_range(-2..3))),
                    )),
                    DataType::Timestamp(_, zone) => Arc::new(
                        TimestampMicrosecondArray::from_iter((0..n).map(|_| {
                            // Microseconds apart and days apart (30 September to 2 October
                            // 2025, across a month's end), so both ends of the range are used.
                            let day = rng.random_range(0..3) * 86_400_000_000;
                            (!missing(&mut rng)).then(|| 1_759_190_400_000_000 + day + rng.random_range(0..4))
                        }))
                        .with_timezone_opt(zone.clone()),
                    ),
                    DataType::UInt64 => Arc::new(UInt64Array::from_iter_values(1..=n as u64)),
                    other => panic!("no generator for {other}"),
                }
            })
            .collect();
        let mut batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        // As when a file is read: the day is the (here UTC) day of its timestamp.
        if let Some(of) = kind.day_of {
            let at = batch.column_by_name(of).unwrap().as_primitive::<TimestampMicrosecondType>().clone();
            let day: Date32Array = at.iter().map(|t| t.map(|t| t.div_euclid(86_400_000_000) as i32)).collect();
            let mut columns = batch.columns().to_vec();
            columns[schema.index_of("day").unwrap()] = Arc::new(day);
            batch = RecordBatch::try_new(schema, columns).unwrap();
        }
        batch
    }

    /// The order columns' values to sort by, as a reference: a day named as a month
    /// becomes its year and month by `chrono`.
    fn order_values(order: &RowOrder, batch: &RecordBatch) -> Vec<ArrayRef> {
        use chrono::Datelike;
        order
            .columns
            .iter()
            .zip(&order.by_month)
            .map(|(&c, &month)| match month {
                false => batch.column(c).clone(),
                true => Arc::new(Int64Array::from_iter(batch.column(c).as_primitive::<Date32Type>().iter().map(|d| {
                    let date = d.map(|d| chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163).unwrap());
                    date.map(|date| i64::from(date.year()) * 12 + i64::from(date.month0()))
                }))),
            })
            .collect()
    }

    /// The reference: Arrow's own sort of the order columns then line, keeping each key's
    /// first row.
    fn expected(kind: &Kind, all: &RecordBatch) -> (RecordBatch, Vec<u64>) {
        let order = RowOrder::new(kind, &all.schema()).unwrap();
        let sort: Vec<SortColumn> = order_values(&order, all)
            .into_iter()
            .chain([all.column(order.line).clone()])
            .map(|values| SortColumn { values, options: None })
            .collect();
        let sorted = take_record_batch(all, &lexsort_to_indices(&sort, None).unwrap()).unwrap();
        let values = order_values(&order, &sorted);
        let key = |r: usize| -> Vec<Option<String>> {
            values.iter().map(|column| column.is_valid(r).then(|| array_value_to_string(column, r).unwrap())).collect()
        };
        let lines = sorted.column(order.line).as_primitive::<arrow::datatypes::UInt64Type>();
        let (mut keep, mut dropped) = (vec![], vec![]);
        for r in 0..sorted.num_rows() {
            if r > 0 && key(r) == key(*keep.last().unwrap()) {
                dropped.push(lines.value(r));
            } else {
                keep.push(r);
            }
        }
        let keep = UInt64Array::from_iter_values(keep.iter().map(|&r| r as u64));
        dropped.sort_unstable();
        (take_record_batch(&sorted, &keep).unwrap(), dropped)
    }

    fn check(kind: &Kind, n: usize, cuts: &[usize], packed_bits: u32, seed: u64) {
        let mut all = rows(kind, n, seed);
        let schema = all.schema();
        // When rows were ingested is one value for a file's rows: repeated, not gathered.
        let same: Vec<usize> = schema.index_of("ingested_at").into_iter().collect();
        if let Some(&c) = same.first() {
            let mut columns = all.columns().to_vec();
            let DataType::Timestamp(_, zone) = schema.field(c).data_type() else {
                panic!("ingested_at is a timestamp")
            };
            columns[c] = Arc::new(
                TimestampMicrosecondArray::from(vec![1_759_190_400_000_007; n]).with_timezone_opt(zone.clone()),
            );
            all = RecordBatch::try_new(schema.clone(), columns).unwrap();
        }
        // Parts of the file in line order, each in batches of up to 7 rows.
        let mut parts = vec![];
        let bounds: Vec<usize> = std::iter::once(0).chain(cuts.iter().copied()).chain([n]).collect();
        for w in bounds.windows(2) {
            let part: Vec<RecordBatch> =
                (w[0]..w[1]).step_by(7).map(|s| all.slice(s, 7.min(w[1] - s))).filter(|b| b.num_rows() > 0).collect();
            parts.push(part);
        }
        let mut order = RowOrder::new(kind, &schema).unwrap();
        order.packed_bits = packed_bits;
        let mut rejects = vec![];
        let (got, dropped) = order.arrange(kind, &schema, &parts, &same, &mut rejects).unwrap();
        let (want, want_dropped) = expected(kind, &all);
        assert!(!want_dropped.is_empty(), "the data repeats keys");
        assert_eq!(got, want, "{} rows in order, packed bits {packed_bits}, parts {cuts:?}", kind.name);
        assert_eq!(dropped.into_iter().collect::<Vec<_>>(), want_dropped);
        assert_eq!(rejects.len(), want_dropped.len());
        assert!(rejects.iter().all(|r| r.reason.starts_with("duplicate key")));
    }

    #[test]
    fn rows_come_out_in_the_tables_order_without_repeated_keys() {
        for (seed, kind) in [kinds::ACTIVITY, kinds::SWIPES, kinds::CLASS_LISTS, kinds::STATUS_CHANGES, kinds::ABSENCES]
            .iter()
            .enumerate()
        {
            let seed = seed as u64;
            check(kind, 400, &[], 128, seed);
            check(kind, 400, &[150], 128, seed);
            check(kind, 400, &[1, 200, 399], 128, seed);
            // Too few bits to pack a row with its number: the wide layout.
            check(kind, 400, &[150], 0, seed);
            check(kind, 400, &[], 0, seed);
        }
    }

    /// Packed keys come out in order whatever their order going in: nearly in order once
    /// bucketed (as files come), in no order, reversed, a bucket far out of place; with and
    /// without a leading column to bucket by.
    #[test]
    fn packed_keys_are_sorted_whatever_their_order() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // Month (4 bits at the top), student, time, row: student-major as files come, each
        // day's rows in time order but for one in ten out of place.
        let (shift, width) = (124, 4);
        let mut nearly = vec![];
        for student in 0..50u128 {
            for month in 0..12u128 {
                for t in 0..40u128 {
                    let t = if rng.random_range(0..10) == 0 { t + rng.random_range(0..30) } else { t };
                    nearly.push((month << shift) | (student << 80) | (t << 32));
                }
            }
        }
        let random: Vec<u128> = (0..20_000).map(|_| rng.random::<u128>() & !0xffff_ffff).collect();
        let reversed: Vec<u128> = (0..20_000u128).rev().map(|k| ((k % 16) << shift) | (k << 32)).collect();
        let mut far = nearly.clone();
        far.reverse();
        for keys in [nearly, random, reversed, far, vec![], vec![5 << 32]] {
            // Unique as in a part: the row in the low bits.
            let keys: Vec<u128> = keys.into_iter().enumerate().map(|(i, k)| k | i as u128).collect();
            let mut want = keys.clone();
            want.sort_unstable();
            assert_eq!(sort_packed(keys.clone(), Some((shift, width))), want);
            assert_eq!(sort_packed(keys, None), want);
        }
    }

    /// Every day from the year 0000 to 9999 (and around them) has `chrono`'s month, in
    /// order: one more each time the month changes.
    #[test]
    fn months_of_days_agree_with_chrono() {
        use chrono::Datelike;
        let mut previous: Option<(i64, u32)> = None;
        for days in -719_600..2_933_000i64 {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(days as i32 + 719_163).unwrap();
            let month = month_of(days);
            if let Some((before, before_month)) = previous {
                let step = if date.month0() == before_month { 0 } else { 1 };
                assert_eq!(month, before + step, "{date}");
            }
            previous = Some((month, date.month0()));
        }
    }

    #[test]
    fn the_first_line_of_a_repeated_key_is_kept_and_named() {
        let kind = kinds::CLASS_LISTS;
        let schema = staged_schema(&kind);
        let batch = |ids: &[&str], lines: &[u64]| {
            let n = ids.len();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(vec!["C1"; n])),
                    Arc::new(StringArray::from(ids.to_vec())),
                    Arc::new(TimestampMicrosecondArray::from(vec![0; n]).with_timezone("UTC")),
                    Arc::new(UInt64Array::from(lines.to_vec())),
                ],
            )
            .unwrap()
        };
        let parts = vec![vec![batch(&["S2", "S1"], &[2, 3])], vec![batch(&["S1", "S2", "S1"], &[4, 5, 6])]];
        let mut rejects = vec![];
        let (kept, dropped) =
            RowOrder::new(&kind, &schema).unwrap().arrange(&kind, &schema, &parts, &[], &mut rejects).unwrap();
        assert_eq!(kept.column(3).as_primitive::<arrow::datatypes::UInt64Type>().values(), &[3, 2]);
        assert_eq!(dropped.into_iter().collect::<Vec<_>>(), vec![4, 5, 6]);
        let mut said: Vec<(u64, String)> = rejects.into_iter().map(|r| (r.line, r.reason)).collect();
        said.sort();
        assert_eq!(
            said,
            vec![
                (4, "duplicate key (session_id, student_id) of line 3".to_string()),
                (5, "duplicate key (session_id, student_id) of line 2".to_string()),
                (6, "duplicate key (session_id, student_id) of line 3".to_string()),
            ]
        );
    }
}
