//! Putting a file's rows in the table's order while they are read: each reading thread
//! sorts its part by the table's order (Arrow row encoding), then the parts are merged
//! and a repeated key is found beside its first line.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use arrow::compute::interleave_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, Rows, SortField};

use super::kinds::Kind;
use super::parse::{LINE_COLUMN, Reject, staged_schema};
use crate::error::{Error, Result};

/// The order a kind's rows are stored in: [`Kind::order`], then the rest of the key (then
/// line, to break ties). With the key leading, rows repeating a key sit side by side.
pub(super) struct RowOrder {
    columns: Vec<usize>,
    line: usize,
    converter: RowConverter,
}

/// One part's rows in order: `order` lists row numbers (counted across the part's batches).
pub(super) struct SortedPart {
    keys: Rows,
    lines: Vec<u64>,
    at: Vec<(u32, u32)>,
    order: Vec<u32>,
}

impl SortedPart {
    /// Orders row `a` of this part against row `b` of `other`: key, then line.
    pub(super) fn compare(&self, a: usize, other: &SortedPart, b: usize) -> std::cmp::Ordering {
        self.keys.row(a).cmp(&other.keys.row(b)).then(self.lines[a].cmp(&other.lines[b]))
    }
}

impl RowOrder {
    pub(super) fn new(kind: &Kind, schema: &SchemaRef) -> Result<RowOrder> {
        let columns: Vec<usize> = kind
            .order
            .iter()
            .chain(kind.key.iter().filter(|k| !kind.order.contains(k)))
            .map(|name| schema.index_of(name).expect("order and key columns are table columns"))
            .collect();
        let fields = columns.iter().map(|&i| SortField::new(schema.field(i).data_type().clone())).collect();
        let line = schema.index_of(LINE_COLUMN).expect("staged");
        Ok(RowOrder { columns, line, converter: RowConverter::new(fields)? })
    }

    /// Encodes one part's order columns and sorts its rows (run by the thread that read them).
    pub(super) fn sort(&self, batches: &[RecordBatch]) -> Result<SortedPart> {
        let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let mut keys = self.converter.empty_rows(total, total * 32);
        let mut at = Vec::with_capacity(total);
        let mut lines = Vec::with_capacity(total);
        for (b, batch) in batches.iter().enumerate() {
            let columns: Vec<ArrayRef> = self.columns.iter().map(|&i| batch.column(i).clone()).collect();
            self.converter.append(&mut keys, &columns)?;
            let line = batch.column(self.line).as_any().downcast_ref::<UInt64Array>().expect("line column is UInt64");
            at.extend((0..batch.num_rows() as u32).map(|r| (b as u32, r)));
            lines.extend(line.values().iter().copied());
        }
        let mut part = SortedPart { keys, lines, at, order: (0..total as u32).collect() };
        let mut order = std::mem::take(&mut part.order);
        order.sort_unstable_by(|&a, &b| part.compare(a as usize, &part, b as usize));
        part.order = order;
        Ok(part)
    }
}

/// Rows built by an adapter (in the table's layout, keys unique) as staged rows: numbered
/// as lines in their given order, then put in the table's order.
pub fn staged_from(kind: &Kind, rows: RecordBatch) -> Result<RecordBatch> {
    let schema = staged_schema(kind);
    let mut columns = rows.columns().to_vec();
    columns.push(Arc::new(UInt64Array::from_iter_values(1..=rows.num_rows() as u64)));
    let batches = vec![RecordBatch::try_new(schema.clone(), columns)?];
    let part = RowOrder::new(kind, &schema)?.sort(&batches)?;
    let mut rejects = Vec::new();
    let (staged, _) = merge_parts(kind, &schema, &batches, &[(0, part)], &mut rejects)?;
    if !rejects.is_empty() {
        return Err(Error::Internal(format!("{} rows built for {} repeat a key", rejects.len(), kind.name)));
    }
    Ok(staged)
}

/// Merges sorted parts (each with the index of its first batch in `batches`) into one
/// batch in the table's order, refusing every repeat of a key after its first line.
/// Returns the lines refused.
pub(super) fn merge_parts(
    kind: &Kind,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    parts: &[(usize, SortedPart)],
    rejects: &mut Vec<Reject>,
) -> Result<(RecordBatch, BTreeSet<u64>)> {
    let total: usize = parts.iter().map(|(_, p)| p.order.len()).sum();
    let mut dropped = BTreeSet::new();
    if total == 0 {
        return Ok((RecordBatch::new_empty(schema.clone()), dropped));
    }
    let mut next = vec![0usize; parts.len()];
    let mut kept = Vec::with_capacity(total);
    let mut first: Option<(usize, usize)> = None;
    loop {
        // The part whose next row comes first (parts are few: one per reading thread).
        let mut pick: Option<(usize, usize)> = None;
        for (p, (_, part)) in parts.iter().enumerate() {
            let Some(&i) = part.order.get(next[p]) else { continue };
            let i = i as usize;
            if pick.is_none_or(|(q, j)| part.compare(i, &parts[q].1, j).is_lt()) {
                pick = Some((p, i));
            }
        }
        let Some((p, i)) = pick else { break };
        next[p] += 1;
        let part = &parts[p].1;
        match first {
            Some((q, f)) if parts[q].1.keys.row(f) == part.keys.row(i) => {
                let first_line = parts[q].1.lines[f];
                dropped.insert(part.lines[i]);
                rejects.push(Reject {
                    line: part.lines[i],
                    column: kind.key.join(", "),
                    reason: format!("duplicate key ({}) of line {first_line}", kind.key.join(", ")),
                    record: None,
                });
            }
            _ => {
                first = Some((p, i));
                let (b, r) = part.at[i];
                kept.push((parts[p].0 + b as usize, r as usize));
            }
        }
    }
    let batch = interleave_record_batch(&batches.iter().collect::<Vec<_>>(), &kept)?;
    Ok((batch, dropped))
}
