//! What the privacy and data-protection jobs record: the privacy budget, releases and extracts, holds, purges, disclosures, consents and subject-access requests.

use super::Col::{Date, Float, Int, Text, Timestamp};
use super::TableDef;

/// The privacy-budget ledger: one row per differentially private release, charged before
/// its results are written.
pub const PRIVACY_BUDGET: TableDef = TableDef {
    name: "privacy_budget",
    about: "privacy-budget ledger: one row per equality release, charged before its results exist, hash-chained",
    analyst_visible: true,
    columns: &[
        ("seq", Int),
        ("release_id", Text),
        ("academic_year", Text),
        ("question", Text),
        ("cohorts", Text),
        ("students", Int),
        ("epsilon", Float),
        ("rho", Float),
        ("delta", Float),
        ("mechanism", Text),
        ("neighbours", Text),
        ("scale", Float),
        ("census_dates", Text),
        ("tables", Int),
        ("charged_at", Timestamp),
        ("charged_by", Text),
        ("audit_head", Text),
        ("prev_hash", Text),
        ("entry_hash", Text),
    ],
};

/// Stored equality releases: exactly the figures published (rounded counts, intervals and
/// percentages), re-served when the same question is asked. No unrounded value is kept.
pub const EQUALITY_RELEASES: TableDef = TableDef {
    name: "equality_releases",
    about: "differentially private ethnicity figures as published, re-served when the same question is asked",
    analyst_visible: true,
    columns: &[
        ("release_id", Text),
        ("census_date", Date),
        ("table_name", Text),
        ("ethnicity_group", Text),
        ("category", Text),
        ("count", Int),
        ("low", Int),
        ("high", Int),
        ("percent_of_group", Text),
    ],
};

/// Record-level equality extracts made (not their contents).
pub const EQUALITY_EXTRACTS: TableDef = TableDef {
    name: "equality_extracts",
    about: "pseudonymised equality extracts made: when, by whom, k and what was generalised or suppressed",
    analyst_visible: true,
    columns: &[
        ("extract_id", Text),
        ("academic_year", Text),
        ("k", Int),
        ("rows", Int),
        ("generalised", Int),
        ("suppressed", Int),
        ("sha256", Text),
        ("made_at", Timestamp),
        ("made_by", Text),
        ("approval", Text),
    ],
};

/// Who each release and extract counted, under the equality pseudonym: for the
/// differencing guard. Never registered for analysts.
pub const EQUALITY_POPULATIONS: TableDef = TableDef {
    name: "equality_populations",
    about: "the students each equality release or extract counted, by keyed pseudonym",
    analyst_visible: false,
    columns: &[("kind", Text), ("ref_id", Text), ("academic_year", Text), ("pseudonym", Text)],
};

/// Legal holds: students exempt from the retention purge until the hold is released.
pub const LEGAL_HOLDS: TableDef = TableDef {
    name: "legal_holds",
    about: "legal holds: students the retention purge must not erase until released",
    analyst_visible: true,
    columns: &[
        ("hold_id", Text),
        ("student_id", Text),
        ("reason", Text),
        ("placed_on", Date),
        ("released_on", Date),
        ("recorded_by", Text),
        ("recorded_at", Timestamp),
    ],
};

/// One row per retention purge: counts per table and the rule applied (no personal data).
pub const RETENTION_RUNS: TableDef = TableDef {
    name: "retention_runs",
    about: "one row per retention purge: the rule, students erased and rows per table (counts only)",
    analyst_visible: true,
    columns: &[
        ("run_at", Timestamp),
        ("as_of", Date),
        ("rule", Text),
        ("students", Int),
        ("held", Int),
        ("rows", Text),
        ("os_user", Text),
    ],
};

/// The disclosure log: every return line and ad-hoc disclosure of a student's data.
pub const DISCLOSURES: TableDef = TableDef {
    name: "disclosures",
    about: "disclosure log: what about whom went to which recipient, on which legal basis, when",
    analyst_visible: true,
    columns: &[
        ("disclosure_id", Text),
        ("student_id", Text),
        ("recipient", Text),
        ("legal_basis", Text),
        ("purpose", Text),
        ("fields", Text),
        ("disclosed_on", Date),
        ("source", Text),
        ("consent_id", Text),
        ("recorded_by", Text),
        ("recorded_at", Timestamp),
    ],
};

/// Students' written authorisations to share their data.
pub const CONSENTS: TableDef = TableDef {
    name: "consents",
    about: "students' written authorisations: what may go to whom, from when to when",
    analyst_visible: true,
    columns: &[
        ("consent_id", Text),
        ("student_id", Text),
        ("recipient", Text),
        ("fields", Text),
        ("valid_from", Date),
        ("valid_to", Date),
        ("reference", Text),
        ("withdrawn_on", Date),
        ("recorded_by", Text),
        ("recorded_at", Timestamp),
    ],
};

/// Subject-access requests answered.
pub const SAR_REQUESTS: TableDef = TableDef {
    name: "sar_requests",
    about: "subject-access exports made: request id, student, when and by whom",
    analyst_visible: true,
    columns: &[("request_id", Text), ("student_id", Text), ("made_at", Timestamp), ("made_by", Text), ("files", Int)],
};

/// The data-protection officer's register of subject-access requests: one row per step.
pub const SAR_LOG: TableDef = TableDef {
    name: "sar_log",
    about: "subject-access requests as a register: received, extended, exported, answered (one row per step)",
    analyst_visible: false,
    columns: &[
        ("request_ref", Text),
        ("student_id", Text),
        ("step", Text),
        ("on", Date),
        ("note", Text),
        ("recorded_by", Text),
        ("recorded_at", Timestamp),
    ],
};
