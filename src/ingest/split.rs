//! Splitting a large interchange file into byte ranges that several threads read at once.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::error::{Error, Result};

/// Files at least this large (`ROLLCALL_SPLIT_BYTES`, default 16 MiB) are read by several
/// threads, one part each.
fn split_bytes() -> u64 {
    crate::config::env::positive(crate::config::env::SPLIT_BYTES, 16 << 20)
}

/// How a file is read: its byte ranges, whether it holds no quote at all, and its first
/// line; and its content's hash.
pub(super) struct Plan {
    /// The SHA-256 of the file's bytes, in hex (the ingest log's record of the file).
    pub sha256: String,
    /// The byte ranges to read in parallel, as (start, end, lines before start).
    pub parts: Vec<(u64, u64, u64)>,
    /// No byte of the file is a quote: every comma ends a field and every LF a line.
    pub plain: bool,
    /// The file's first line.
    pub first: FirstLine,
}

/// The file's first line, as far as reading its rows needs.
#[derive(Clone, Copy)]
pub(super) struct FirstLine {
    /// Its line end is CR LF.
    pub crlf: bool,
    /// The byte after its LF, when the line is the header the CSV reader takes (not
    /// blank, no CR but its last byte): where the first part's rows start.
    pub end: Option<u64>,
}

impl FirstLine {
    /// The first line of a file that starts with `head` (all of it when `whole`).
    fn of(head: &[u8], whole: bool) -> FirstLine {
        let Some(nl) = memchr::memchr(b'\n', head) else {
            // No line end: a header alone, or a file of CR line ends (read by the CSV reader).
            let alone = whole && memchr::memchr(b'\r', head).is_none();
            return FirstLine { crlf: false, end: alone.then_some(head.len() as u64) };
        };
        let crlf = nl > 0 && head[nl - 1] == b'\r';
        let line = &head[..nl - usize::from(crlf)];
        let header = !line.trim_ascii().is_empty() && memchr::memchr(b'\r', line).is_none();
        FirstLine { crlf, end: header.then_some(nl as u64 + 1) }
    }
}

/// Bytes read at a time while planning.
const BLOCK_BYTES: u64 = 1 << 20;

/// One streaming pass over the file, which hashes it too: its first line from the first
/// block; any quote means one part (a quoted field may hold a line end); else large files
/// get a part per core, each starting after the first line end past its share of the
/// bytes, with the line ends before it counted.
pub(super) fn plan(path: &Path) -> Result<Plan> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    let wanted_parts = if size < split_bytes() {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(2, 8) as u64
    };
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut block = Vec::with_capacity(BLOCK_BYTES as usize);
    let mut offset = 0u64;
    let mut lines = 0u64;
    let mut parts = vec![(0u64, size, 0u64)];
    let mut first = None;
    let mut hasher = Sha256::new();
    let mut plain = true;
    loop {
        block.clear();
        let n = (&mut file).take(BLOCK_BYTES).read_to_end(&mut block).map_err(|e| Error::io(path, e))?;
        first.get_or_insert_with(|| FirstLine::of(&block, (n as u64) < BLOCK_BYTES));
        if n == 0 {
            break;
        }
        let bytes = &block[..n];
        hasher.update(bytes);
        if !plain {
            continue; // only hashed
        }
        if memchr::memchr(b'"', bytes).is_some() {
            (plain, parts) = (false, vec![(0, size, 0)]);
            continue;
        }
        if wanted_parts > 1 {
            for nl in memchr::memchr_iter(b'\n', bytes) {
                lines += 1;
                let start = offset + nl as u64 + 1;
                let wanted = size * parts.len() as u64 / wanted_parts;
                if (parts.len() as u64) < wanted_parts && start >= wanted && start < size {
                    parts.last_mut().expect("parts is not empty").1 = start;
                    parts.push((start, size, lines));
                }
            }
        }
        offset += n as u64;
    }
    let sha256 = hex::encode(hasher.finalize());
    Ok(Plan { sha256, parts, plain, first: first.expect("the first block was read") })
}

/// A buffered reader over bytes `start..end` of a file.
pub(super) fn open_range(path: &Path, start: u64, end: u64) -> Result<BufReader<std::io::Take<File>>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(start)).map_err(|e| Error::io(path, e))?;
    Ok(BufReader::with_capacity(1 << 20, file.take(end - start)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The planning pass hashes every byte, also of a file whose quote (in its first block)
    /// ends the search for line ends, and of one read in parts.
    #[test]
    fn the_plan_hashes_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let rows: String = (0..200_000).map(|i| format!("S{i:07},2025-10-01T10:00:00,vle,1\n")).collect();
        for (name, header) in [
            ("plain.csv", "student_id,occurred_at,source,count\n"),
            ("quoted.csv", "\"student_id\",occurred_at,source,count\n"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("{header}{rows}")).unwrap();
            let plan = plan(&path).unwrap();
            assert_eq!(plan.sha256, crate::ingest::file_sha256(&path).unwrap(), "{name}");
            assert_eq!(plan.plain, name == "plain.csv");
        }
        // The same bytes give the same hash whatever the name; other bytes another.
        let other = dir.path().join("other.csv");
        std::fs::write(&other, "student_id,occurred_at,source,count\n").unwrap();
        assert_ne!(plan(&other).unwrap().sha256, plan(&dir.path().join("plain.csv")).unwrap().sha256);
    }
}
