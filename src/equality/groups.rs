//! Ethnicity codes and labels to the groups analysed, from a data file users can edit.
//!
//! The file shipped with Rollcall (`reference/ethnicity-groups.csv`, copied into the
//! warehouse by `init`) maps HESA's ethnicity codes, both the older two-digit codes and the
//! Data Futures three-digit ones, and their labels to the usual six groups.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::warehouse::Warehouse;

/// The group of values the file does not name.
pub const UNMAPPED: &str = "Unknown";

/// A loaded mapping.
#[derive(Debug, Clone)]
pub struct Groups {
    /// (code or label, lower-cased and trimmed; group).
    pub entries: Vec<(String, String)>,
    /// Groups in the order of the file, `Unknown` last.
    pub names: Vec<String>,
    /// SHA-256 of the file, so a release records which mapping it used.
    pub digest: String,
}

impl Groups {
    /// Reads the configured mapping file of a warehouse.
    pub fn load(warehouse: &Warehouse) -> Result<Groups> {
        let configured = &warehouse.config().equality.groups_file;
        let path: PathBuf =
            if configured.is_absolute() { configured.clone() } else { warehouse.root().join(configured) };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::io(&path, std::io::Error::new(e.kind(), format!("{e}; `rollcall init` writes the shipped mapping")))
        })?;
        Groups::parse(&text, &path)
    }

    /// Parses mapping text (`code,label,group`); `path` is named in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Groups> {
        let problem = |line: usize, message: String| Error::Config {
            path: path.to_path_buf(),
            message: format!("line {line}: {message}"),
        };
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| problem(1, e.to_string()))?.clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
                .ok_or_else(|| problem(1, format!("column '{name}' is missing; expected the header code,label,group")))
        };
        let (code, label, group) = (col("code")?, col("label")?, col("group")?);
        let mut entries = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| problem(line, e.to_string()))?;
            let g = record.get(group).unwrap_or_default();
            if g.is_empty() {
                return Err(problem(line, "column 'group': is empty".into()));
            }
            for key in [record.get(code), record.get(label)].into_iter().flatten().filter(|k| !k.is_empty()) {
                let key = key.to_lowercase();
                if let Some((_, other)) = entries.iter().find(|(k, _)| *k == key)
                    && other != g
                {
                    return Err(problem(line, format!("'{key}' is mapped to both '{other}' and '{g}'")));
                }
                entries.push((key, g.to_string()));
            }
            if !names.iter().any(|n| n == g) {
                names.push(g.to_string());
            }
        }
        if entries.is_empty() {
            return Err(problem(1, "the mapping has no rows".into()));
        }
        names.retain(|n| n != UNMAPPED);
        names.push(UNMAPPED.into());
        Ok(Groups { entries, names, digest: hex::encode(Sha256::digest(text.as_bytes())) })
    }

    /// The group of an ethnicity value (a code or a label, any case).
    pub fn group_of(&self, value: Option<&str>) -> &str {
        let Some(value) = value.map(|v| v.trim().to_lowercase()) else { return UNMAPPED };
        self.entries.iter().find(|(k, _)| *k == value).map(|(_, g)| g.as_str()).unwrap_or(UNMAPPED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_mapping_groups_codes_and_labels() {
        let g = Groups::parse(crate::domain::reference::GROUPS_CSV, Path::new("shipped.csv")).unwrap();
        assert_eq!(g.names, ["White", "Black", "Asian", "Mixed", "Other", "Unknown"]);
        assert_eq!(g.group_of(Some("22")), "Black");
        assert_eq!(g.group_of(Some("103")), "Asian");
        assert_eq!(g.group_of(Some("chinese")), "Asian");
        assert_eq!(g.group_of(Some(" Mixed - White and Asian ")), "Mixed");
        assert_eq!(g.group_of(Some("Arab")), "Other");
        assert_eq!(g.group_of(Some("998")), "Unknown");
        assert_eq!(g.group_of(Some("Martian")), "Unknown");
        assert_eq!(g.group_of(None), "Unknown");
    }

    #[test]
    fn a_bad_mapping_names_file_and_line() {
        let err = Groups::parse("code,label,group\n10,White,White\n10,White,Other\n", Path::new("g.csv")).unwrap_err();
        assert!(err.to_string().contains("g.csv: line 3"), "{err}");
        let err = Groups::parse("code,name\n", Path::new("g.csv")).unwrap_err();
        assert!(err.to_string().contains("column 'label'"), "{err}");
    }
}
