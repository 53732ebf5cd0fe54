//! The interchange file kinds, written down as data: each kind's columns, how each value
//! is checked, its key, and the table it lands in. This is `INTERCHANGE.md` in code.

use crate::warehouse::tables::{self, TableDef};

/// How one input column is checked and stored.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Any text.
    Text,
    /// `YYYY-MM-DD`.
    Date,
    /// ISO 8601; local time in the configured zone when no offset is given.
    Timestamp,
    /// A whole number within bounds.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// One of a fixed set of values.
    Enum(&'static [&'static str]),
    /// `;`-separated values from a fixed set (stored normalised, in input order).
    Flags(&'static [&'static str]),
    /// An academic year such as `2025-26`.
    AcademicYear,
    /// Special-category data: never stored with the row; split off into the equality table.
    Special,
}

/// One column of an input file.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Header name.
    pub name: &'static str,
    /// Value check.
    pub check: Check,
    /// Whether the header and a value in every row are required.
    pub required: bool,
    /// Value used when the cell is empty.
    pub default: Option<i64>,
}

/// A file kind of `rollcall ingest KIND`.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// The name on the command line.
    pub name: &'static str,
    /// The table rows land in.
    pub table: TableDef,
    /// Input columns.
    pub columns: &'static [Column],
    /// Columns that identify a row; a key twice in one file is an error.
    pub key: &'static [&'static str],
    /// A (start, end) pair where the end must not be before the start.
    pub span: Option<(&'static str, &'static str)>,
    /// The timestamp column whose local calendar day fills the table's `day` column.
    pub day_of: Option<&'static str>,
    /// How rows combine with what the warehouse holds.
    pub merge: Merge,
    /// The table's row order (leading columns): a file's rows are put in this order, then
    /// by the rest of the key, then by line. Only key columns, and a `day` (or its
    /// [`MONTH`]) taken from a key column, may appear, so that rows with the same key end
    /// up side by side.
    pub order: &'static [&'static str],
}

/// How ingested rows combine with the rows already held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Rows whose key is already held are skipped (events: swipes, activity, absences).
    InsertNew,
    /// Rows replace held rows with the same key (students, sessions, terms).
    Upsert,
    /// The file replaces all held rows of each session it names (class lists).
    ReplaceBySession,
}

const fn req(name: &'static str, check: Check) -> Column {
    Column { name, check, required: true, default: None }
}
const fn opt(name: &'static str, check: Check) -> Column {
    Column { name, check, required: false, default: None }
}

/// `mode` values.
pub const MODES: &[&str] = &["full-time", "part-time", "distance"];
/// `status` values.
pub const STATUSES: &[&str] = &["active", "intermitted", "placement", "study-abroad", "withdrawn", "completed"];
/// `enrolment_status` values: whether the student completed enrolment (registration) for
/// the year; `pending` until the enrolment deadline passes.
pub const ENROLMENT: &[&str] = &["enrolled", "pending", "not-enrolled"];
/// `priority_flags` values.
pub const PRIORITY_FLAGS: &[&str] =
    &["repeating", "returning", "clearing", "changed-course", "support-needs", "known-concern"];
/// Activity `source` values.
pub const SOURCES: &[&str] = &crate::domain::signal::NAMES;

/// In [`Kind::order`], the calendar month of the `day` column. Events are stored by month,
/// then student and time: one student's rows of a month sit together, so a subject-access
/// request reads about one page a month of each column (not every page of a file of a
/// year), and a day's recomputation reads that month's pages.
pub const MONTH: &str = "month";

/// `students`
pub const STUDENTS: Kind = Kind {
    name: "students",
    table: tables::STUDENTS,
    columns: &[
        req("student_id", Check::Text),
        req("programme_code", Check::Text),
        req("department", Check::Text),
        req("level", Check::Int { min: 3, max: 7 }),
        req("stage", Check::Int { min: 0, max: 10 }),
        req("mode", Check::Enum(MODES)),
        req("start_date", Check::Date),
        req("status", Check::Enum(STATUSES)),
        opt("given_name", Check::Text),
        opt("family_name", Check::Text),
        opt("email", Check::Text),
        opt("date_of_birth", Check::Date),
        opt("expected_end_date", Check::Date),
        opt("completion_date", Check::Date),
        opt("status_date", Check::Date),
        opt("enrolment_status", Check::Enum(ENROLMENT)),
        opt("enrolled_on", Check::Date),
        opt("visa_route", Check::Enum(&["student"])),
        opt("cas_number", Check::Text),
        opt("funding_body", Check::Text),
        opt("ethnicity", Check::Special),
        opt("priority_flags", Check::Flags(PRIORITY_FLAGS)),
        opt("personal_tutor", Check::Text),
    ],
    key: &["student_id"],
    span: Some(("start_date", "expected_end_date")),
    day_of: None,
    merge: Merge::Upsert,
    order: &["student_id"],
};

/// `sessions`
pub const SESSIONS: Kind = Kind {
    name: "sessions",
    table: tables::SESSIONS,
    columns: &[
        req("session_id", Check::Text),
        req("module_code", Check::Text),
        req("starts_at", Check::Timestamp),
        req("ends_at", Check::Timestamp),
        opt("kind", Check::Text),
        opt("delivery", Check::Text),
        opt("room", Check::Text),
    ],
    key: &["session_id"],
    span: Some(("starts_at", "ends_at")),
    day_of: Some("starts_at"),
    merge: Merge::Upsert,
    order: &[],
};

/// `class-lists`
pub const CLASS_LISTS: Kind = Kind {
    name: "class-lists",
    table: tables::CLASS_LISTS,
    columns: &[req("session_id", Check::Text), req("student_id", Check::Text)],
    key: &["session_id", "student_id"],
    span: None,
    day_of: None,
    merge: Merge::ReplaceBySession,
    order: &["student_id", "session_id"],
};

/// `swipes`
pub const SWIPES: Kind = Kind {
    name: "swipes",
    table: tables::SWIPES,
    columns: &[
        req("student_id", Check::Text),
        req("room", Check::Text),
        req("swiped_at", Check::Timestamp),
        opt("reader_id", Check::Text),
    ],
    key: &["student_id", "room", "swiped_at"],
    span: None,
    day_of: Some("swiped_at"),
    merge: Merge::InsertNew,
    order: &[MONTH, "student_id", "swiped_at"],
};

/// `activity`
pub const ACTIVITY: Kind = Kind {
    name: "activity",
    table: tables::ACTIVITY,
    columns: &[
        req("student_id", Check::Text),
        req("occurred_at", Check::Timestamp),
        req("source", Check::Enum(SOURCES)),
        Column { name: "count", check: Check::Int { min: 0, max: 1_000_000 }, required: false, default: Some(1) },
        opt("duration_s", Check::Int { min: 0, max: 31_536_000 }),
    ],
    key: &["student_id", "occurred_at", "source"],
    span: None,
    day_of: Some("occurred_at"),
    merge: Merge::InsertNew,
    order: &[MONTH, "student_id", "occurred_at"],
};

/// `absences`
pub const ABSENCES: Kind = Kind {
    name: "absences",
    table: tables::ABSENCES,
    columns: &[
        req("student_id", Check::Text),
        req("starts_on", Check::Date),
        req("ends_on", Check::Date),
        req("kind", Check::Text),
        opt("reference", Check::Text),
    ],
    key: &["student_id", "starts_on", "kind"],
    span: Some(("starts_on", "ends_on")),
    day_of: None,
    merge: Merge::InsertNew,
    order: &["student_id", "starts_on"],
};

/// `status-changes`: dated status periods (back-dated placements, years abroad,
/// intermissions); an open period (no `ends_on`) runs on.
pub const STATUS_CHANGES: Kind = Kind {
    name: "status-changes",
    table: tables::STATUS_PERIODS,
    columns: &[
        req("student_id", Check::Text),
        req("status", Check::Enum(STATUSES)),
        req("starts_on", Check::Date),
        opt("ends_on", Check::Date),
        opt("reference", Check::Text),
    ],
    key: &["student_id", "starts_on", "status"],
    span: None,
    day_of: None,
    merge: Merge::InsertNew,
    order: &["student_id", "starts_on"],
};

/// `terms`
pub const TERMS: Kind = Kind {
    name: "terms",
    table: tables::TERMS,
    columns: &[
        req("academic_year", Check::AcademicYear),
        req("term", Check::Text),
        req("starts_on", Check::Date),
        req("ends_on", Check::Date),
    ],
    key: &["academic_year", "term"],
    span: Some(("starts_on", "ends_on")),
    day_of: None,
    merge: Merge::Upsert,
    order: &[],
};

/// `student-id-map`: a student's identifier in another system (as in Jisc UDD
/// `student_id_map`); the latest file wins for a (domain, identifier).
pub const STUDENT_ID_MAP: Kind = Kind {
    name: "student-id-map",
    table: tables::STUDENT_ID_MAP,
    columns: &[req("student_id", Check::Text), req("domain", Check::Text), req("identifier", Check::Text)],
    key: &["domain", "identifier"],
    span: None,
    day_of: None,
    merge: Merge::Upsert,
    order: &[],
};

/// `bank-holidays`
pub const BANK_HOLIDAYS: Kind = Kind {
    name: "bank-holidays",
    table: tables::BANK_HOLIDAYS,
    columns: &[req("date", Check::Date), opt("name", Check::Text)],
    key: &["date"],
    span: None,
    day_of: None,
    merge: Merge::Upsert,
    order: &[],
};

/// Console roles a member of staff may hold (`staff` file's `roles`, separated by `;`).
pub const STAFF_ROLES: &[&str] = &["tutor", "department-lead", "progress", "compliance", "dpo", "planner"];

/// `staff`
pub const STAFF: Kind = Kind {
    name: "staff",
    table: tables::STAFF,
    columns: &[
        req("staff_id", Check::Text),
        req("email", Check::Text),
        opt("name", Check::Text),
        req("roles", Check::Flags(STAFF_ROLES)),
        opt("department", Check::Text),
    ],
    key: &["staff_id"],
    span: None,
    day_of: None,
    merge: Merge::Upsert,
    order: &["staff_id"],
};

/// Every kind, in the order a full load should run.
pub const ALL: &[Kind] = &[
    TERMS,
    BANK_HOLIDAYS,
    STUDENTS,
    STUDENT_ID_MAP,
    SESSIONS,
    CLASS_LISTS,
    SWIPES,
    ACTIVITY,
    ABSENCES,
    STATUS_CHANGES,
    STAFF,
];

/// Looks a kind up by its command-line name.
pub fn by_name(name: &str) -> Option<Kind> {
    ALL.iter().copied().find(|k| k.name == name)
}

impl Kind {
    /// The input column of this name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table column is either an input column, `day` (with a source) or `ingested_at`;
    /// every stored input column has a table column.
    #[test]
    fn kinds_and_tables_agree() {
        for kind in ALL {
            for name in kind.table.column_names() {
                let ok =
                    kind.column(name).is_some() || (name == "day" && kind.day_of.is_some()) || name == "ingested_at";
                assert!(ok, "{}: table column {name} has no source", kind.name);
            }
            for col in kind.columns {
                if !matches!(col.check, Check::Special) {
                    assert!(kind.table.column_names().any(|n| n == col.name), "{}: {} not stored", kind.name, col.name);
                }
            }
            for key in kind.key {
                assert!(kind.column(key).is_some_and(|c| c.required), "{}: key {key} must be required", kind.name);
            }
            for column in kind.order {
                let day_of_key =
                    (*column == "day" || *column == MONTH) && kind.day_of.is_some_and(|d| kind.key.contains(&d));
                assert!(
                    kind.key.contains(column) || day_of_key,
                    "{}: order column {column} is not from the key",
                    kind.name
                );
            }
        }
    }
}
