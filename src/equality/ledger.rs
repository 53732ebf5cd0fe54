//! The privacy-budget ledger (`privacy_budget`) and the stored releases
//! (`equality_releases`).
//!
//! A release is charged in its own commit before its noise is drawn, all under the
//! warehouse lock: two jobs racing for the last of a budget run one after the other, and
//! the second sees the first's charge and is refused.
//!
//! Budgets belong to students, not to year labels: a release is charged to the budget of
//! every cohort it counts (the academic year a student's studies started), so asking about
//! the same students under another year's label spends the same budget. Laplace releases
//! compose by adding epsilon; Gaussian releases by adding zero-concentrated DP's rho, which
//! is converted to epsilon at the configured delta (OpenDP's conversion) for the cap.
//!
//! The ledger is tamper-evident: each entry carries its sequence number, the previous
//! entry's hash, the audit trail's head when it was charged and its own hash; and each
//! charge is written into the audit trail at once (`equality charge`, with the entry's
//! hash). A ledger version removed or rewritten (spend set to zero, an entry deleted, the
//! table deleted and recreated) no longer matches the audit trail, and both `audit verify`
//! and the next release say so.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::Array;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Question, TABLES, dp::Calibration};
use crate::compliance::audit;
use crate::config::Mechanism;
use crate::engine::cells::{days, floats, ints, texts};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::{Warehouse, os_user, row, tables};

/// The audit command name of a charge.
pub const CHARGE: &str = "equality charge";

/// One ledger entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// 1, 2, 3, ... in the order charged.
    pub seq: i64,
    /// The release it paid for.
    pub release_id: String,
    /// The year the release was labelled with.
    pub academic_year: String,
    /// The question's digest.
    pub question: String,
    /// The cohorts (academic years of starting) it was charged to.
    pub cohorts: Vec<String>,
    /// Students counted.
    pub students: i64,
    /// Epsilon of the release on its own.
    pub epsilon: f64,
    /// Zero-concentrated DP rho (Gaussian releases; 0 for Laplace).
    pub rho: f64,
    /// Delta of the release's (epsilon, delta) (Gaussian; 0 for Laplace).
    pub delta: f64,
    /// `laplace` or `gaussian`.
    pub mechanism: String,
    /// Noise scale drawn with.
    pub scale: f64,
    /// The audit trail's head (`seq hash`) when charged.
    pub audit_head: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub entry_hash: String,
}

impl Entry {
    /// SHA-256 over every field but the hash itself (floats by their bits).
    fn compute_hash(&self) -> String {
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n{:016x}\n{:016x}\n{:016x}\n{}\n{:016x}\n{}\n{}",
            self.seq,
            self.release_id,
            self.academic_year,
            self.question,
            self.cohorts.join(","),
            self.students,
            self.epsilon.to_bits(),
            self.rho.to_bits(),
            self.delta.to_bits(),
            self.mechanism,
            self.scale.to_bits(),
            self.audit_head,
            self.prev_hash,
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// One published figure of a release, as stored for re-serving.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// Census day.
    pub census_day: i32,
    /// `rating` or `escalation`.
    pub table: String,
    /// Ethnicity group (or all groups).
    pub group: String,
    /// Category (or all).
    pub category: String,
    /// Rounded count.
    pub count: i64,
    /// Interval, rounded outwards.
    pub low: i64,
    /// Interval, rounded outwards.
    pub high: i64,
    /// Percentage of the group, as published.
    pub percent: String,
}

/// Every ledger entry, in the order charged.
pub async fn entries(ctx: &SessionContext) -> Result<Vec<Entry>> {
    let batches = queries::collect(ctx, "equality/ledger", &[]).await?;
    let mut out = Vec::new();
    for batch in &batches {
        let (seqs, students) = (ints(batch, "seq")?, ints(batch, "students")?);
        let (ids, years, questions) =
            (texts(batch, "release_id")?, texts(batch, "academic_year")?, texts(batch, "question")?);
        let (cohorts, mechanisms) = (texts(batch, "cohorts")?, texts(batch, "mechanism")?);
        let (epsilons, rhos, deltas, scales) =
            (floats(batch, "epsilon")?, floats(batch, "rho")?, floats(batch, "delta")?, floats(batch, "scale")?);
        let (heads, prevs, hashes) =
            (texts(batch, "audit_head")?, texts(batch, "prev_hash")?, texts(batch, "entry_hash")?);
        let text = |a: &arrow::array::StringArray, r: usize| {
            if a.is_valid(r) { a.value(r).to_string() } else { String::new() }
        };
        // A missing number would be a damaged ledger: count it as the whole budget.
        let float = |a: &arrow::array::Float64Array, r: usize| if a.is_valid(r) { a.value(r) } else { f64::INFINITY };
        for r in 0..batch.num_rows() {
            out.push(Entry {
                seq: if seqs.is_valid(r) { seqs.value(r) } else { -1 },
                release_id: text(&ids, r),
                academic_year: text(&years, r),
                question: text(&questions, r),
                cohorts: text(&cohorts, r).split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
                students: if students.is_valid(r) { students.value(r) } else { 0 },
                epsilon: float(&epsilons, r),
                rho: float(&rhos, r),
                delta: float(&deltas, r),
                mechanism: text(&mechanisms, r),
                scale: float(&scales, r),
                audit_head: text(&heads, r),
                prev_hash: text(&prevs, r),
                entry_hash: text(&hashes, r),
            });
        }
    }
    Ok(out)
}

/// What one cohort has spent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spent {
    /// Releases charged to it.
    pub releases: usize,
    /// Epsilon of its Laplace releases, added up.
    pub laplace_epsilon: f64,
    /// Rho of its Gaussian releases, added up.
    pub rho: f64,
    /// Everything converted to epsilon (at `delta` for the Gaussian part).
    pub epsilon: f64,
    /// The delta of that conversion (0 without Gaussian releases).
    pub delta: f64,
}

/// What each cohort has spent, with `extra` (a release about to be charged) added.
pub fn spent(entries: &[Entry], extra: Option<&Entry>, delta: f64) -> Result<BTreeMap<String, Spent>> {
    let mut out: BTreeMap<String, Spent> = BTreeMap::new();
    for e in entries.iter().chain(extra) {
        for cohort in &e.cohorts {
            let s = out.entry(cohort.clone()).or_default();
            s.releases += 1;
            if e.mechanism == "gaussian" {
                s.rho += e.rho;
            } else {
                s.laplace_epsilon += e.epsilon;
            }
        }
    }
    for s in out.values_mut() {
        let gaussian = if s.rho > 0.0 { super::dp::zcdp_epsilon(s.rho, delta)? } else { 0.0 };
        s.epsilon = s.laplace_epsilon + gaussian;
        s.delta = if s.rho > 0.0 { delta } else { 0.0 };
    }
    Ok(out)
}

/// The audit trail's charge records: release id -> (ledger seq, entry hash).
fn audited_charges(root: &Path) -> Result<BTreeMap<String, (i64, String)>> {
    let mut out = BTreeMap::new();
    for entry in audit::entries(root)? {
        if entry.command != CHARGE {
            continue;
        }
        let d = &entry.details;
        if let (Some(Value::String(id)), Some(seq), Some(Value::String(hash))) =
            (d.get("release_id"), d.get("ledger_seq").and_then(Value::as_i64), d.get("ledger_entry"))
        {
            out.insert(id.clone(), (seq, hash.clone()));
        }
    }
    Ok(out)
}

/// Every way the ledger disagrees with itself or with the audit trail, each as a sentence.
pub fn problems(root: &Path, entries: &[Entry]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut prev = "0".repeat(64);
    for (i, e) in entries.iter().enumerate() {
        let expected = i as i64 + 1;
        if e.seq != expected {
            found.push(format!("privacy_budget: entry {} where {expected} was expected (entries removed)", e.seq));
        }
        if e.prev_hash != prev {
            found.push(format!("privacy_budget: entry {} does not follow the entry before it (chain broken)", e.seq));
        }
        if e.compute_hash() != e.entry_hash {
            found.push(format!("privacy_budget: entry {} ({}) was changed after it was charged", e.seq, e.release_id));
        }
        prev = e.entry_hash.clone();
    }
    let audited = audited_charges(root)?;
    let held: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.release_id.as_str(), e)).collect();
    for (id, (seq, hash)) in &audited {
        match held.get(id.as_str()) {
            None => found.push(format!(
                "privacy_budget: the audit trail records charge {seq} ({id}), which the ledger no longer holds (a \
                 ledger version was removed or the ledger recreated)"
            )),
            Some(e) if &e.entry_hash != hash => found.push(format!(
                "privacy_budget: entry {} ({id}) differs from the charge the audit trail recorded",
                e.seq
            )),
            Some(_) => {}
        }
    }
    for e in entries {
        // The newest entry may lack its record only if nothing was audited since it was
        // charged (a job stopped between the two writes); `reconcile` records it.
        let newest = Some(e) == entries.last();
        let excused = newest && e.audit_head == audit_head(root);
        if !audited.contains_key(&e.release_id) && !excused {
            found.push(format!(
                "privacy_budget: entry {} ({}) has no charge record in the audit trail",
                e.seq, e.release_id
            ));
        }
    }
    Ok(found)
}

/// The audit trail's head as `seq hash` (empty before any entry).
pub fn audit_head(root: &Path) -> String {
    std::fs::read_to_string(root.join(audit::HEAD_FILE)).map(|t| t.trim().to_string()).unwrap_or_default()
}

/// Refuses to go on with a ledger that disagrees with itself or the audit trail; records
/// the charge of a job stopped between its ledger commit and its audit record.
pub async fn check(warehouse: &Warehouse, ctx: &SessionContext) -> Result<Vec<Entry>> {
    let entries = entries(ctx).await?;
    let found = problems(warehouse.root(), &entries)?;
    if !found.is_empty() {
        return Err(Error::Refused(format!(
            "the privacy-budget ledger does not match the audit trail, so what has been spent cannot be trusted; \
             nothing was released. Restore the privacy_budget table from a backup, or ask the data-protection \
             officer ({})",
            found.join("; ")
        )));
    }
    if let Some(last) = entries.last()
        && !audited_charges(warehouse.root())?.contains_key(&last.release_id)
    {
        record_charge(warehouse.root(), last)?;
    }
    Ok(entries)
}

/// Writes a charge into the audit trail.
fn record_charge(root: &Path, entry: &Entry) -> Result<()> {
    let details = serde_json::Map::from_iter([
        ("release_id".to_string(), Value::from(entry.release_id.clone())),
        ("ledger_seq".to_string(), Value::from(entry.seq)),
        ("ledger_entry".to_string(), Value::from(entry.entry_hash.clone())),
        ("epsilon".to_string(), Value::from(entry.epsilon)),
        ("rho".to_string(), Value::from(entry.rho)),
        ("cohorts".to_string(), Value::from(entry.cohorts.join(","))),
    ]);
    audit::append(root, CHARGE, "ok", details, vec![])?;
    Ok(())
}

/// Whether the audit trail records charges (so a missing ledger must not be recreated).
pub fn charges_audited(root: &Path) -> Result<usize> {
    Ok(audited_charges(root)?.len())
}

/// The stored figures of a release.
pub async fn stored(ctx: &SessionContext, release_id: &str) -> Result<Vec<Published>> {
    let batches = queries::collect(ctx, "equality/stored", &[("release", ScalarValue::from(release_id))]).await?;
    let mut out = Vec::new();
    for batch in &batches {
        let days = days(batch, "census_date")?;
        let (tables, groups) = (texts(batch, "table_name")?, texts(batch, "ethnicity_group")?);
        let (categories, percents) = (texts(batch, "category")?, texts(batch, "percent_of_group")?);
        let (counts, lows, highs) = (ints(batch, "count")?, ints(batch, "low")?, ints(batch, "high")?);
        for r in 0..batch.num_rows() {
            out.push(Published {
                census_day: days.value(r),
                table: tables.value(r).to_string(),
                group: groups.value(r).to_string(),
                category: categories.value(r).to_string(),
                count: counts.value(r),
                low: lows.value(r),
                high: highs.value(r),
                percent: percents.value(r).to_string(),
            });
        }
    }
    Ok(out)
}

/// A charge to be made: the release, the students it counts and their cohorts.
#[derive(Debug, Clone)]
pub struct Charge<'a> {
    /// The question.
    pub question: &'a Question,
    /// Its digest.
    pub digest: &'a str,
    /// The calibration.
    pub calibration: Calibration,
    /// Rho (Gaussian; 0 for Laplace).
    pub rho: f64,
    /// Cohorts counted.
    pub cohorts: &'a BTreeSet<String>,
    /// Students counted.
    pub students: usize,
}

/// The entry a charge would make after `entries` (not yet written).
pub fn entry(warehouse: &Warehouse, charge: &Charge, entries: &[Entry]) -> Entry {
    let now = warehouse.clock().now();
    let release_id = format!(
        "eq-{}",
        &hex::encode(Sha256::digest(format!(
            "{}{}{}",
            charge.digest,
            now.timestamp_nanos_opt().unwrap_or(0),
            std::process::id()
        )))[..12]
    );
    let question = charge.question;
    let mechanism = serde_json::to_value(question.mechanism).expect("serialises");
    let gaussian = question.mechanism == Mechanism::Gaussian;
    let mut entry = Entry {
        seq: entries.len() as i64 + 1,
        release_id,
        academic_year: question.academic_year.to_string(),
        question: charge.digest.to_string(),
        cohorts: charge.cohorts.iter().cloned().collect(),
        students: charge.students as i64,
        epsilon: charge.calibration.epsilon,
        rho: if gaussian { charge.rho } else { 0.0 },
        delta: if gaussian { question.delta } else { 0.0 },
        mechanism: mechanism.as_str().unwrap_or_default().to_string(),
        scale: charge.calibration.scale,
        audit_head: audit_head(warehouse.root()),
        prev_hash: entries.last().map(|e| e.entry_hash.clone()).unwrap_or_else(|| "0".repeat(64)),
        entry_hash: String::new(),
    };
    entry.entry_hash = entry.compute_hash();
    entry
}

/// Charges a release to the ledger in one commit, before anything is drawn, and records
/// the charge in the audit trail at once.
pub async fn charge(warehouse: &Warehouse, question: &Question, entry: &Entry) -> Result<()> {
    let neighbours = serde_json::to_value(question.neighbours).expect("serialises");
    let census = question.census.iter().map(|c| c.date.clone()).collect::<Vec<_>>().join(",");
    let charged = vec![
        ("seq", row::int(entry.seq)),
        ("release_id", row::text(&entry.release_id)),
        ("academic_year", row::text(&entry.academic_year)),
        ("question", row::text(&entry.question)),
        ("cohorts", row::text(entry.cohorts.join(","))),
        ("students", row::int(entry.students)),
        ("epsilon", row::float(entry.epsilon)),
        ("rho", row::float(entry.rho)),
        ("delta", row::float(entry.delta)),
        ("mechanism", row::text(&entry.mechanism)),
        ("neighbours", row::text(neighbours.as_str().unwrap_or_default())),
        ("scale", row::float(entry.scale)),
        ("census_dates", row::text(census)),
        ("tables", row::int((question.census.len() * TABLES.len()) as i64)),
        ("charged_at", row::instant(Some(warehouse.clock().now_micros()))),
        ("charged_by", row::text(os_user())),
        ("audit_head", row::text(&entry.audit_head)),
        ("prev_hash", row::text(&entry.prev_hash)),
        ("entry_hash", row::text(&entry.entry_hash)),
    ];
    warehouse.append_named(&tables::PRIVACY_BUDGET, &[charged], "equality release charged").await?;
    record_charge(warehouse.root(), entry)
}

/// Stores the published figures of a release in one commit.
pub async fn store(warehouse: &Warehouse, release_id: &str, published: &[Published]) -> Result<()> {
    let rows: Vec<Vec<row::Cell>> = published
        .iter()
        .map(|p| {
            vec![
                ("release_id", row::text(release_id)),
                ("census_date", row::day(Some(p.census_day))),
                ("table_name", row::text(&p.table)),
                ("ethnicity_group", row::text(&p.group)),
                ("category", row::text(&p.category)),
                ("count", row::int(p.count)),
                ("low", row::int(p.low)),
                ("high", row::int(p.high)),
                ("percent_of_group", row::text(&p.percent)),
            ]
        })
        .collect();
    warehouse.append_named(&tables::EQUALITY_RELEASES, &rows, "equality release stored").await?;
    Ok(())
}

/// What `audit verify` found over the whole warehouse.
#[derive(Debug, Clone, Default)]
pub struct WarehouseVerified {
    /// The trail itself: entries, seals, problems and notices (with the anchors' and the
    /// ledger's problems added).
    pub verified: crate::compliance::audit::Verified,
    /// Table commits anchoring the trail that were checked.
    pub anchors: usize,
    /// Privacy-budget charges checked against the trail.
    pub ledger_entries: usize,
}

/// Checks the audit trail, every table's anchors of it, and this ledger against it (what
/// `rollcall audit verify` and the console's data-protection page run).
pub async fn verify_warehouse(warehouse: &crate::warehouse::Warehouse) -> Result<WarehouseVerified> {
    let mut verified = crate::compliance::audit::verify(warehouse.root())?;
    // Each table's commits recorded the trail's head as it stood: a trail deleted,
    // cut back or re-hashed contradicts them.
    let mut anchors = Vec::new();
    for def in crate::warehouse::tables::ALL {
        if warehouse.table_dir(def.name).join("_delta_log").is_dir() {
            for (version, head) in warehouse.audit_anchors(def).await? {
                anchors.push(crate::compliance::audit::Anchor { table: def.name.to_string(), version, head });
            }
        }
    }
    verified.problems.extend(crate::compliance::audit::check_anchors(warehouse.root(), &anchors)?);
    // The privacy-budget ledger is checked against the charges the trail recorded.
    let ledger = warehouse.table_dir(crate::warehouse::tables::PRIVACY_BUDGET.name);
    let charges = charges_audited(warehouse.root())?;
    let entries = if ledger.join("_delta_log").is_dir() {
        let ctx =
            crate::engine::session::build(warehouse, crate::engine::session::Access::Internal { with_equality: false })
                .await?;
        let entries = entries(&ctx).await?;
        verified.problems.extend(problems(warehouse.root(), &entries)?);
        entries.len()
    } else {
        if charges > 0 {
            verified
                .problems
                .push(format!("privacy_budget: the ledger is missing but the audit trail records {charges} charge(s)"));
        }
        0
    };
    Ok(WarehouseVerified { anchors: anchors.len(), verified, ledger_entries: entries })
}
