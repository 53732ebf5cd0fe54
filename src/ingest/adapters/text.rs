//! Opening exported text files whatever their encoding: a UTF-8 byte-order mark is
//! skipped, UTF-16 (either byte order, told by its mark) is decoded to UTF-8 as it streams.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// The encodings a byte-order mark tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, with or without a mark.
    Utf8,
    /// UTF-16 little-endian (mark FF FE), as Windows writes it.
    Utf16Le,
    /// UTF-16 big-endian (mark FE FF).
    Utf16Be,
}

/// Opens a file for reading as UTF-8 text, past any byte-order mark.
pub fn open(path: &Path) -> Result<(Box<dyn BufRead + Send>, Encoding)> {
    let mut file = BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| Error::io(path, e))?);
    let head = file.fill_buf().map_err(|e| Error::io(path, e))?;
    let (encoding, skip) = match head {
        [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8, 3),
        [0xFF, 0xFE, ..] => (Encoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (Encoding::Utf16Be, 2),
        _ => (Encoding::Utf8, 0),
    };
    file.consume(skip);
    let reader: Box<dyn BufRead + Send> = match encoding {
        Encoding::Utf8 => Box::new(file),
        wide => Box::new(BufReader::with_capacity(1 << 16, Utf16Reader::new(file, wide == Encoding::Utf16Be))),
    };
    Ok((reader, encoding))
}

/// Decodes UTF-16 to UTF-8 as it is read. Unpaired surrogates become U+FFFD.
pub struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    out: Vec<u8>,
    pos: usize,
    pending_high: Option<u16>,
    odd: Option<u8>,
}

impl<R: Read> Utf16Reader<R> {
    /// Wraps a reader positioned after the byte-order mark.
    pub fn new(inner: R, big_endian: bool) -> Self {
        Utf16Reader { inner, big_endian, out: Vec::new(), pos: 0, pending_high: None, odd: None }
    }

    fn push(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    fn unit(&mut self, unit: u16) {
        match (self.pending_high.take(), unit) {
            (Some(high), 0xDC00..=0xDFFF) => {
                let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                self.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            (pending, 0xD800..=0xDBFF) => {
                if pending.is_some() {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                self.pending_high = Some(unit);
            }
            (pending, _) => {
                if pending.is_some() {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                self.push(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }

    fn refill(&mut self) -> std::io::Result<bool> {
        let mut raw = [0u8; 1 << 15];
        let n = self.inner.read(&mut raw)?;
        self.out.clear();
        self.pos = 0;
        if n == 0 {
            if self.pending_high.take().is_some() || self.odd.take().is_some() {
                self.push(char::REPLACEMENT_CHARACTER);
            }
            return Ok(!self.out.is_empty());
        }
        let mut bytes = &raw[..n];
        if let Some(first) = self.odd.take() {
            let pair = [first, bytes[0]];
            let unit = if self.big_endian { u16::from_be_bytes(pair) } else { u16::from_le_bytes(pair) };
            self.unit(unit);
            bytes = &bytes[1..];
        }
        let mut chunks = bytes.chunks_exact(2);
        for pair in &mut chunks {
            let pair = [pair[0], pair[1]];
            let unit = if self.big_endian { u16::from_be_bytes(pair) } else { u16::from_le_bytes(pair) };
            self.unit(unit);
        }
        if let [last] = chunks.remainder() {
            self.odd = Some(*last);
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Splits one line of a tab-separated export into fields: the line ending (CR LF or LF) is
/// removed, and fields wrapped in double quotes are unwrapped (`""` inside is a quote).
pub fn split_tabs(line: &str) -> Vec<String> {
    let line = line.trim_end_matches(['\r', '\n']);
    line.split('\t')
        .map(|f| {
            let f = f.trim();
            if f.len() >= 2 && f.starts_with('"') && f.ends_with('"') {
                f[1..f.len() - 1].replace("\"\"", "\"")
            } else {
                f.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
        for unit in text.encode_utf16() {
            out.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        out
    }

    #[test]
    fn utf16_both_byte_orders_and_utf8_bom_read_the_same() {
        let text = "Name\tEmail\r\nZoë Ångström 😀\tz@x.ac.uk\r\n";
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("le.csv", utf16(text, false)),
            ("be.csv", utf16(text, true)),
            ("bom8.csv", [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat()),
            ("plain.csv", text.as_bytes().to_vec()),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let (mut reader, _) = open(&path).unwrap();
            let mut read = String::new();
            reader.read_to_string(&mut read).unwrap();
            assert_eq!(read, text, "{name}");
        }
    }

    #[test]
    fn tab_fields_are_unquoted_and_trimmed() {
        assert_eq!(split_tabs("\"Doe, Jane\"\t a \t\r\n"), vec!["Doe, Jane", "a", ""]);
    }
}
