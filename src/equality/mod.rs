//! Ethnicity analysis, the only path by which special-category data leaves the equality
//! table: differentially private counts (charged to a yearly privacy budget and stored, so
//! the same question is answered once) and k-anonymous pseudonymised extracts.

pub mod dp;
pub mod extract;
pub mod groups;
pub mod ledger;
pub mod population;
mod page;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, Date32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::equality::Census;
use crate::config::{Mechanism, RATINGS};
use crate::domain::time::{date_to_days, days_to_date};
use crate::domain::year::AcademicYear;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::privacy::pseudonym::PseudonymKey;
use crate::queries;
use crate::warehouse::Warehouse;
use groups::Groups;

/// The band of a student with no rating on the census date.
pub const NO_RATING: &str = "No rating";
/// The escalation category of a student with no action raised.
pub const NO_ACTION: &str = "none";
/// The escalation category of an action the ladder no longer names.
pub const OTHER_ACTION: &str = "other action";
/// Separates a cell's ethnicity group from its category.
const CELL: char = '\u{1e}';

/// The two tables released per census date.
pub const TABLES: [&str; 2] = ["rating", "escalation"];

/// A census date of the year: as configured, and the day it falls on.
#[derive(Debug, Clone, Serialize)]
pub struct CensusDate {
    /// The configured text (`12-01`, `end:spring`).
    pub configured: String,
    /// The day (`YYYY-MM-DD`).
    pub date: String,
    #[serde(skip)]
    day: i32,
}

/// One student on one census date, as the census query returns it.
#[derive(Debug, Clone)]
pub struct CensusRow {
    /// The student (never leaves this module's callers' memory).
    pub student_id: String,
    /// The academic year their studies started: the cohort whose budget a release spends.
    pub cohort: String,
    /// The census day.
    pub census_day: i32,
    /// Ethnicity group.
    pub group: String,
    /// Department.
    pub department: String,
    /// Level.
    pub level: i64,
    /// Stage.
    pub stage: i64,
    /// Mode of study.
    pub mode: String,
    /// Rating band that day.
    pub rating: String,
    /// Highest escalation action raised by then.
    pub action: String,
}

/// Everything that defines a release; its digest identifies the question.
#[derive(Debug, Clone, Serialize)]
pub struct Question {
    /// Academic year.
    pub academic_year: AcademicYear,
    /// Census dates.
    pub census: Vec<CensusDate>,
    /// Epsilon asked for.
    pub epsilon: f64,
    /// Mechanism.
    pub mechanism: Mechanism,
    /// Neighbouring relation.
    pub neighbours: crate::config::Neighbours,
    /// Delta (Gaussian only).
    pub delta: f64,
    /// Ethnicity groups, in order.
    pub groups: Vec<String>,
    /// SHA-256 of the mapping file.
    pub groups_digest: String,
    /// Rating categories.
    pub bands: Vec<String>,
    /// Escalation categories.
    pub actions: Vec<String>,
}

impl Question {
    /// The question's identity.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(self).expect("a question serialises");
        hex::encode(&Sha256::digest(text.as_bytes())[..16])
    }

    /// The categories of a table.
    pub fn categories(&self, table: &str) -> &[String] {
        if table == "rating" { &self.bands } else { &self.actions }
    }

    /// The OpenDP plan: one table per census date and table kind, cells group x category.
    pub fn plan(&self) -> dp::Plan {
        let mut tables = Vec::new();
        for _ in &self.census {
            for table in TABLES {
                let cells = self
                    .groups
                    .iter()
                    .flat_map(|g| self.categories(table).iter().map(move |c| format!("{g}{CELL}{c}")))
                    .collect();
                tables.push(cells);
            }
        }
        dp::Plan { mechanism: self.mechanism, d_in: self.neighbours.distance(), delta: self.delta, tables }
    }
}

/// What a release produced.
#[derive(Debug)]
pub struct Outcome {
    /// The ledger entry.
    pub release_id: String,
    /// Epsilon charged by this run (0 when a stored release was re-served; what would be
    /// charged, in a dry run).
    pub charged: f64,
    /// Whether the answer is a stored one.
    pub reserved: bool,
    /// Whether nothing was drawn or spent (a dry run).
    pub dry_run: bool,
    /// Whether this run finished a release charged by a run that stopped before storing it.
    pub completed: bool,
    /// What each cohort the release counts has spent after this run.
    pub spent: Vec<(String, ledger::Spent)>,
    /// The cap of each cohort.
    pub cap: f64,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// The rating categories, lowest first, then `No rating`.
pub fn bands() -> Vec<String> {
    RATINGS.iter().map(|r| r.to_string()).chain([NO_RATING.to_string()]).collect()
}

/// The escalation categories: none, every action of the ladder in order, other.
pub fn actions(config: &crate::config::Config) -> Vec<String> {
    let mut out = vec![NO_ACTION.to_string()];
    for rung in &config.review.rungs {
        for action in [Some(&rung.action), rung.beyond_limit_action.as_ref()].into_iter().flatten() {
            if !out.contains(action) {
                out.push(action.clone());
            }
        }
    }
    out.push(OTHER_ACTION.into());
    out
}

/// Builds the equality job's session: the equality table, the census dates, the group
/// mapping and the pseudonym function under the loaded key.
pub async fn session(
    warehouse: &Warehouse,
    key: Arc<PseudonymKey>,
    groups: &Groups,
    census: &[CensusDate],
) -> Result<SessionContext> {
    let ctx = session::build(warehouse, Access::Internal { with_equality: true }).await?;
    let dates = Schema::new(vec![Field::new("census_date", DataType::Date32, false)]);
    let batch = RecordBatch::try_new(
        Arc::new(dates),
        vec![Arc::new(Date32Array::from(census.iter().map(|c| c.day).collect::<Vec<i32>>()))],
    )?;
    register(&ctx, "census_dates", batch)?;
    let mapping = Schema::new(vec![
        Field::new("value", DataType::Utf8, false),
        Field::new("ethnicity_group", DataType::Utf8, false),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(mapping),
        vec![
            Arc::new(groups.entries.iter().map(|(k, _)| Some(k.as_str())).collect::<StringArray>()),
            Arc::new(groups.entries.iter().map(|(_, g)| Some(g.as_str())).collect::<StringArray>()),
        ],
    )?;
    register(&ctx, "ethnicity_groups", batch)?;
    ctx.register_udf(key.udf("equality_pseudonym", crate::privacy::pseudonym::EQUALITY_PURPOSE));
    Ok(ctx)
}

fn register(ctx: &SessionContext, name: &str, batch: RecordBatch) -> Result<()> {
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(|e| Error::query(name, e))?;
    ctx.register_table(name, Arc::new(table)).map_err(|e| Error::query(name, e))?;
    Ok(())
}

/// The configured census dates of an academic year, resolved against the terms held.
pub async fn census_dates(warehouse: &Warehouse, year: AcademicYear) -> Result<Vec<CensusDate>> {
    let config = warehouse.config();
    let ctx = session::build(warehouse, Access::Internal { with_equality: false }).await?;
    let mut out = Vec::new();
    for census in &config.equality.census {
        let text = census.to_string();
        let day = match census {
            Census::Day(month_day) => year.day(*month_day).ok_or_else(|| Error::Config {
                path: config.source.clone().unwrap_or_default(),
                message: format!("equality.census: '{text}' is not a day in {year}"),
            })?,
            Census::EndOf(term) => {
                let params =
                    [("year", ScalarValue::from(year.to_string())), ("term", ScalarValue::from(term.as_str()))];
                let batches = queries::collect(&ctx, "equality/term_end", &params).await?;
                crate::engine::cells::date_at(&batches, "ends_on")?.ok_or_else(|| {
                    Error::Usage(format!(
                        "census date '{text}': no term '{term}' is held for {year}; ingest its term dates or change \
                         equality.census"
                    ))
                })?
            }
        };
        if out.iter().any(|c: &CensusDate| c.day == day) {
            continue;
        }
        out.push(CensusDate { configured: text, date: days_to_date(day).to_string(), day });
    }
    out.sort_by_key(|c| c.day);
    Ok(out)
}

/// Every student on every census date (one row each), from the census query.
pub async fn census_rows(ctx: &SessionContext, year: AcademicYear) -> Result<Vec<CensusRow>> {
    let batches = queries::collect(ctx, "equality/census", &[("year", ScalarValue::from(year.to_string()))]).await?;
    let mut rows = Vec::new();
    for batch in &batches {
        use crate::engine::cells::{days, ints, texts};
        let (ids, days, starts) =
            (texts(batch, "student_id")?, days(batch, "census_date")?, days(batch, "start_date")?);
        let (groups, departments) = (texts(batch, "ethnicity_group")?, texts(batch, "department")?);
        let (modes, ratings, actions) = (texts(batch, "mode")?, texts(batch, "rating")?, texts(batch, "action")?);
        let (levels, stages) = (ints(batch, "level")?, ints(batch, "stage")?);
        let s = |a: &StringArray, r: usize| if a.is_valid(r) { a.value(r).to_string() } else { String::new() };
        for r in 0..batch.num_rows() {
            rows.push(CensusRow {
                student_id: s(&ids, r),
                cohort: AcademicYear::of(days_to_date(starts.value(r))).to_string(),
                census_day: days.value(r),
                group: s(&groups, r),
                department: s(&departments, r),
                level: if levels.is_valid(r) { levels.value(r) } else { 0 },
                stage: if stages.is_valid(r) { stages.value(r) } else { 0 },
                mode: s(&modes, r),
                rating: s(&ratings, r),
                action: s(&actions, r),
            });
        }
    }
    Ok(rows)
}

/// One record per student: their cell in every table of the plan (empty where they are
/// not in that census date's population). The ids are dropped here.
pub fn records(question: &Question, rows: &[CensusRow]) -> Vec<String> {
    let mut by_student: std::collections::BTreeMap<&str, Vec<String>> = std::collections::BTreeMap::new();
    let width = question.census.len() * TABLES.len();
    for row in rows {
        let Some(c) = question.census.iter().position(|c| c.day == row.census_day) else { continue };
        let fields = by_student.entry(row.student_id.as_str()).or_insert_with(|| vec![String::new(); width]);
        let action = if question.actions.contains(&row.action) { row.action.as_str() } else { OTHER_ACTION };
        fields[c * TABLES.len()] = format!("{}{CELL}{}", row.group, row.rating);
        fields[c * TABLES.len() + 1] = format!("{}{CELL}{action}", row.group);
    }
    by_student.into_values().map(|fields| fields.join(&dp::SEP.to_string())).collect()
}

/// The question an equality release for `year` at `epsilon` asks, under the configuration.
pub async fn question(warehouse: &Warehouse, year: AcademicYear, epsilon: f64) -> Result<(Question, Groups)> {
    let config = warehouse.config();
    let groups = Groups::load(warehouse)?;
    let census = census_dates(warehouse, year).await?;
    let q = Question {
        academic_year: year,
        census,
        epsilon,
        mechanism: config.equality.mechanism,
        neighbours: config.equality.neighbours,
        delta: config.equality.delta,
        groups: groups.names.clone(),
        groups_digest: groups.digest.clone(),
        bands: bands(),
        actions: actions(config),
    };
    Ok((q, groups))
}

/// The students a release counts, by equality pseudonym (for the differencing guard).
fn members(key: &PseudonymKey, rows: &[CensusRow]) -> BTreeSet<String> {
    rows.iter().map(|r| key.pseudonym(crate::privacy::pseudonym::EQUALITY_PURPOSE, &r.student_id)).collect()
}

/// Draws the noise of a charged release at its entry's scale, and stores what is
/// published and who was counted; returns the published figures.
async fn draw_and_store(
    warehouse: &Warehouse,
    ctx: &SessionContext,
    question: &Question,
    entry: &ledger::Entry,
    rows: Vec<CensusRow>,
    members: &BTreeSet<String>,
) -> Result<Vec<ledger::Published>> {
    let records = records(question, &rows);
    drop(rows);
    let noisy = question.plan().release(entry.scale, &records)?;
    drop(records);
    let published = page::publish(question, entry.scale, warehouse.config().equality.confidence, &noisy)?;
    drop(noisy);
    // Who was counted first, then the figures: stored figures mean a recorded population,
    // and a run that completes a release stopped between the two records nobody twice.
    let year = question.academic_year;
    if !population::recorded(ctx, &entry.release_id).await? {
        population::record(warehouse, population::Purpose::Release, &entry.release_id, year, members).await?;
    }
    ledger::store(warehouse, &entry.release_id, &published).await?;
    Ok(published)
}

/// Present from a release's charge until its files are written: its id. A run of the same
/// question that finds it (the release was stopped part way) finishes that release instead
/// of charging a new one, even with `--new-release`.
const PENDING_RELEASE: &str = "equality-release.pending";

fn stopped_release(warehouse: &Warehouse) -> Option<String> {
    std::fs::read_to_string(warehouse.root().join(PENDING_RELEASE)).ok().map(|t| t.trim().to_string())
}

fn release_finished(warehouse: &Warehouse) -> Result<()> {
    let path = warehouse.root().join(PENDING_RELEASE);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            crate::warehouse::fault::step();
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// The yearly cap: the warehouse's own configuration's, or the configuration in force if
/// that is lower. A `--config` file cannot raise it.
pub fn cap(warehouse: &Warehouse) -> Result<f64> {
    let own = crate::config::Config::load(&warehouse.root().join(crate::config::CONFIG_FILE))?;
    Ok(own.equality.yearly_epsilon.min(warehouse.config().equality.yearly_epsilon))
}

/// `rollcall equality --year YEAR --epsilon EPS --out DIR`: answers from the stored release
/// if this question was asked before; otherwise charges the ledger (refusing, with nothing
/// spent, what a cohort's budget cannot pay, or a population a few students away from one
/// released before), draws the noise, stores what is published, and writes DIR. With
/// `dry_run`, says what the release would charge and writes and spends nothing.
pub async fn release(
    warehouse: &Warehouse,
    year: AcademicYear,
    epsilon: f64,
    new_release: bool,
    dry_run: bool,
    dir: &Path,
) -> Result<Outcome> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(Error::Usage("epsilon must be a positive number".into()));
    }
    let key = Arc::new(PseudonymKey::load(warehouse)?);
    let (question, groups) = question(warehouse, year, epsilon).await?;
    let today = date_to_days(warehouse.clock().today());
    if let Some(future) = question.census.iter().find(|c| c.day > today) {
        return Err(Error::Refused(format!(
            "census date {} ({}) of {year} has not come yet: a release counts students as they are on its census \
             dates. Nothing was spent",
            future.date, future.configured
        )));
    }
    let digest = question.digest();
    let cap = cap(warehouse)?;
    let delta = warehouse.config().equality.delta;

    let lock = warehouse.lock()?;
    let ctx = session(warehouse, key.clone(), &groups, &question.census).await?;
    let entries = ledger::check(warehouse, &ctx).await?;
    let stopped = stopped_release(warehouse);
    if !dry_run && let Some(entry) = entries.iter().rev().find(|e| e.question == digest) {
        let stored = ledger::stored(&ctx, &entry.release_id).await?;
        // This release was stopped before its files were written: it is finished, not repeated.
        let was_stopped = stopped.as_deref() == Some(entry.release_id.as_str());
        let spent = ledger::spent(&entries, None, delta)?;
        let spent: Vec<(String, ledger::Spent)> =
            entry.cohorts.iter().filter_map(|c| spent.get(c).map(|s| (c.clone(), *s))).collect();
        if stored.is_empty() {
            // Charged, then stopped before its figures were stored: nothing of it was
            // published, so it is drawn now under that charge and never charged again.
            let rows = census_rows(&ctx, year).await?;
            let members = members(&key, &rows);
            let published = draw_and_store(warehouse, &ctx, &question, entry, rows, &members).await?;
            let files = page::write(&question, entry, &published, warehouse.config(), dir, false)?;
            release_finished(warehouse)?;
            drop(lock);
            return Ok(Outcome {
                release_id: entry.release_id.clone(),
                charged: 0.0,
                reserved: false,
                completed: true,
                dry_run: false,
                spent,
                cap,
                files,
            });
        }
        if !new_release || was_stopped {
            let files = page::write(&question, entry, &stored, warehouse.config(), dir, !was_stopped)?;
            if was_stopped {
                release_finished(warehouse)?;
            }
            drop(lock);
            return Ok(Outcome {
                release_id: entry.release_id.clone(),
                charged: 0.0,
                reserved: !was_stopped,
                completed: was_stopped,
                dry_run: false,
                spent,
                cap,
                files,
            });
        }
    }

    let plan = question.plan();
    let calibration = plan.calibrate(epsilon)?;
    if !(calibration.epsilon.is_finite() && calibration.epsilon > 0.0) {
        return Err(Error::Refused(format!(
            "the release would have no finite privacy cost (epsilon {}); nothing was spent",
            calibration.epsilon
        )));
    }
    let rho = plan.rho_at(calibration.scale)?;
    let rows = census_rows(&ctx, year).await?;
    let cohorts: BTreeSet<String> = rows.iter().map(|r| r.cohort.clone()).collect();
    let members = members(&key, &rows);
    let charge = ledger::Charge {
        question: &question,
        digest: &digest,
        calibration,
        rho,
        cohorts: &cohorts,
        students: members.len(),
    };
    let entry = ledger::entry(warehouse, &charge, &entries);
    let before = ledger::spent(&entries, None, delta)?;
    let after = ledger::spent(&entries, Some(&entry), delta)?;
    let spent: Vec<(String, ledger::Spent)> =
        cohorts.iter().filter_map(|c| after.get(c).map(|s| (c.clone(), *s))).collect();
    if let Some((cohort, over)) = spent.iter().find(|(_, s)| s.epsilon > cap + 1e-12) {
        let had = before.get(cohort).copied().unwrap_or_default();
        return Err(Error::Refused(format!(
            "this release needs epsilon {:.4} but the students who started in {cohort} have only {:.4} of their \
             budget of {cap} left ({:.4} spent in {} release(s); with this one {:.4}); nothing was spent. See \
             `rollcall equality budget`",
            calibration.epsilon,
            (cap - had.epsilon).max(0.0),
            had.epsilon,
            had.releases,
            over.epsilon
        )));
    }
    let earlier = population::earlier(&ctx, population::Purpose::Release).await?;
    population::guard("release", &members, &earlier, warehouse.config().equality.min_population_change)?;
    if dry_run {
        return Ok(Outcome {
            release_id: String::new(),
            charged: calibration.epsilon,
            reserved: false,
            completed: false,
            dry_run: true,
            spent,
            cap,
            files: Vec::new(),
        });
    }
    crate::warehouse::write_atomically(
        &warehouse.root().join(PENDING_RELEASE),
        format!("{}\n", entry.release_id).as_bytes(),
    )?;
    ledger::charge(warehouse, &question, &entry).await?;
    // Charged: only now is the noise drawn.
    let published = draw_and_store(warehouse, &ctx, &question, &entry, rows, &members).await?;
    let files = page::write(&question, &entry, &published, warehouse.config(), dir, false)?;
    release_finished(warehouse)?;
    drop(lock);
    Ok(Outcome {
        release_id: entry.release_id,
        charged: calibration.epsilon,
        reserved: false,
        completed: false,
        dry_run: false,
        spent,
        cap,
        files,
    })
}

/// Day number of a `YYYY-MM-DD` census date.
pub fn census_day(date: &str) -> Option<i32> {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok().map(date_to_days)
}
