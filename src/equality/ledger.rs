//! The privacy-budget ledger (`privacy_budget`) and the stored releases
//! (`equality_releases`).
//!
//! A release is charged in its own commit before its noise is drawn, all under the
//! warehouse lock: two jobs racing for the last of a year's budget run one after the
//! other, and the second sees the first's charge and is refused.

use arrow::array::Array;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use sha2::{Digest, Sha256};

use super::{Question, TABLES, dp::Calibration};
use crate::domain::year::AcademicYear;
use crate::engine::cells::{days, floats, ints, texts};
use crate::error::Result;
use crate::queries;
use crate::warehouse::{Warehouse, os_user, row, tables};

/// One ledger entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The release it paid for.
    pub release_id: String,
    /// The question's digest.
    pub question: String,
    /// Epsilon charged.
    pub epsilon: f64,
    /// Noise scale drawn with.
    pub scale: f64,
    /// `laplace` or `gaussian`.
    pub mechanism: String,
}

/// One stored noisy count.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Census day.
    pub census_day: i32,
    /// `rating` or `escalation`.
    pub table: String,
    /// Ethnicity group.
    pub group: String,
    /// Category.
    pub category: String,
    /// The count as drawn (before post-processing).
    pub noisy: i64,
}

/// The ledger entries of an academic year, oldest first.
pub async fn entries(ctx: &SessionContext, year: AcademicYear) -> Result<Vec<Entry>> {
    let batches = queries::collect(ctx, "equality/ledger", &[("year", ScalarValue::from(year.to_string()))]).await?;
    let mut out = Vec::new();
    for batch in &batches {
        let (ids, questions) = (texts(batch, "release_id")?, texts(batch, "question")?);
        let mechanisms = texts(batch, "mechanism")?;
        let (epsilons, scales) = (floats(batch, "epsilon")?, floats(batch, "scale")?);
        for r in 0..batch.num_rows() {
            out.push(Entry {
                release_id: ids.value(r).to_string(),
                question: questions.value(r).to_string(),
                // A missing epsilon would be a damaged ledger: count it as the whole budget.
                epsilon: if epsilons.is_valid(r) { epsilons.value(r) } else { f64::INFINITY },
                scale: scales.value(r),
                mechanism: mechanisms.value(r).to_string(),
            });
        }
    }
    Ok(out)
}

/// The noisy counts stored for a release.
pub async fn stored(ctx: &SessionContext, release_id: &str) -> Result<Vec<Cell>> {
    let batches = queries::collect(ctx, "equality/stored", &[("release", ScalarValue::from(release_id))]).await?;
    let mut out = Vec::new();
    for batch in &batches {
        let days = days(batch, "census_date")?;
        let (tables, groups) = (texts(batch, "table_name")?, texts(batch, "ethnicity_group")?);
        let (categories, counts) = (texts(batch, "category")?, ints(batch, "noisy_count")?);
        for r in 0..batch.num_rows() {
            out.push(Cell {
                census_day: days.value(r),
                table: tables.value(r).to_string(),
                group: groups.value(r).to_string(),
                category: categories.value(r).to_string(),
                noisy: counts.value(r),
            });
        }
    }
    Ok(out)
}

/// Charges a release to the ledger in one commit, before anything is drawn.
pub async fn charge(
    warehouse: &Warehouse,
    question: &Question,
    digest: &str,
    calibration: Calibration,
) -> Result<Entry> {
    let now = warehouse.clock().now();
    let release_id = format!(
        "eq-{}",
        &hex::encode(Sha256::digest(format!(
            "{digest}{}{}",
            now.timestamp_nanos_opt().unwrap_or(0),
            std::process::id()
        )))[..12]
    );
    let mechanism = serde_json::to_value(question.mechanism).expect("serialises");
    let neighbours = serde_json::to_value(question.neighbours).expect("serialises");
    let census = question.census.iter().map(|c| c.date.clone()).collect::<Vec<_>>().join(",");
    let delta = if question.mechanism == crate::config::Mechanism::Gaussian { question.delta } else { 0.0 };
    let charged = vec![
        ("release_id", row::text(&release_id)),
        ("academic_year", row::text(question.academic_year.to_string())),
        ("question", row::text(digest)),
        ("epsilon", row::float(calibration.epsilon)),
        ("delta", row::float(delta)),
        ("mechanism", row::text(mechanism.as_str().unwrap_or_default())),
        ("neighbours", row::text(neighbours.as_str().unwrap_or_default())),
        ("scale", row::float(calibration.scale)),
        ("census_dates", row::text(census)),
        ("tables", row::int((question.census.len() * TABLES.len()) as i64)),
        ("charged_at", row::instant(Some(now.timestamp_micros()))),
        ("charged_by", row::text(os_user())),
    ];
    warehouse.append_named(&tables::PRIVACY_BUDGET, &[charged], "equality release charged").await?;
    Ok(Entry {
        release_id,
        question: digest.to_string(),
        epsilon: calibration.epsilon,
        scale: calibration.scale,
        mechanism: mechanism.as_str().unwrap_or_default().to_string(),
    })
}

/// Stores the noisy counts of a release (tables in the plan's order) in one commit.
pub async fn store(
    warehouse: &Warehouse,
    question: &Question,
    release_id: &str,
    noisy: &[Vec<i64>],
) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();
    let mut tables_drawn = noisy.iter();
    for census in &question.census {
        for table in TABLES {
            let counts = tables_drawn
                .next()
                .ok_or_else(|| crate::error::Error::Internal("fewer noisy tables than planned".into()))?;
            let mut counts = counts.iter();
            for group in &question.groups {
                for category in question.categories(table) {
                    let noisy = *counts
                        .next()
                        .ok_or_else(|| crate::error::Error::Internal("fewer noisy counts than cells".into()))?;
                    cells.push(Cell {
                        census_day: super::census_day(&census.date).unwrap_or_default(),
                        table: table.to_string(),
                        group: group.clone(),
                        category: category.clone(),
                        noisy,
                    });
                }
            }
        }
    }
    let rows: Vec<Vec<row::Cell>> = cells
        .iter()
        .map(|c| {
            vec![
                ("release_id", row::text(release_id)),
                ("census_date", row::day(Some(c.census_day))),
                ("table_name", row::text(&c.table)),
                ("ethnicity_group", row::text(&c.group)),
                ("category", row::text(&c.category)),
                ("noisy_count", row::int(c.noisy)),
            ]
        })
        .collect();
    warehouse.append_named(&tables::EQUALITY_RELEASES, &rows, "equality release stored").await?;
    Ok(cells)
}
