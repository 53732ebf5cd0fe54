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

/// How a file is read: its byte ranges, and whether it holds no quote at all.
pub(super) struct Plan {
    /// The byte ranges to read in parallel, as (start, end, lines before start).
    pub parts: Vec<(u64, u64, u64)>,
    /// No byte of the file is a quote: every comma ends a field and every LF a line.
    pub plain: bool,
}

/// One streaming pass over the file: any quote means one part (a quoted field may hold a
/// line end); else large files get a part per core, each starting after the first line
/// end past its share of the bytes, with the line ends before it counted.
pub(super) fn plan(path: &Path, size: u64) -> Result<Plan> {
    use std::io::Read;
    let wanted_parts = if size < split_bytes() {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(2, 8) as u64
    };
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut block = vec![0u8; 1 << 20];
    let mut offset = 0u64;
    let mut lines = 0u64;
    let mut parts = vec![(0u64, size, 0u64)];
    loop {
        let n = file.read(&mut block).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        let bytes = &block[..n];
        if memchr::memchr(b'"', bytes).is_some() {
            return Ok(Plan { parts: vec![(0, size, 0)], plain: false });
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
    Ok(Plan { parts, plain: true })
}

/// A buffered reader over bytes `start..end` of a file.
pub(super) fn open_range(path: &Path, start: u64, end: u64) -> Result<BufReader<std::io::Take<File>>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(start)).map_err(|e| Error::io(path, e))?;
    Ok(BufReader::with_capacity(1 << 20, file.take(end - start)))
}
