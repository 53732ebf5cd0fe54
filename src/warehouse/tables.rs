//! The warehouse tables and their Arrow schemas.
//!
//! Raw tables hold what was ingested (after validation); derived tables are recomputed
//! from them. Every timestamp is UTC microseconds; every `day` is the local calendar day.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// One warehouse table.
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    /// Table (and directory) name.
    pub name: &'static str,
    /// Column names and types.
    pub columns: &'static [(&'static str, Col)],
    /// Whether analysts can query it with `rollcall sql`.
    pub analyst_visible: bool,
    /// What the table holds, for `--help` and the README.
    pub about: &'static str,
}

/// Column types used in the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// UTF-8 text.
    Text,
    /// A calendar day.
    Date,
    /// An instant, UTC microseconds.
    Timestamp,
    /// A 64-bit integer.
    Int,
    /// A 64-bit float.
    Float,
}

impl Col {
    /// The Arrow type stored for this column type.
    pub fn data_type(self) -> DataType {
        match self {
            Col::Text => DataType::Utf8,
            Col::Date => DataType::Date32,
            Col::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Col::Int => DataType::Int64,
            Col::Float => DataType::Float64,
        }
    }
}

impl TableDef {
    /// The table's Arrow schema (every column nullable: absence is meaningful data).
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|(name, col)| Field::new(*name, col.data_type(), true)).collect::<Vec<_>>(),
        ))
    }

    /// Column names in order.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> {
        self.columns.iter().map(|(name, _)| *name)
    }
}

use Col::{Date, Float, Int, Text, Timestamp};

/// Students (no ethnicity: that is split off into `equality`).
pub const STUDENTS: TableDef = TableDef {
    name: "students",
    about: "one row per student; re-ingesting a student updates it",
    analyst_visible: true,
    columns: &[
        ("student_id", Text),
        ("given_name", Text),
        ("family_name", Text),
        ("email", Text),
        ("date_of_birth", Date),
        ("programme_code", Text),
        ("department", Text),
        ("level", Int),
        ("stage", Int),
        ("mode", Text),
        ("start_date", Date),
        ("expected_end_date", Date),
        ("completion_date", Date),
        ("status", Text),
        ("status_date", Date),
        ("visa_route", Text),
        ("cas_number", Text),
        ("funding_body", Text),
        ("priority_flags", Text),
        ("personal_tutor", Text),
        ("ingested_at", Timestamp),
    ],
};

/// Special-category data, keyed by a keyed pseudonym; never registered for analysts.
pub const EQUALITY: TableDef = TableDef {
    name: "equality",
    about: "ethnicity under a keyed pseudonym, reachable only through the privacy path",
    analyst_visible: false,
    columns: &[("pseudonym", Text), ("ethnicity", Text), ("ingested_at", Timestamp)],
};

/// Identifiers students have in other systems (Jisc UDD `student_id_map`).
pub const STUDENT_ID_MAP: TableDef = TableDef {
    name: "student_id_map",
    about: "identifiers students have in other systems (VLE user id, Teams account, card number), by domain",
    analyst_visible: true,
    columns: &[("student_id", Text), ("domain", Text), ("identifier", Text), ("ingested_at", Timestamp)],
};

/// The timetable.
pub const SESSIONS: TableDef = TableDef {
    name: "sessions",
    about: "timetabled sessions; re-ingesting a session updates it",
    analyst_visible: true,
    columns: &[
        ("session_id", Text),
        ("module_code", Text),
        ("starts_at", Timestamp),
        ("ends_at", Timestamp),
        ("day", Date),
        ("kind", Text),
        ("delivery", Text),
        ("room", Text),
        ("ingested_at", Timestamp),
    ],
};

/// Who is expected at each session.
pub const CLASS_LISTS: TableDef = TableDef {
    name: "class_lists",
    about: "session membership; a file replaces the lists of the sessions it names",
    analyst_visible: true,
    columns: &[("session_id", Text), ("student_id", Text), ("ingested_at", Timestamp)],
};

/// Raw card swipes as the readers recorded them.
pub const SWIPES: TableDef = TableDef {
    name: "swipes",
    about: "every card swipe as recorded",
    analyst_visible: true,
    columns: &[
        ("student_id", Text),
        ("room", Text),
        ("swiped_at", Timestamp),
        ("day", Date),
        ("reader_id", Text),
        ("ingested_at", Timestamp),
    ],
};

/// Each swipe classified against the timetable (derived from swipes, sessions, class lists).
pub const SWIPE_OUTCOMES: TableDef = TableDef {
    name: "swipe_outcomes",
    about: "each swipe matched to a session (attended, repeat) or rejected with its reason",
    analyst_visible: true,
    columns: &[
        ("student_id", Text),
        ("room", Text),
        ("swiped_at", Timestamp),
        ("day", Date),
        ("reader_id", Text),
        ("session_id", Text),
        ("outcome", Text),
    ],
};

/// Other engagement signals.
pub const ACTIVITY: TableDef = TableDef {
    name: "activity",
    about: "engagement events (VLE, lecture capture, library, ...)",
    analyst_visible: true,
    columns: &[
        ("student_id", Text),
        ("occurred_at", Timestamp),
        ("day", Date),
        ("source", Text),
        ("count", Int),
        ("duration_s", Int),
        ("ingested_at", Timestamp),
    ],
};

/// Recorded absences.
pub const ABSENCES: TableDef = TableDef {
    name: "absences",
    about: "recorded absences; authorised ones excuse the sessions they cover",
    analyst_visible: true,
    columns: &[
        ("student_id", Text),
        ("starts_on", Date),
        ("ends_on", Date),
        ("kind", Text),
        ("reference", Text),
        ("ingested_at", Timestamp),
    ],
};

/// Term dates.
pub const TERMS: TableDef = TableDef {
    name: "terms",
    about: "term dates per academic year; days outside terms are vacation",
    analyst_visible: true,
    columns: &[
        ("academic_year", Text),
        ("term", Text),
        ("starts_on", Date),
        ("ends_on", Date),
        ("ingested_at", Timestamp),
    ],
};

/// One row per ingested file: what makes re-ingesting an identical file a no-op.
pub const INGEST_LOG: TableDef = TableDef {
    name: "ingest_log",
    about: "one row per file ingested (kind, name, SHA-256, counts)",
    analyst_visible: true,
    columns: &[
        ("ingested_at", Timestamp),
        ("kind", Text),
        ("file_name", Text),
        ("sha256", Text),
        ("rows_read", Int),
        ("rows_added", Int),
        ("rows_rejected", Int),
        ("os_user", Text),
    ],
};

/// England and Wales bank holidays (seeded from the shipped calendar; users may update it).
pub const BANK_HOLIDAYS: TableDef = TableDef {
    name: "bank_holidays",
    about: "bank holidays: no teaching, and not working days for return deadlines",
    analyst_visible: true,
    columns: &[("date", Date), ("name", Text), ("ingested_at", Timestamp)],
};

/// Events per student, day and source (derived from activity).
pub const DAILY_ACTIVITY: TableDef = TableDef {
    name: "daily_activity",
    about: "activity events per student, day and source",
    analyst_visible: true,
    columns: &[("student_id", Text), ("day", Date), ("source", Text), ("events", Int)],
};

/// Sessions expected and attended per student and day (derived).
pub const DAILY_ATTENDANCE: TableDef = TableDef {
    name: "daily_attendance",
    about: "sessions expected (not excused) and attended per student and day",
    analyst_visible: true,
    columns: &[("student_id", Text), ("day", Date), ("expected", Int), ("attended", Int), ("excused", Int)],
};

/// Daily engagement ratings with their components.
pub const RATINGS: TableDef = TableDef {
    name: "ratings",
    about: "daily engagement ratings with the components they were worked out from",
    analyst_visible: true,
    columns: &[
        ("student_id", Text),
        ("day", Date),
        ("academic_year", Text),
        ("term", Text),
        ("term_week", Int),
        ("programme_code", Text),
        ("stage", Int),
        ("department", Text),
        ("rating", Text),
        ("score", Float),
        ("basis", Text),
        ("cohort_share", Float),
        ("cohort_size", Int),
        ("window_days", Int),
        ("expected", Int),
        ("attended", Int),
        ("attendance_rate", Float),
        ("vle", Int),
        ("lecture_capture", Int),
        ("library", Int),
        ("pc_login", Int),
        ("online_meeting", Int),
        ("submission", Int),
        ("records_login", Int),
        ("activity_points", Float),
        ("activity_score", Float),
        ("computed_at", Timestamp),
    ],
};

/// One row per `rollcall rate` run: what it computed and the data it had seen.
pub const RATING_RUNS: TableDef = TableDef {
    name: "rating_runs",
    about: "one row per rating run: days computed, why, and the ingest watermark",
    analyst_visible: true,
    columns: &[
        ("run_at", Timestamp),
        ("as_of", Date),
        ("from_day", Date),
        ("to_day", Date),
        ("rated_through", Date),
        ("ratings", Int),
        ("mode", Text),
        ("watermark", Timestamp),
        ("settings", Text),
        ("os_user", Text),
    ],
};

/// Actions raised by `rollcall review`.
pub const CASES: TableDef = TableDef {
    name: "cases",
    about: "actions raised for staff, once per student, action and episode",
    analyst_visible: true,
    columns: &[
        ("case_id", Text),
        ("student_id", Text),
        ("academic_year", Text),
        ("action", Text),
        ("rung", Int),
        ("episode", Text),
        ("raised_on", Date),
        ("reason", Text),
        ("rating", Text),
        ("department", Text),
        ("programme_code", Text),
        ("stage", Int),
        ("personal_tutor", Text),
        ("priority_flags", Text),
        ("priority", Int),
        ("created_at", Timestamp),
    ],
};

/// Outcomes staff recorded on cases.
pub const CASE_EVENTS: TableDef = TableDef {
    name: "case_events",
    about: "outcomes recorded by staff on cases",
    analyst_visible: true,
    columns: &[
        ("case_id", Text),
        ("student_id", Text),
        ("academic_year", Text),
        ("recorded_on", Date),
        ("outcome", Text),
        ("note", Text),
        ("recorded_by", Text),
        ("recorded_at", Timestamp),
    ],
};

/// UKVI events recorded as reported.
pub const UKVI_REPORTS: TableDef = TableDef {
    name: "ukvi_reports",
    about: "Home Office events recorded as reported, so they are not listed again",
    analyst_visible: true,
    columns: &[
        ("student_id", Text),
        ("event", Text),
        ("trigger_date", Date),
        ("reported_on", Date),
        ("recorded_by", Text),
        ("recorded_at", Timestamp),
    ],
};

/// The privacy-budget ledger: one row per differentially private release, charged before
/// its results are written.
pub const PRIVACY_BUDGET: TableDef = TableDef {
    name: "privacy_budget",
    about: "privacy-budget ledger: one row per equality release, charged before its results exist",
    analyst_visible: true,
    columns: &[
        ("release_id", Text),
        ("academic_year", Text),
        ("question", Text),
        ("epsilon", Float),
        ("delta", Float),
        ("mechanism", Text),
        ("neighbours", Text),
        ("scale", Float),
        ("census_dates", Text),
        ("tables", Int),
        ("charged_at", Timestamp),
        ("charged_by", Text),
    ],
};

/// Stored equality releases: the noisy counts as drawn, re-served for the same question.
pub const EQUALITY_RELEASES: TableDef = TableDef {
    name: "equality_releases",
    about: "differentially private ethnicity counts as drawn, re-served when the same question is asked",
    analyst_visible: true,
    columns: &[
        ("release_id", Text),
        ("census_date", Date),
        ("table_name", Text),
        ("ethnicity_group", Text),
        ("category", Text),
        ("noisy_count", Int),
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
    ],
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

/// Every table, in creation order.
pub const ALL: &[TableDef] = &[
    STUDENTS,
    EQUALITY,
    STUDENT_ID_MAP,
    SESSIONS,
    CLASS_LISTS,
    SWIPES,
    SWIPE_OUTCOMES,
    ACTIVITY,
    ABSENCES,
    TERMS,
    BANK_HOLIDAYS,
    INGEST_LOG,
    DAILY_ACTIVITY,
    DAILY_ATTENDANCE,
    RATINGS,
    RATING_RUNS,
    CASES,
    CASE_EVENTS,
    UKVI_REPORTS,
    PRIVACY_BUDGET,
    EQUALITY_RELEASES,
    EQUALITY_EXTRACTS,
    LEGAL_HOLDS,
    RETENTION_RUNS,
    DISCLOSURES,
    CONSENTS,
    SAR_REQUESTS,
];

/// Looks a table up by name.
pub fn by_name(name: &str) -> Option<TableDef> {
    ALL.iter().copied().find(|t| t.name == name)
}
