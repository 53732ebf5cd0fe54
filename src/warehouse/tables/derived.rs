//! Derived tables (recomputed from the ingested ones), ratings and rating runs.

use super::Col::{Date, Float, Int, Text, Timestamp};
use super::TableDef;

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
