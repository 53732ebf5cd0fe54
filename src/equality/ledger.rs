//! The privacy-budget ledger (`privacy_budget`) and the stored releases
//! (`equality_releases`).
//!
//! A release is charged in its own commit before its noise is drawn, all under the
//! warehouse lock: two jobs racing for the last of a year's budget run one after the
//! other, and the second sees the first's charge and is refused.

use std::sync::Arc;

use arrow::array::{Array, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use sha2::{Digest, Sha256};

use super::{Question, TABLES, dp::Calibration};
use crate::error::Result;
use crate::queries;
use crate::warehouse::{Warehouse, os_user, tables};

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

fn strings(batch: &RecordBatch, i: usize) -> Result<StringArray> {
    let cast = arrow::compute::cast(batch.column(i), &DataType::Utf8)?;
    Ok(cast.as_any().downcast_ref::<StringArray>().expect("cast to Utf8").clone())
}

fn floats(batch: &RecordBatch, i: usize) -> Result<Float64Array> {
    let cast = arrow::compute::cast(batch.column(i), &DataType::Float64)?;
    Ok(cast.as_any().downcast_ref::<Float64Array>().expect("cast to Float64").clone())
}

/// The ledger entries of an academic year, oldest first.
pub async fn entries(ctx: &SessionContext, year: &str) -> Result<Vec<Entry>> {
    let batches = queries::collect(ctx, "equality/ledger", &[("year", ScalarValue::from(year))]).await?;
    let mut out = Vec::new();
    for batch in &batches {
        let (ids, questions, mechanisms) = (strings(batch, 0)?, strings(batch, 1)?, strings(batch, 4)?);
        let (epsilons, scales) = (floats(batch, 2)?, floats(batch, 3)?);
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
        let days = arrow::compute::cast(batch.column(0), &DataType::Date32)?;
        let days = days.as_any().downcast_ref::<Date32Array>().expect("cast to Date32").clone();
        let (tables, groups, categories) = (strings(batch, 1)?, strings(batch, 2)?, strings(batch, 3)?);
        let counts = arrow::compute::cast(batch.column(4), &DataType::Int64)?;
        let counts = counts.as_any().downcast_ref::<Int64Array>().expect("cast to Int64").clone();
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
    let def = tables::PRIVACY_BUDGET;
    let batch = RecordBatch::try_new(
        def.schema(),
        vec![
            Arc::new(StringArray::from(vec![release_id.clone()])),
            Arc::new(StringArray::from(vec![question.academic_year.clone()])),
            Arc::new(StringArray::from(vec![digest.to_string()])),
            Arc::new(Float64Array::from(vec![calibration.epsilon])),
            Arc::new(Float64Array::from(vec![if question.mechanism == crate::config::Mechanism::Gaussian {
                Some(question.delta)
            } else {
                Some(0.0)
            }])),
            Arc::new(StringArray::from(vec![mechanism.as_str().unwrap_or_default().to_string()])),
            Arc::new(StringArray::from(vec![neighbours.as_str().unwrap_or_default().to_string()])),
            Arc::new(Float64Array::from(vec![calibration.scale])),
            Arc::new(StringArray::from(vec![census])),
            Arc::new(Int64Array::from(vec![(question.census.len() * TABLES.len()) as i64])),
            Arc::new(TimestampMicrosecondArray::from(vec![now.timestamp_micros()]).with_timezone("UTC")),
            Arc::new(StringArray::from(vec![os_user()])),
        ],
    )?;
    warehouse.append(&def, vec![batch], "equality release charged").await?;
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
    let def = tables::EQUALITY_RELEASES;
    let batch = RecordBatch::try_new(
        def.schema(),
        vec![
            Arc::new(StringArray::from(vec![release_id.to_string(); cells.len()])),
            Arc::new(cells.iter().map(|c| Some(c.census_day)).collect::<Date32Array>()),
            Arc::new(cells.iter().map(|c| Some(c.table.as_str())).collect::<StringArray>()),
            Arc::new(cells.iter().map(|c| Some(c.group.as_str())).collect::<StringArray>()),
            Arc::new(cells.iter().map(|c| Some(c.category.as_str())).collect::<StringArray>()),
            Arc::new(cells.iter().map(|c| Some(c.noisy)).collect::<Int64Array>()),
        ],
    )?;
    warehouse.append(&def, vec![batch], "equality release stored").await?;
    Ok(cells)
}
