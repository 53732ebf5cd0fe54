//! The disclosure log and students' consents.
//!
//! Every return line sent (`return ukvi --record`, `return funder --record`) and every
//! ad-hoc disclosure (`rollcall disclose`) is logged: recipient, legal basis, fields sent,
//! date. An ad-hoc disclosure must rest on a legal basis from `[disclosure] legal_bases`
//! or on an active consent (`rollcall consent`) covering that recipient, those fields and
//! that date; anything else is refused and nothing is logged.

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use chrono::NaiveDate;
use datafusion::prelude::{col, lit};
use datafusion::scalar::ScalarValue;
use rand::RngCore;

use crate::domain::time::date_to_days;
use crate::engine::cells::{int_at, texts};
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
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

/// A new disclosure id.
pub fn disclosure_id() -> String {
    format!("D-{}", &new_id()[..12])
}

impl Disclosure {
    /// The disclosure as a row of the log, recorded by `recorded_by` at `at`.
    pub fn cells(&self, id: &str, recorded_by: &str, at: i64) -> Vec<row::Cell> {
        vec![
            ("disclosure_id", row::text(id)),
            ("student_id", row::text(&self.student_id)),
            ("recipient", row::text(&self.recipient)),
            ("legal_basis", row::text(&self.legal_basis)),
            ("purpose", row::text(&self.purpose)),
            ("fields", row::text(&self.fields)),
            ("disclosed_on", row::day(Some(date_to_days(self.disclosed_on)))),
            ("source", row::text(&self.source)),
            ("consent_id", ScalarValue::Utf8(self.consent_id.clone())),
            ("recorded_by", row::text(recorded_by)),
            ("recorded_at", row::instant(Some(at))),
        ]
    }
}

/// Appends disclosures to the log in one commit; returns their ids. The caller holds the
/// warehouse lock.
pub async fn log(warehouse: &Warehouse, items: &[Disclosure]) -> Result<Vec<String>> {
    if items.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = items.iter().map(|_| disclosure_id()).collect();
    let n = items.len();
    let at = warehouse.clock().now_micros();
    let rows: Vec<Vec<row::Cell>> = items.iter().zip(&ids).map(|(d, id)| d.cells(id, &os_user(), at)).collect();
    warehouse.append_named(&tables::DISCLOSURES, &rows, "disclosures logged").await?;
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

/// The fields a disclosure or a consent may name, and what each carries. Special-category
/// data (UK GDPR article 9: ethnicity; the priority flags, which may record health or
/// disability) is not among them and cannot be added by configuration.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("student_id", "the university's student number"),
    ("given_name", "given name"),
    ("family_name", "family name"),
    ("email", "university e-mail address"),
    ("date_of_birth", "date of birth"),
    ("programme_code", "programme of study"),
    ("department", "department"),
    ("level", "level of study"),
    ("stage", "year of the programme"),
    ("mode", "full-time, part-time or distance"),
    ("start_date", "start of studies"),
    ("expected_end_date", "expected end of studies"),
    ("completion_date", "completion of studies"),
    ("status", "enrolment status and its date"),
    ("visa_route", "visa route"),
    ("cas_number", "Confirmation of Acceptance for Studies number"),
    ("funding_body", "funding body"),
    ("personal_tutor", "personal tutor"),
    ("attendance_rate", "share of expected sessions attended, by day"),
    ("engagement", "daily engagement ratings and the activity behind them"),
    ("last_engagement", "date of last engagement"),
    ("cases", "escalation cases and their outcomes"),
];

/// Special-category fields: refused by name, whatever the basis.
pub const SPECIAL_CATEGORY: &[&str] = &["ethnicity", "priority_flags"];

/// Checks a comma-separated field list against the catalogue; returns it normalised.
pub fn checked_fields(fields: &str) -> Result<String> {
    let named: Vec<&str> = fields.split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
    if named.is_empty() {
        return Err(Error::Usage("name at least one field (see `rollcall disclose --help`)".into()));
    }
    for field in &named {
        if SPECIAL_CATEGORY.contains(field) {
            return Err(Error::Refused(format!(
                "'{field}' is special-category data and is never disclosable; nothing was logged"
            )));
        }
        if !CATALOGUE.iter().any(|(name, _)| name == field) {
            return Err(Error::Usage(format!(
                "'{field}' is not a disclosable field; the catalogue: {}",
                CATALOGUE.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(named.join(","))
}

/// Records an ad-hoc disclosure after checking its fields and basis; returns its id.
pub async fn disclose(warehouse: &Warehouse, mut item: Disclosure) -> Result<String> {
    item.fields = checked_fields(&item.fields)?;
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
    let found = queries::collect(&ctx, "compliance/student_known", &[("student_id", row::text(student_id))]).await?;
    Ok(int_at(&found, "n")?.unwrap_or(0) > 0)
}

/// The id of an active consent covering a disclosure, if any.
async fn active_consent(warehouse: &Warehouse, item: &Disclosure) -> Result<Option<String>> {
    let ctx = session::build(warehouse, Access::Internal { with_equality: false }).await?;
    let params = [
        ("student_id", row::text(&item.student_id)),
        ("recipient", row::text(&item.recipient)),
        ("on", row::day(Some(date_to_days(item.disclosed_on)))),
    ];
    let batches = queries::collect(&ctx, "compliance/consents_in_force", &params).await?;
    let wanted: Vec<&str> = item.fields.split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
    for batch in &batches {
        let (ids, fields) = (texts(batch, "consent_id")?, texts(batch, "fields")?);
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
    let fields = checked_fields(&c.fields)?;
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
        ("fields", row::text(fields)),
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
