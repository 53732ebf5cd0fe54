//! Tables loaded by `rollcall ingest`, and the log of files ingested.

use super::Col::{Date, Int, Text, Timestamp};
use super::TableDef;

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
        ("enrolment_status", Text),
        ("enrolled_on", Date),
        ("visa_route", Text),
        ("cas_number", Text),
        ("funding_body", Text),
        ("priority_flags", Text),
        ("personal_tutor", Text),
        ("ingested_at", Timestamp),
    ],
};

/// Staff who use the web console: who they are and what they may see.
pub const STAFF: TableDef = TableDef {
    name: "staff",
    about: "staff who use the web console: e-mail, name, roles and department; re-ingesting a member updates them",
    analyst_visible: true,
    columns: &[
        ("staff_id", Text),
        ("email", Text),
        ("name", Text),
        ("roles", Text),
        ("department", Text),
        ("ingested_at", Timestamp),
    ],
};

/// Special-category data, keyed by a keyed pseudonym; never registered for analysts.
pub const EQUALITY: TableDef = TableDef {
    name: "equality",
    about: "ethnicity under a keyed pseudonym, reachable only through the privacy path",
    analyst_visible: false,
    // The day of the last change only: a timestamp would be shared with the students
    // table's and link a row to the ingest (and so the students) it came from.
    columns: &[("pseudonym", Text), ("ethnicity", Text), ("ingested_on", Date)],
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

/// Dated periods of a status (a placement block, a year abroad, an intermission).
pub const STATUS_PERIODS: TableDef = TableDef {
    name: "status_periods",
    about: "dated periods of a student's status; on the days a period covers, its status is in force",
    analyst_visible: true,
    columns: &[
        ("student_id", Text),
        ("status", Text),
        ("starts_on", Date),
        ("ends_on", Date),
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

/// England and Wales bank holidays (seeded from the shipped calendar; users may update it).
pub const BANK_HOLIDAYS: TableDef = TableDef {
    name: "bank_holidays",
    about: "bank holidays: no teaching, and not working days for return deadlines",
    analyst_visible: true,
    columns: &[("date", Date), ("name", Text), ("ingested_at", Timestamp)],
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
