//! The one way in: what `rollcall ingest NAME FILE...` reads is a [`Source`] (an
//! interchange kind, an export format, or a folder of Jisc UDD files), loaded by [`load`]
//! into [`Loaded`]: ingest reports of one type.

use std::path::PathBuf;

use super::adapters::{self, Format};
use super::kinds::{self, Kind};
use super::{IngestOptions, IngestReport};
use crate::error::Result;
use crate::warehouse::Warehouse;

/// The name `rollcall ingest` takes for Jisc UDD folders.
const UDD: &str = "jisc-udd";

/// What a set of files holds.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// Interchange files of one kind.
    Interchange(Kind),
    /// Files a university's system exports (Moodle, Teams, xAPI, lecture capture).
    Export(Format),
    /// Folders of Jisc UDD files.
    UddFolders,
}

impl Source {
    /// The source a command-line name stands for.
    pub fn by_name(name: &str) -> Option<Source> {
        if name == UDD {
            return Some(Source::UddFolders);
        }
        kinds::by_name(name).map(Source::Interchange).or_else(|| adapters::by_name(name).map(Source::Export))
    }

    /// Every name `by_name` accepts: the interchange kinds, then the export formats.
    pub fn names() -> impl Iterator<Item = &'static str> {
        kinds::ALL.iter().map(|k| k.name).chain(adapters::FORMATS.iter().map(|f| f.name))
    }

    /// Its command-line name.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Interchange(kind) => kind.name,
            Source::Export(format) => format.name,
            Source::UddFolders => UDD,
        }
    }
}

/// What loading did: one report for interchange files or exported files, one per
/// interchange kind made from UDD folders (in the order they were loaded).
#[derive(Debug)]
pub struct Loaded {
    /// The reports, in order.
    pub reports: Vec<IngestReport>,
}

impl Loaded {
    /// Files (or folders' kinds) refused.
    pub fn refused(&self) -> usize {
        self.reports.iter().map(IngestReport::refused).sum()
    }

    /// Data rows read.
    pub fn rows_read(&self) -> u64 {
        self.reports.iter().map(IngestReport::rows_read).sum()
    }

    /// Files reported on.
    pub fn files(&self) -> usize {
        self.reports.iter().map(|r| r.files.len()).sum()
    }
}

/// Loads `files` of `source` into the warehouse.
pub async fn load(
    warehouse: &Warehouse,
    source: &Source,
    files: &[PathBuf],
    options: &IngestOptions,
) -> Result<Loaded> {
    let reports = match source {
        Source::Interchange(kind) => vec![super::ingest(warehouse, kind, files, options).await?],
        Source::Export(format) => vec![adapters::ingest(warehouse, format, files, options).await?],
        Source::UddFolders => adapters::udd::ingest(warehouse, files, options).await?,
    };
    Ok(Loaded { reports })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_one_source() {
        for name in Source::names().chain([UDD]) {
            let source = Source::by_name(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(source.name(), name);
        }
        assert!(matches!(Source::by_name("activity"), Some(Source::Interchange(_))));
        assert!(matches!(Source::by_name("moodle-log"), Some(Source::Export(_))));
        assert!(matches!(Source::by_name(UDD), Some(Source::UddFolders)));
        assert!(Source::by_name("spreadsheet").is_none());
    }
}
