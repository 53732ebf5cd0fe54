//! `rollcall equality extract`: a pseudonymised record-level extract for approved analysts.
//!
//! Each extract has its own pseudonyms (HMAC-SHA256 under the key with a purpose label
//! unique to the extract), so two extracts cannot be joined with each other or with the
//! warehouse without the key. Quasi-identifier combinations (ethnicity group, department,
//! level, stage, mode) shared by fewer than k students are generalised step by step and,
//! if still rarer than k, suppressed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{Groups, census_dates, census_rows, session};
use crate::domain::year::AcademicYear;
use crate::error::{Error, Result};
use crate::privacy::pseudonym::PseudonymKey;
use crate::warehouse::row;
use crate::warehouse::{Warehouse, os_user, tables, write_atomically};

/// The generalisation steps, in the order they are tried.
pub const STEPS: [&str; 5] = [
    "stage replaced by *",
    "mode replaced by *",
    "level replaced by UG (3-6) or PG (7)",
    "department replaced by *",
    "level replaced by *",
];

/// One extract row before pseudonymisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Quasi-identifiers: group, department, level, stage, mode.
    pub qi: [String; 5],
    /// Rating band at each census date ('' when not in that date's population).
    pub bands: Vec<String>,
}

/// What an extract did.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// The extract's id (its pseudonyms' purpose label).
    pub extract_id: String,
    /// Rows written.
    pub rows: usize,
    /// Rows changed by each step.
    pub steps: Vec<(String, usize)>,
    /// Rows generalised by any step.
    pub generalised: usize,
    /// Rows suppressed.
    pub suppressed: usize,
    /// The CSV and its description.
    pub files: Vec<PathBuf>,
}

fn class_sizes(rows: &[Row]) -> std::collections::HashMap<[String; 5], usize> {
    let mut sizes = std::collections::HashMap::new();
    for r in rows {
        *sizes.entry(r.qi.clone()).or_insert(0) += 1;
    }
    sizes
}

fn generalise(step: usize, qi: &mut [String; 5]) {
    match step {
        0 => qi[3] = "*".into(),
        1 => qi[4] = "*".into(),
        2 => {
            qi[2] = match qi[2].parse::<i64>() {
                Ok(7) => "PG".into(),
                Ok(_) => "UG".into(),
                Err(_) => qi[2].clone(),
            }
        }
        3 => qi[1] = "*".into(),
        _ => qi[2] = "*".into(),
    }
}

/// Makes `rows` k-anonymous on their quasi-identifiers: rows in classes smaller than `k`
/// are generalised one step at a time; rows still in such classes are removed. Returns the
/// rows kept, the rows changed by each step, and the number generalised and suppressed.
pub fn anonymise(mut rows: Vec<Row>, k: usize) -> (Vec<Row>, Vec<usize>, usize, usize) {
    let mut touched = vec![false; rows.len()];
    let mut per_step = Vec::new();
    for step in 0..STEPS.len() {
        let sizes = class_sizes(&rows);
        let mut changed = 0;
        for (i, row) in rows.iter_mut().enumerate() {
            if sizes[&row.qi] < k {
                let before = row.qi.clone();
                generalise(step, &mut row.qi);
                if row.qi != before {
                    changed += 1;
                    touched[i] = true;
                }
            }
        }
        per_step.push(changed);
    }
    let sizes = class_sizes(&rows);
    let before = rows.len();
    let mut kept = Vec::with_capacity(rows.len());
    let mut generalised = 0;
    for (row, touched) in rows.into_iter().zip(touched) {
        if sizes[&row.qi] >= k {
            generalised += usize::from(touched);
            kept.push(row);
        }
    }
    let suppressed = before - kept.len();
    (kept, per_step, generalised, suppressed)
}

/// Writes the extract of `year` to `file` (CSV, owner-only) and its description beside it.
pub async fn extract(warehouse: &Warehouse, year: AcademicYear, file: &Path) -> Result<Report> {
    let key = Arc::new(PseudonymKey::load(warehouse)?);
    let groups = Groups::load(warehouse)?;
    let census = census_dates(warehouse, year).await?;
    let k = warehouse.config().equality.k;
    let ctx = session(warehouse, key.clone(), &groups, &census).await?;
    let census_rows = census_rows(&ctx, year).await?;

    let mut students: std::collections::BTreeMap<String, Row> = std::collections::BTreeMap::new();
    for r in &census_rows {
        let Some(c) = census.iter().position(|d| super::census_day(&d.date) == Some(r.census_day)) else { continue };
        let row = students
            .entry(r.student_id.clone())
            .or_insert_with(|| Row { qi: Default::default(), bands: vec![String::new(); census.len()] });
        // The latest census date's attributes describe the student.
        row.qi = [r.group.clone(), r.department.clone(), r.level.to_string(), r.stage.to_string(), r.mode.clone()];
        row.bands[c] = r.rating.clone();
    }
    drop(census_rows);

    let mut id = [0u8; 8];
    rand::rng().fill_bytes(&mut id);
    let extract_id = hex::encode(id);
    let purpose = format!("extract:{extract_id}");
    let (ids, rows): (Vec<String>, Vec<Row>) = students.into_iter().unzip();
    let pseudonyms: Vec<String> = ids.iter().map(|id| key.pseudonym(&purpose, id)).collect();
    drop(ids);
    // Pseudonyms travel with their rows through anonymisation.
    let tagged: Vec<Row> = rows
        .into_iter()
        .zip(&pseudonyms)
        .map(|(mut row, p)| {
            row.bands.push(p.clone());
            row
        })
        .collect();
    let (mut kept, per_step, generalised, suppressed) = anonymise(tagged, k);
    kept.sort_by(|a, b| a.bands.last().cmp(&b.bands.last()));

    let fail = |e: csv::Error| Error::io(file, std::io::Error::other(e.to_string()));
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["pseudonym", "ethnicity_group", "department", "level", "stage", "mode"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    header.extend(census.iter().map(|c| format!("rating_{}", c.date)));
    out.write_record(&header).map_err(fail)?;
    for row in &kept {
        let (pseudonym, bands) = row.bands.split_last().expect("pseudonym tagged");
        let mut record = vec![pseudonym.clone()];
        record.extend(row.qi.iter().cloned());
        record.extend(bands.iter().cloned());
        out.write_record(&record).map_err(fail)?;
    }
    let bytes = out.into_inner().map_err(|e| Error::io(file, std::io::Error::other(e.to_string())))?;
    write_private(file, &bytes)?;

    let steps: Vec<(String, usize)> = STEPS.iter().map(|s| s.to_string()).zip(per_step).collect();
    let mut about = format!(
        "Pseudonymised equality extract {extract_id} for {year}, made by {} on {}.\n\
         Pseudonyms are HMAC-SHA256 under the warehouse key with a label unique to this extract: they cannot be \
         joined with any other extract or with the warehouse without the key.\n\
         k-anonymity with k = {k} on (ethnicity_group, department, level, stage, mode): combinations shared by \
         fewer than {k} students were generalised, in this order:\n",
        os_user(),
        warehouse.clock().now().format("%Y-%m-%d %H:%M UTC"),
    );
    for (step, n) in &steps {
        about.push_str(&format!("  - {step}: {n} rows\n"));
    }
    about.push_str(&format!(
        "{generalised} rows were generalised; {suppressed} rows still in combinations rarer than {k} were removed.\n\
         {} rows were written. Census dates: {}.\n\
         Use only for the approved equality analysis; do not attempt to identify anyone.\n",
        kept.len(),
        census.iter().map(|c| c.date.as_str()).collect::<Vec<_>>().join(", ")
    ));
    let about_path = PathBuf::from(format!("{}.about.txt", file.display()));
    write_atomically(&about_path, about.as_bytes())?;

    let def = tables::EQUALITY_EXTRACTS;
    let made = vec![
        ("extract_id", row::text(extract_id.clone())),
        ("academic_year", row::text(year.to_string())),
        ("k", row::int(k as i64)),
        ("rows", row::int(kept.len() as i64)),
        ("generalised", row::int(generalised as i64)),
        ("suppressed", row::int(suppressed as i64)),
        ("sha256", row::text(hex::encode(Sha256::digest(&bytes)))),
        ("made_at", row::instant(Some(warehouse.clock().now_micros()))),
        ("made_by", row::text(os_user())),
    ];
    {
        let _lock = warehouse.lock()?;
        warehouse.append_named(&def, &[made], "equality extract made").await?;
    }
    Ok(Report {
        extract_id,
        rows: kept.len(),
        steps,
        generalised,
        suppressed,
        files: vec![file.to_path_buf(), about_path],
    })
}

/// Writes a file readable by its owner only, atomically.
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomically(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: &str, dept: &str, level: i64, stage: i64, mode: &str) -> Row {
        Row { qi: [group.into(), dept.into(), level.to_string(), stage.to_string(), mode.into()], bands: vec![] }
    }

    #[test]
    fn every_published_combination_is_shared_by_k_rows() {
        let mut rows = Vec::new();
        for i in 0..40 {
            rows.push(row("White", "Physics", 4, 1, "full-time"));
            rows.push(row("Asian", if i % 2 == 0 { "Physics" } else { "History" }, 4 + i % 3, 1 + i % 3, "full-time"));
        }
        rows.push(row("Black", "Law", 7, 1, "part-time"));
        let (kept, per_step, generalised, suppressed) = anonymise(rows, 10);
        let sizes = class_sizes(&kept);
        assert!(sizes.values().all(|n| *n >= 10), "{sizes:?}");
        assert_eq!(suppressed, 1, "the one Black student in Law cannot be hidden among 10");
        assert!(generalised > 0 && per_step[0] > 0);
        assert_eq!(kept.len(), 80);
        assert!(kept.iter().filter(|r| r.qi[0] == "White").all(|r| r.qi[3] == "1"), "common rows stay as they are");
    }
}
