//! The query catalog: every analytic SQL statement, embedded at compile time from
//! `queries/<area>/<name>.sql`, looked up by name and run with bound parameters.
//!
//! A release binary therefore runs a fixed, auditable set of queries; each result can be
//! traced to a name and the SHA-256 of its text.

use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

macro_rules! catalog {
    ($($name:literal),* $(,)?) => {
        /// Every catalog query as (name, SQL text); the name is the path under `queries/`
        /// without `.sql`.
        pub static CATALOG: &[(&str, &str)] = &[
            $(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/queries/", $name, ".sql")))),*
        ];
    };
}

catalog!(
    "engine/bank_holidays",
    "ingest/file_seen",
    "ingest/files_seen",
    "ingest/held_swipes",
    "ingest/held_activity",
    "ingest/held_absences",
    "ingest/held_status_periods",
    "ingest/new_activity",
    "ingest/new_activity_late",
    "ingest/identities",
    "ingest/adapter_sessions",
    "ingest/merge_students",
    "ingest/merge_equality",
    "ingest/merge_sessions",
    "ingest/merge_class_lists",
    "ingest/changed_days_sessions",
    "ingest/changed_days_class_lists",
    "ingest/merge_terms",
    "ingest/merge_student_id_map",
    "ingest/merge_bank_holidays",
    "ingest/merge_staff",
    "derive/swipe_outcomes",
    "derive/swipe_outcome_counts",
    "views/attendance",
    "views/rejected_swipes",
    "views/teaching_days",
    "views/suspicious_swipes",
    "swipes/suspicious",
    "derive/daily_activity",
    "derive/activity_rows",
    "derive/daily_attendance",
    "derive/session_days",
    "derive/students_expected",
    "derive/class_list_rows",
    "derive/attended_sessions",
    "derive/excusing_absences",
    "rating/last_run",
    "rating/changes",
    "rating/data_span",
    "rating/grid",
    "rating/signals",
    "rating/activity_signal_rows",
    "rating/attendance_signal_rows",
    "rating/windowed_running",
    "rating/windowed_join",
    "rating/scores",
    "rating/cohort_ranks",
    "rating/ratings",
    "rating/ratings_on",
    "review/rating_rungs",
    "review/weeks_rungs",
    "review/low_days_rungs",
    "review/outcome_rungs",
    "review/new_cases",
    "review/case_numbers",
    "review/case_lookup",
    "review/open_cases",
    "review/case_list",
    "review/appeal_due",
    "review/case_decision",
    "review/case_history",
    "review/case_deadlines",
    "review/still_low",
    "review/meeting_lookup",
    "review/meeting_count",
    "review/withdrawal_state",
    "mail/to_make",
    "mail/unsent",
    "mail/unsent_log",
    "mail/bank_holiday",
    "mail/list",
    "returns/ukvi",
    "returns/funder",
    "report/senate_policy",
    "report/senate_outcomes",
    "report/senate_weeks",
    "report/senate_departments",
    "report/senate_years",
    "report/senate_steps",
    "report/senate_decisions",
    "report/senate_progression",
    "report/senate_comparison",
    "report/senate_breakdowns",
    "report/senate_interventions",
    "equality/census",
    "equality/term_end",
    "equality/latest_year",
    "equality/budget",
    "equality/ledger",
    "equality/stored",
    "equality/rekey",
    "equality/rekey_check",
    "equality/rekey_populations",
    "equality/low_share",
    "equality/populations",
    "equality/population_recorded",
    "equality/extracts_made",
    "console/staff_member",
    "console/student_member",
    "console/index_students",
    "console/index_ratings",
    "console/index_recent_ratings",
    "console/index_modules",
    "console/student_record",
    "console/student_ratings",
    "console/student_modules",
    "console/student_cases",
    "console/latest_year",
    "console/ukvi_watch",
    "console/ukvi_reported",
    "console/cases",
    "console/case_choices",
    "console/student_absences",
    "console/sar_register",
    "console/funding_bodies",
    "console/dpo_disclosures",
    "console/dpo_consents",
    "console/dpo_holds",
    "retention/due",
    "retention/undetermined",
    "retention/run_recorded",
    "compliance/student_known",
    "compliance/consents_in_force",
    "compliance/equality_held",
    "compliance/sar_timetable",
    "demo/distribution",
    "demo/actions",
    "demo/week_four",
    "demo/false_alarms",
    "demo/first_student",
    "demo/raised_on",
);

/// The SQL text of a catalog query.
pub fn sql(name: &str) -> Result<&'static str> {
    CATALOG
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, sql)| *sql)
        .ok_or_else(|| Error::Internal(format!("no query '{name}' in the catalog")))
}

/// The SHA-256 (hex) of a catalog query's text, recorded with what it produced.
pub fn digest(name: &str) -> Result<String> {
    Ok(hex::encode(Sha256::digest(sql(name)?.as_bytes())))
}

/// Plans a catalog query with named parameters (`$name` in the SQL).
pub async fn plan(ctx: &SessionContext, name: &str, params: &[(&str, ScalarValue)]) -> Result<DataFrame> {
    plan_text(ctx, name, sql(name)?, params).await
}

/// One statement from catalog queries: each of `parts` (name, query) becomes a common
/// table expression named `name`, read by `last` (which must start with `WITH` or
/// `SELECT`). Lets one query be written against the output of another that is chosen at
/// run time, and still be planned (and optimised) as a single statement.
pub fn compose(parts: &[(&str, &str)], last: &str) -> Result<String> {
    let body = |name: &str| -> Result<String> {
        Ok(sql(name)?.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n"))
    };
    let mut ctes = Vec::new();
    for (cte, name) in parts {
        ctes.push(format!("{cte} AS (\n{}\n)", body(name)?));
    }
    let last_body = body(last)?;
    let rest = match last_body.trim_start().strip_prefix("WITH ") {
        Some(rest) => format!("{},\n{rest}", ctes.join(",\n")),
        None => format!("{}\n{}", ctes.join(",\n"), last_body),
    };
    Ok(format!("WITH {rest}"))
}

/// Plans SQL text (a composition of catalog queries) with named parameters; `name` is used
/// in messages.
pub async fn plan_text(
    ctx: &SessionContext,
    name: &str,
    text: &str,
    params: &[(&str, ScalarValue)],
) -> Result<DataFrame> {
    let df = ctx.sql(text).await.map_err(|e| Error::query(name, e))?;
    if params.is_empty() {
        return Ok(df);
    }
    let map =
        params.iter().map(|(k, v)| ((*k).to_string(), v.clone().into())).collect::<std::collections::HashMap<_, _>>();
    df.with_param_values(ParamValues::Map(map)).map_err(|e| query_error(name, params, e))
}

/// A query's error with the text values of its parameters taken out of the message: bound
/// values (a range of student ids, say) would otherwise be echoed by an error that prints
/// part of the plan.
pub fn query_error(name: &str, params: &[(&str, ScalarValue)], e: DataFusionError) -> Error {
    let message = e.to_string();
    let mut redacted = message.clone();
    for (key, value) in params {
        if let ScalarValue::Utf8(Some(v)) | ScalarValue::LargeUtf8(Some(v)) | ScalarValue::Utf8View(Some(v)) = value
            && !v.is_empty()
        {
            redacted = redacted.replace(v.as_str(), &format!("${key}"));
        }
    }
    if redacted == message {
        Error::query(name, e)
    } else {
        Error::query(name, DataFusionError::External(redacted.into()))
    }
}

/// Runs a catalog query and collects its result.
pub async fn collect(
    ctx: &SessionContext,
    name: &str,
    params: &[(&str, ScalarValue)],
) -> Result<Vec<arrow::array::RecordBatch>> {
    plan(ctx, name, params).await?.collect().await.map_err(|e| query_error(name, params, e))
}

/// Runs a catalog query and hands each batch of its result to `take` as it arrives, until
/// `take` says no more (returns false); returns whether every batch was taken.
pub async fn each_batch(
    ctx: &SessionContext,
    name: &str,
    params: &[(&str, ScalarValue)],
    mut take: impl FnMut(&arrow::array::RecordBatch) -> datafusion::error::Result<bool>,
) -> Result<bool> {
    use futures::StreamExt;
    let mut rows = plan(ctx, name, params).await?.execute_stream().await.map_err(|e| query_error(name, params, e))?;
    while let Some(batch) = rows.next().await {
        let batch = batch.map_err(|e| query_error(name, params, e))?;
        if !take(&batch).map_err(|e| Error::query(name, e))? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded catalog and the files on disk are the same set.
    #[test]
    fn catalog_matches_files_on_disk() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let mut on_disk = Vec::new();
        for area in std::fs::read_dir(&root).unwrap() {
            let area = area.unwrap().path();
            for file in std::fs::read_dir(&area).unwrap() {
                let file = file.unwrap().path();
                if file.extension().is_some_and(|e| e == "sql") {
                    let rel = file.strip_prefix(&root).unwrap().with_extension("");
                    on_disk.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = CATALOG.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn text_parameters_are_kept_out_of_query_errors() {
        let params = [("min_student", ScalarValue::from("S1000123")), ("min_day", ScalarValue::Date32(Some(20_000)))];
        let failed = DataFusionError::Plan("Filter: student_id >= Utf8(\"S1000123\") AND day >= 20000".into());
        let message = query_error("ingest/held_swipes", &params, failed).to_string();
        assert!(!message.contains("S1000123"), "{message}");
        assert!(message.contains("ingest/held_swipes") && message.contains("$min_student"), "{message}");
        let unrelated = query_error("q", &params, DataFusionError::Plan("no such column".into())).to_string();
        assert!(unrelated.contains("no such column"), "{unrelated}");
    }

    #[test]
    fn every_query_has_a_description_header() {
        for (name, sql) in CATALOG {
            assert!(sql.starts_with("-- description:"), "{name} lacks a description header");
        }
    }
}
