//! `rollcall equality extract`: a pseudonymised record-level extract for approved analysts.
//!
//! Each extract has its own pseudonyms (HMAC-SHA256 under the key with a purpose label
//! unique to the extract), so two extracts cannot be joined with each other or with the
//! warehouse without the key. Everything in a row that an analyst could also read in the
//! warehouse is a quasi-identifier: department, level, stage, mode and, from the ratings,
//! the share of the year's rated days rated Low or below, in bands (never a census date's
//! rating, which would rebuild the differentially private tables). The ethnicity group is
//! the sensitive value. A class (rows sharing every quasi-identifier) is published only
//! when it holds at least k students and at least l distinct ethnicity groups, so no row is
//! unique to a student and no class gives a group away; rows in other classes are
//! generalised step by step and, if still in such a class, suppressed.
//!
//! An extract needs a data-protection approval reference, is logged with it, is limited in
//! number per year, and is refused when the students it would publish differ from those of
//! an earlier extract by fewer than `min_population_change` (a new student's
//! row would be the difference of the two).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::scalar::ScalarValue;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::population::{self, Purpose};
use super::{Groups, census_dates, census_rows, session};
use crate::domain::year::AcademicYear;
use crate::engine::cells::{ints, texts};
use crate::error::{Error, Result};
use crate::privacy::pseudonym::{EQUALITY_PURPOSE, PseudonymKey};
use crate::queries;
use crate::warehouse::row;
use crate::warehouse::{Warehouse, os_user, tables, write_atomically};

/// The quasi-identifiers, in the extract's column order.
pub const QUASI_IDENTIFIERS: [&str; 5] = ["department", "level", "stage", "mode", "low_rated_share"];

/// The generalisation steps, in the order they are tried.
pub const STEPS: [&str; 7] = [
    "stage replaced by *",
    "mode replaced by *",
    "share of days rated Low or below in two bands (under 50%, 50% or more)",
    "level replaced by UG (3-6) or PG (7)",
    "department replaced by *",
    "level replaced by *",
    "share of days rated Low or below replaced by *",
];

/// The band of a student's share of rated days rated Low or below.
pub fn low_share_band(rated_days: i64, low_days: i64) -> &'static str {
    if rated_days <= 0 {
        return "no rated day";
    }
    let share = low_days as f64 / rated_days as f64;
    match share {
        s if s < 0.10 => "under 10%",
        s if s < 0.25 => "10% to 24%",
        s if s < 0.50 => "25% to 49%",
        _ => "50% or more",
    }
}

/// One extract row before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Quasi-identifiers, as [`QUASI_IDENTIFIERS`].
    pub qi: [String; 5],
    /// Ethnicity group (the sensitive value).
    pub group: String,
    /// The extract's pseudonym of the student.
    pub pseudonym: String,
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

/// Classes that may be published: at least `k` rows and `l` distinct groups.
fn publishable(rows: &[Row], k: usize, l: usize) -> HashSet<[String; 5]> {
    let mut classes: HashMap<&[String; 5], (usize, HashSet<&str>)> = HashMap::new();
    for r in rows {
        let class = classes.entry(&r.qi).or_default();
        class.0 += 1;
        class.1.insert(r.group.as_str());
    }
    classes.into_iter().filter(|(_, (n, groups))| *n >= k && groups.len() >= l).map(|(qi, _)| qi.clone()).collect()
}

fn generalise(step: usize, qi: &mut [String; 5]) {
    match step {
        0 => qi[2] = "*".into(),
        1 => qi[3] = "*".into(),
        2 => {
            if ["under 10%", "10% to 24%", "25% to 49%"].contains(&qi[4].as_str()) {
                qi[4] = "under 50%".into();
            }
        }
        3 => {
            qi[1] = match qi[1].parse::<i64>() {
                Ok(7) => "PG".into(),
                Ok(_) => "UG".into(),
                Err(_) => qi[1].clone(),
            }
        }
        4 => qi[0] = "*".into(),
        5 => qi[1] = "*".into(),
        _ => qi[4] = "*".into(),
    }
}

/// Makes `rows` k-anonymous and l-diverse: rows in classes with fewer than `k` rows or
/// fewer than `l` distinct groups are generalised one step at a time; rows still in such
/// classes are removed. Returns the rows kept, the rows changed by each step, and the
/// number generalised and suppressed.
pub fn anonymise(mut rows: Vec<Row>, k: usize, l: usize) -> (Vec<Row>, Vec<usize>, usize, usize) {
    let mut touched = vec![false; rows.len()];
    let mut per_step = Vec::new();
    for step in 0..STEPS.len() {
        let ok = publishable(&rows, k, l);
        let mut changed = 0;
        for (i, row) in rows.iter_mut().enumerate() {
            if !ok.contains(&row.qi) {
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
    let ok = publishable(&rows, k, l);
    let before = rows.len();
    let mut kept = Vec::with_capacity(rows.len());
    let mut generalised = 0;
    for (row, touched) in rows.into_iter().zip(touched) {
        if ok.contains(&row.qi) {
            generalised += usize::from(touched);
            kept.push(row);
        }
    }
    let suppressed = before - kept.len();
    (kept, per_step, generalised, suppressed)
}

/// Refuses an approval reference that is empty or could carry anything but a reference.
fn check_approval(approval: &str) -> Result<()> {
    let fine = |c: char| c.is_ascii_alphanumeric() || "-_./:".contains(c);
    if approval.is_empty() || approval.len() > 64 || !approval.chars().all(fine) {
        return Err(Error::Usage(
            "--approval: give the data-protection approval's reference (letters, digits and - _ . / :, at most 64)"
                .into(),
        ));
    }
    Ok(())
}

/// Writes the extract of `year` to `file` (CSV, owner-only) and its description beside it,
/// under the data-protection approval `approval`.
pub async fn extract(warehouse: &Warehouse, year: AcademicYear, file: &Path, approval: &str) -> Result<Report> {
    check_approval(approval)?;
    let config = &warehouse.config().equality;
    let (k, l) = (config.k, config.l);
    let key = Arc::new(PseudonymKey::load(warehouse)?);
    let groups = Groups::load(warehouse)?;
    let census = census_dates(warehouse, year).await?;
    // Under the lock: the limit and the differencing guard see every extract made before.
    let lock = warehouse.lock()?;
    let ctx = session(warehouse, key.clone(), &groups, &census).await?;
    let year_param = [("year", ScalarValue::from(year.to_string()))];
    let made = queries::collect(&ctx, "equality/extracts_made", &year_param).await?;
    let made: usize = made.iter().map(|b| b.num_rows()).sum();
    if made >= config.extracts_per_year {
        return Err(Error::Refused(format!(
            "{made} extract(s) about {year} have been made, the most equality.extracts_per_year allows; nothing              was written"
        )));
    }

    let census_rows = census_rows(&ctx, year).await?;
    let last = census.last().map(|c| c.date.clone()).unwrap_or_default();
    let until = super::census_day(&last).unwrap_or_default();
    let params = [("year", ScalarValue::from(year.to_string())), ("until", ScalarValue::Date32(Some(until)))];
    let shares = queries::collect(&ctx, "equality/low_share", &params).await?;
    let mut band: HashMap<String, &'static str> = HashMap::new();
    for batch in &shares {
        let (ids, rated, low) = (texts(batch, "student_id")?, ints(batch, "rated_days")?, ints(batch, "low_days")?);
        for r in 0..batch.num_rows() {
            band.insert(ids.value(r).to_string(), low_share_band(rated.value(r), low.value(r)));
        }
    }
    drop(shares);

    let mut students: BTreeMap<String, ([String; 5], String)> = BTreeMap::new();
    for r in &census_rows {
        // The latest census date's attributes describe the student (rows come in date order).
        let share = band.get(&r.student_id).copied().unwrap_or("no rated day").to_string();
        let qi = [r.department.clone(), r.level.to_string(), r.stage.to_string(), r.mode.clone(), share];
        students.insert(r.student_id.clone(), (qi, r.group.clone()));
    }
    drop(census_rows);

    let mut id = [0u8; 8];
    rand::rng().fill_bytes(&mut id);
    let extract_id = hex::encode(id);
    let purpose = format!("extract:{extract_id}");
    // The published pseudonym, and the equality pseudonym the differencing guard keeps.
    let mut members_of: HashMap<String, String> = HashMap::new();
    let rows: Vec<Row> = students
        .into_iter()
        .map(|(id, (qi, group))| {
            let pseudonym = key.pseudonym(&purpose, &id);
            members_of.insert(pseudonym.clone(), key.pseudonym(EQUALITY_PURPOSE, &id));
            Row { qi, group, pseudonym }
        })
        .collect();
    let (mut kept, per_step, generalised, suppressed) = anonymise(rows, k, l);
    kept.sort_by(|a, b| a.pseudonym.cmp(&b.pseudonym));

    let members: BTreeSet<String> = kept.iter().map(|r| members_of[&r.pseudonym].clone()).collect();
    // Against earlier extracts: two exact extracts a few students apart give those students'
    // rows by subtraction (a release's counts are noisy, so they cannot).
    let earlier = population::earlier(&ctx, Purpose::Extract).await?;
    population::guard("extract", &members, &earlier, config.min_population_change)?;

    let fail = |e: csv::Error| Error::io(file, std::io::Error::other(e.to_string()));
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["pseudonym".to_string(), "ethnicity_group".to_string()];
    header.extend(QUASI_IDENTIFIERS.iter().map(|q| q.to_string()));
    out.write_record(&header).map_err(fail)?;
    for row in &kept {
        let mut record = vec![row.pseudonym.clone(), row.group.clone()];
        record.extend(row.qi.iter().cloned());
        out.write_record(&record).map_err(fail)?;
    }
    let bytes = out.into_inner().map_err(|e| Error::io(file, std::io::Error::other(e.to_string())))?;

    let steps: Vec<(String, usize)> = STEPS.iter().map(|s| s.to_string()).zip(per_step).collect();
    let mut about = format!(
        "Pseudonymised equality extract {extract_id} for {year}, made by {} on {} under approval {approval}.\n\
         Pseudonyms are HMAC-SHA256 under the warehouse key with a label unique to this extract: they cannot be \
         joined with any other extract or with the warehouse without the key.\n\
         Quasi-identifiers: {} (low_rated_share: the share of the year's rated days up to {last} rated Low or \
         below, in bands). Every combination published is shared by at least k = {k} students of at least l = {l} \
         ethnicity groups; rarer or less diverse combinations were generalised, in this order:\n",
        os_user(),
        warehouse.clock().now().format("%Y-%m-%d %H:%M UTC"),
        QUASI_IDENTIFIERS.join(", "),
    );
    for (step, n) in &steps {
        about.push_str(&format!("  - {step}: {n} rows\n"));
    }
    about.push_str(&format!(
        "{generalised} rows were generalised; {suppressed} rows still in combinations rarer than {k} or with fewer \
         than {l} groups were removed.\n\
         {} rows were written. Use only for the approved equality analysis; do not attempt to identify anyone.\n",
        kept.len(),
    ));

    // Logged first: a failed write leaves a logged extract that nobody received, never an
    // unlogged file.
    let def = tables::EQUALITY_EXTRACTS;
    let record = vec![
        ("extract_id", row::text(extract_id.clone())),
        ("academic_year", row::text(year.to_string())),
        ("k", row::int(k as i64)),
        ("rows", row::int(kept.len() as i64)),
        ("generalised", row::int(generalised as i64)),
        ("suppressed", row::int(suppressed as i64)),
        ("sha256", row::text(hex::encode(Sha256::digest(&bytes)))),
        ("made_at", row::instant(Some(warehouse.clock().now_micros()))),
        ("made_by", row::text(os_user())),
        ("approval", row::text(approval)),
    ];
    warehouse.append_named(&def, &[record], "equality extract made").await?;
    population::record(warehouse, Purpose::Extract, &extract_id, year, &members).await?;
    drop(lock);
    write_private(file, &bytes)?;
    let about_path = PathBuf::from(format!("{}.about.txt", file.display()));
    write_atomically(&about_path, about.as_bytes())?;
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

    fn row(group: &str, dept: &str, level: i64, stage: i64, mode: &str, share: &str) -> Row {
        Row {
            qi: [dept.into(), level.to_string(), stage.to_string(), mode.into(), share.into()],
            group: group.into(),
            pseudonym: String::new(),
        }
    }

    #[test]
    fn every_published_class_has_k_rows_and_l_groups() {
        let mut rows = Vec::new();
        for i in 0..40 {
            rows.push(row(if i % 4 == 0 { "Asian" } else { "White" }, "Physics", 4, 1, "full-time", "under 10%"));
            let share = ["under 10%", "10% to 24%", "50% or more"][i as usize % 3];
            rows.push(row(
                "Asian",
                if i % 2 == 0 { "Physics" } else { "History" },
                4 + i % 3,
                1 + i % 3,
                "full-time",
                share,
            ));
        }
        rows.push(row("Black", "Law", 7, 1, "part-time", "under 10%"));
        // Twelve students of one group in a class of their own: k holds, l does not.
        for _ in 0..12 {
            rows.push(row("Mixed", "Music", 5, 2, "full-time", "under 10%"));
        }
        let (kept, per_step, generalised, suppressed) = anonymise(rows, 10, 2);
        let mut classes: HashMap<&[String; 5], (usize, HashSet<&str>)> = HashMap::new();
        for r in &kept {
            let class = classes.entry(&r.qi).or_default();
            class.0 += 1;
            class.1.insert(&r.group);
        }
        assert!(classes.values().all(|(n, g)| *n >= 10 && g.len() >= 2), "{classes:?}");
        assert!(!kept.iter().any(|r| r.qi[0] == "Music"), "the all-Mixed class is not published as it was");
        assert!(generalised > 0 && per_step[0] > 0);
        assert_eq!(kept.len() + suppressed, 93);
        assert!(
            kept.iter().filter(|r| r.qi[0] == "Physics" && r.qi[1] == "4" && r.qi[2] == "1").count() >= 40,
            "the common, diverse class stays as it is"
        );
    }

    #[test]
    fn shares_fall_in_bands() {
        assert_eq!(low_share_band(0, 0), "no rated day");
        assert_eq!(low_share_band(100, 9), "under 10%");
        assert_eq!(low_share_band(100, 10), "10% to 24%");
        assert_eq!(low_share_band(100, 49), "25% to 49%");
        assert_eq!(low_share_band(100, 50), "50% or more");
    }
}
