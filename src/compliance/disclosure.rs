//! The disclosure log and students' consents.
//!
//! Every return line sent (`return ukvi --record`, `return funder --record`) and every
//! ad-hoc disclosure (`rollcall disclose`) is logged: recipient, legal basis, fields sent,
//! date. An ad-hoc disclosure must rest on a legal basis from `[disclosure] legal_bases`
//! or on an active consent (`rollcall consent`) covering that recipient, those fields and
//! that date; anything else is refused and nothing is logged.

use std::sync::Arc;

use arrow::array::{Array, Date32Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::DataType;
use chrono::NaiveDate;
use datafusion::prelude::{col, lit};
use rand::RngCore;

use crate::domain::time::date_to_days;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::warehouse::row;
use crate::warehouse::{Warehouse, os_user, tables};

/// A fresh random id (hex).
pub fn new_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// One disclosure to log.
#[derive(Debug, Clone)]
pub struct Disclosure {
    /// Who it concerns.
    pub student_id: String,
    /// Who received it.
    pub recipient: String,
    /// The legal basis, or `consent`.
    pub legal_basis: String,
    /// Why.
    pub purpose: String,
    /// Fields sent, comma-separated.
    pub fields: String,
    /// When.
    pub disclosed_on: NaiveDate,
    /// `return ukvi`, `return funder`, `ad hoc`.
    pub source: String,
    /// The consent relied on.
    pub consent_id: Option<String>,
}

/// Appends disclosures to the log in one commit; returns their ids. The caller holds the
/// warehouse lock.
pub async fn log(warehouse: &Warehouse, items: &[Disclosure]) -> Result<Vec<String>> {
    if items.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = items.iter().map(|_| format!("D-{}", &new_id()[..12])).collect();
    let text = |f: &dyn Fn(&Disclosure) -> Option<String>| Arc::new(items.iter().map(f).collect::<StringArray>());
    let n = items.len();
    let def = tables::DISCLOSURES;
    let batch = RecordBatch::try_new(
        def.schema(),
        vec![
            Arc::new(StringArray::from(ids.clone())),
            text(&|d| Some(d.student_id.clone())),
            text(&|d| Some(d.recipient.clone())),
            text(&|d| Some(d.legal_basis.clone())),
            text(&|d| Some(d.purpose.clone())),
            text(&|d| Some(d.fields.clone())),
            Arc::new(Date32Array::from(items.iter().map(|d| date_to_days(d.disclosed_on)).collect::<Vec<_>>())),
            text(&|d| Some(d.source.clone())),
            text(&|d| d.consent_id.clone()),
            Arc::new(StringArray::from(vec![os_user(); n])),
            Arc::new(TimestampMicrosecondArray::from(vec![warehouse.clock().now_micros(); n]).with_timezone("UTC")),
        ],
    )?;
    warehouse.append(&def, vec![batch], "disclosures logged").await?;
    crate::compliance::audit::note("disclosures_logged", n);
    Ok(ids)
}

/// Logs every line of a return as a disclosure of its columns to `recipient`.
pub async fn log_return(
    warehouse: &Warehouse,
    rows: &[RecordBatch],
    recipient: &str,
    purpose: &str,
    source: &str,
    on: NaiveDate,
) -> Result<usize> {
    let mut items = Vec::new();
    for batch in rows {
        let fields: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        let Some(ids) = batch.column_by_name("student_id") else { continue };
        let ids = arrow::compute::cast(ids, &DataType::Utf8)?;
        let ids = ids.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        for r in 0..batch.num_rows() {
            if ids.is_valid(r) {
                items.push(Disclosure {
                    student_id: ids.value(r).to_string(),
                    recipient: recipient.to_string(),
                    legal_basis: "legal-obligation".into(),
                    purpose: purpose.to_string(),
                    fields: fields.join(","),
                    disclosed_on: on,
                    source: source.to_string(),
                    consent_id: None,
                });
            }
        }
    }
    log(warehouse, &items).await?;
    Ok(items.len())
}

/// Records an ad-hoc disclosure after checking its basis; returns its id.
pub async fn disclose(warehouse: &Warehouse, mut item: Disclosure) -> Result<String> {
    let bases = &warehouse.config().disclosure.legal_bases;
    let _lock = warehouse.lock()?;
    if !student_exists(warehouse, &item.student_id).await? {
        return Err(Error::Usage("no student with that id is held".into()));
    }
    if item.legal_basis == "consent" {
        let consent = active_consent(warehouse, &item).await?.ok_or_else(|| {
            Error::Refused(
                "no active consent covers this recipient, these fields and this date; nothing was logged".into(),
            )
        })?;
        item.consent_id = Some(consent);
    } else if !bases.contains(&item.legal_basis) {
        return Err(Error::Refused(format!(
            "'{}' is not a legal basis this university discloses on (configured: {}, or consent); nothing was logged",
            item.legal_basis,
            bases.join(", ")
        )));
    }
    let ids = log(warehouse, std::slice::from_ref(&item)).await?;
    crate::compliance::audit::note("disclosure_id", ids[0].clone());
    Ok(ids[0].clone())
}

async fn student_exists(warehouse: &Warehouse, student_id: &str) -> Result<bool> {
    let ctx = session::build(warehouse, Access::Internal { with_equality: false }).await?;
    let n = ctx
        .table("students")
        .await
        .map_err(|e| Error::query("students", e))?
        .filter(col("student_id").eq(lit(student_id)))
        .map_err(|e| Error::query("students", e))?
        .count()
        .await
        .map_err(|e| Error::query("students", e))?;
    Ok(n > 0)
}

/// The id of an active consent covering a disclosure, if any.
async fn active_consent(warehouse: &Warehouse, item: &Disclosure) -> Result<Option<String>> {
    let ctx = session::build(warehouse, Access::Internal { with_equality: false }).await?;
    let day = lit(datafusion::scalar::ScalarValue::Date32(Some(date_to_days(item.disclosed_on))));
    let batches = ctx
        .table("consents")
        .await
        .map_err(|e| Error::query("consents", e))?
        .filter(
            col("student_id")
                .eq(lit(item.student_id.as_str()))
                .and(col("recipient").eq(lit(item.recipient.as_str())))
                .and(col("valid_from").lt_eq(day.clone()))
                .and(col("valid_to").gt_eq(day.clone()))
                .and(col("withdrawn_on").is_null().or(col("withdrawn_on").gt(day))),
        )
        .map_err(|e| Error::query("consents", e))?
        .collect()
        .await
        .map_err(|e| Error::query("consents", e))?;
    let wanted: Vec<&str> = item.fields.split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
    for batch in &batches {
        let ids = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let ids = ids.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        let fields = arrow::compute::cast(batch.column(3), &DataType::Utf8)?;
        let fields = fields.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        for r in 0..batch.num_rows() {
            let allowed: Vec<&str> = fields.value(r).split(',').map(str::trim).collect();
            if wanted.iter().all(|f| allowed.contains(f)) {
                return Ok(Some(ids.value(r).to_string()));
            }
        }
    }
    Ok(None)
}

/// A student's written authorisation.
#[derive(Debug, Clone)]
pub struct Consent {
    /// Who gave it.
    pub student_id: String,
    /// To whom their data may go.
    pub recipient: String,
    /// Which fields, comma-separated.
    pub fields: String,
    /// From.
    pub valid_from: NaiveDate,
    /// To (inclusive).
    pub valid_to: NaiveDate,
    /// The signed form's reference.
    pub reference: Option<String>,
}

/// Records a consent; returns its id.
pub async fn consent(warehouse: &Warehouse, c: &Consent) -> Result<String> {
    if c.valid_to < c.valid_from {
        return Err(Error::Usage("a consent cannot end before it starts".into()));
    }
    if c.fields.split(',').all(|f| f.trim().is_empty()) {
        return Err(Error::Usage("a consent must name at least one field".into()));
    }
    let _lock = warehouse.lock()?;
    if !student_exists(warehouse, &c.student_id).await? {
        return Err(Error::Usage("no student with that id is held".into()));
    }
    let id = format!("C-{}", &new_id()[..12]);
    let def = tables::CONSENTS;
    let mut consent = vec![
        ("consent_id", row::text(id.clone())),
        ("student_id", row::text(c.student_id.clone())),
        ("recipient", row::text(c.recipient.clone())),
        ("fields", row::text(c.fields.clone())),
        ("valid_from", row::day(Some(date_to_days(c.valid_from)))),
        ("valid_to", row::day(Some(date_to_days(c.valid_to)))),
        ("recorded_by", row::text(os_user())),
        ("recorded_at", row::instant(Some(warehouse.clock().now_micros()))),
    ];
    consent.extend(c.reference.clone().map(|r| ("reference", row::text(r))));
    warehouse.append_named(&def, &[consent], "consent recorded").await?;
    crate::compliance::audit::note("consent_id", id.clone());
    Ok(id)
}

/// Withdraws a consent from a day on.
pub async fn withdraw(warehouse: &Warehouse, consent_id: &str, on: NaiveDate) -> Result<()> {
    let _lock = warehouse.lock()?;
    let def = tables::CONSENTS;
    let predicate = col("consent_id").eq(lit(consent_id)).and(col("withdrawn_on").is_null());
    let withdrawn = lit(datafusion::scalar::ScalarValue::Date32(Some(date_to_days(on))));
    if warehouse.update_where(&def, predicate, "withdrawn_on", withdrawn).await? == 0 {
        return Err(Error::Usage(format!("no consent {consent_id} is in force")));
    }
    crate::compliance::audit::note("consent_id", consent_id.to_string());
    Ok(())
}
