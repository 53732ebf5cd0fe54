//! Cases raised by the review, their outcomes, and UKVI reports made.

use super::Col::{Date, Int, Text, Timestamp};
use super::TableDef;

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

/// E-mails to students made by the escalation ladder, once per case (`rollcall mail send`).
pub const OUTBOX: TableDef = TableDef {
    name: "outbox",
    about: "e-mails to students made by the escalation ladder, once per case: recipient, subject and text",
    analyst_visible: false,
    columns: &[
        ("message_id", Text),
        ("case_id", Text),
        ("student_id", Text),
        ("template", Text),
        ("to_address", Text),
        ("subject", Text),
        ("body", Text),
        ("created_at", Timestamp),
    ],
};

/// Each attempt to send an e-mail and its result.
pub const MAIL_LOG: TableDef = TableDef {
    name: "mail_log",
    about: "each attempt to send an e-mail and its result: attempt, sent, failed (reply code), undeliverable, released",
    analyst_visible: false,
    columns: &[("message_id", Text), ("student_id", Text), ("event", Text), ("at", Timestamp), ("detail", Text)],
};

/// Decisions on cases and appeals against them, one row per step, with the deadline each
/// step set or was measured against and the rule that produced it.
pub const CASE_DECISIONS: TableDef = TableDef {
    name: "case_decisions",
    about: "decisions on cases (continue, intermit, withdraw, transfer) and appeals: notified, appeal deadline and its rule, lodged (or lodged late), outcome",
    analyst_visible: true,
    columns: &[
        ("case_id", Text),
        ("student_id", Text),
        ("step", Text),
        ("value", Text),
        ("on", Date),
        ("due", Date),
        ("rule", Text),
        ("note", Text),
        ("recorded_by", Text),
        ("recorded_at", Timestamp),
    ],
};

/// Meetings on cases: each scheduled, attended, missed or cancelled, one row per event,
/// with the notice the student was given and the rule it was checked against.
pub const CASE_MEETINGS: TableDef = TableDef {
    name: "case_meetings",
    about: "meetings on cases: scheduled (day, time, place, attendees' roles, notice given and the rule it was checked against), attended, no-show, cancelled",
    analyst_visible: true,
    columns: &[
        ("meeting_id", Text),
        ("case_id", Text),
        ("student_id", Text),
        ("event", Text),
        ("step", Text),
        ("held_on", Date),
        ("time", Text),
        ("place", Text),
        ("attendees", Text),
        ("notified_on", Date),
        ("notice_days", Int),
        ("notice_required", Int),
        ("rule", Text),
        ("note", Text),
        ("recorded_by", Text),
        ("recorded_at", Timestamp),
    ],
};
