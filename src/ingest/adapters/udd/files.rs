//! Reading a UDD folder's files (tab-separated, a header of UDD properties), and writing
//! the interchange files made from them, remembering which UDD line each row came from.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::super::text;
use crate::error::{Error, Result};
use crate::ingest::parse::Reject;

/// One UDD file read whole: header (upper-case) and rows with their line numbers.
pub(super) struct Table {
    pub(super) path: PathBuf,
    pub(super) header: Vec<String>,
    pub(super) rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    pub(super) fn get<'r>(&self, row: &'r [String], name: &str) -> &'r str {
        self.header.iter().position(|h| h == name).and_then(|i| row.get(i)).map(String::as_str).unwrap_or("")
    }
}

/// A UDD entity's two file names: Jisc's file-name convention (the API endpoint name,
/// `implementation/filename_conventions.md`: `courseinstance.tsv`) and the entity's own
/// name (`course_instance.tsv`), which many extracts use.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entity {
    /// The entity's name in the UDD (`student_on_course_instance`).
    pub(super) entity: &'static str,
    /// Its API endpoint name, the file name Jisc's convention asks for (`studentcourseinstance`).
    pub(super) endpoint: &'static str,
}

/// Finds the entity's file in the folder (`.tsv`, `.txt` or `.csv`, any case) by either
/// name; both present is a problem (which one holds the data?).
fn find(dir: &Path, entity: Entity, problems: &mut Vec<(PathBuf, Reject)>) -> Result<Option<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut found: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
        let ext = path.extension().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
        if (stem == entity.entity || stem == entity.endpoint) && matches!(ext.as_str(), "tsv" | "txt" | "csv") {
            found.push(path);
        }
    }
    found.sort();
    if found.len() > 1 {
        let names: Vec<String> =
            found.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into()).collect();
        problems.push((
            found[0].clone(),
            Reject {
                line: 0,
                column: String::new(),
                reason: format!(
                    "{} files hold the UDD {} entity ({}); keep one",
                    found.len(),
                    entity.entity,
                    names.join(", ")
                ),
                record: None,
            },
        ));
        return Ok(None);
    }
    Ok(found.pop())
}

/// Reads the entity's file from the folder, if it is there; malformed rows go to `problems`.
pub(super) fn read(dir: &Path, entity: Entity, problems: &mut Vec<(PathBuf, Reject)>) -> Result<Option<Table>> {
    let Some(path) = find(dir, entity, problems)? else {
        return Ok(None);
    };
    let (reader, _) = text::open(&path)?;
    // Lines as bytes, so a line that is not UTF-8 is a problem on that line, not the file's.
    let mut lines = reader.split(b'\n').map(|line| {
        line.map(|mut bytes| {
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
            String::from_utf8(bytes)
        })
    });
    let not_utf8 = |number: u64| Reject {
        line: number,
        column: String::new(),
        reason: "is not valid UTF-8 (save the file as UTF-8)".into(),
        record: None,
    };
    let header: Vec<String> = match lines.next() {
        Some(line) => match line.map_err(|e| Error::io(&path, e))? {
            Ok(line) => text::split_tabs(&line).iter().map(|h| h.to_uppercase()).collect(),
            Err(_) => {
                problems.push((path.clone(), not_utf8(1)));
                return Ok(None);
            }
        },
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let number = i as u64 + 2;
        let Ok(line) = line.map_err(|e| Error::io(&path, e))? else {
            problems.push((path.clone(), not_utf8(number)));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = text::split_tabs(&line);
        if fields.len() == header.len() + 1 && fields.last().is_some_and(String::is_empty) {
            fields.pop();
        }
        if fields.len() != header.len() {
            let reason = if fields.len() == 1 && line.contains(' ') {
                "fields are separated by spaces, not tabs".to_string()
            } else {
                format!("has {} fields, the header has {}", fields.len(), header.len())
            };
            problems.push((path.clone(), Reject { line: number, column: String::new(), reason, record: None }));
            continue;
        }
        rows.push((number, fields));
    }
    Ok(Some(Table { path, header, rows }))
}

/// An interchange file being written, remembering which UDD line each row came from.
pub(super) struct Out {
    pub(super) kind: &'static str,
    pub(super) path: PathBuf,
    pub(super) writer: csv::Writer<std::fs::File>,
    /// (UDD file, UDD line) of each data row, in order.
    pub(super) sources: Vec<(PathBuf, u64)>,
    /// Interchange column -> UDD property, for problems.
    pub(super) properties: &'static [(&'static str, &'static str)],
}

impl Out {
    pub(super) fn new(
        dir: &Path,
        kind: &'static str,
        header: &[&str],
        properties: &'static [(&'static str, &'static str)],
    ) -> Result<Out> {
        let path = dir.join(format!("{kind}.csv"));
        let mut writer = csv::Writer::from_path(&path).map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
        writer.write_record(header).map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
        Ok(Out { kind, path, writer, sources: Vec::new(), properties })
    }

    pub(super) fn row(&mut self, from: (&Path, u64), fields: &[&str]) -> Result<()> {
        self.writer.write_record(fields).map_err(|e| Error::io(&self.path, std::io::Error::other(e)))?;
        self.sources.push((from.0.to_path_buf(), from.1));
        Ok(())
    }
}
