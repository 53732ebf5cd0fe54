//! Small hand-built universities for rating and review tests.

use chrono::{Datelike, Duration, NaiveDate};

use crate::common::Env;

pub fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Terms of 2025-26: autumn 29 Sep - 12 Dec, spring 12 Jan - 27 Mar, summer 20 Apr - 12 Jun.
pub const TERMS: &str = "academic_year,term,starts_on,ends_on\n\
2025-26,autumn,2025-09-29,2025-12-12\n\
2025-26,spring,2026-01-12,2026-03-27\n\
2025-26,summer,2026-04-20,2026-06-12\n";

/// One student row: id, programme, stage, mode, status, priority flags.
pub fn student(id: &str, programme: &str, stage: u32, mode: &str, status: &str, flags: &str) -> String {
    format!("{id},{programme},Dept {programme},{},{stage},{mode},2025-09-22,{status},{flags},T01", 4 + stage.min(3))
}

pub const STUDENT_HEADER: &str =
    "student_id,programme_code,department,level,stage,mode,start_date,status,priority_flags,personal_tutor";

/// A warehouse with the 2025-26 terms and these students.
pub fn university(students: &[String]) -> Env {
    let env = Env::new();
    env.ingest("terms", &[&env.file("terms.csv", TERMS)]);
    let mut csv = format!("{STUDENT_HEADER}\n");
    for s in students {
        csv.push_str(s);
        csv.push('\n');
    }
    env.ingest("students", &[&env.file("students.csv", &csv)]);
    env
}

/// Days from `from` to `to` inclusive that pass `keep`.
pub fn days(from: &str, to: &str, keep: impl Fn(NaiveDate) -> bool) -> Vec<NaiveDate> {
    let (mut day, end) = (d(from), d(to));
    let mut out = Vec::new();
    while day <= end {
        if keep(day) {
            out.push(day);
        }
        day += Duration::days(1);
    }
    out
}

pub fn weekday(day: NaiveDate) -> bool {
    day.weekday().num_days_from_monday() < 5
}

/// One 10:00-11:00 session in room R1 on each day, every student listed on each.
pub fn timetable(env: &Env, session_days: &[NaiveDate], students: &[&str]) {
    let mut sessions = String::from("session_id,module_code,starts_at,ends_at,room\n");
    let mut lists = String::from("session_id,student_id\n");
    for day in session_days {
        sessions.push_str(&format!("M-{day},M1,{day}T10:00:00,{day}T11:00:00,R1\n"));
        for s in students {
            lists.push_str(&format!("M-{day},{s}\n"));
        }
    }
    env.ingest("sessions", &[&env.file("sessions.csv", &sessions)]);
    env.ingest("class-lists", &[&env.file("class-lists.csv", &lists)]);
}

/// A swipe into R1 at 09:55 on each day, for one student.
pub fn swipes(env: &Env, name: &str, student: &str, on: &[NaiveDate]) {
    let mut csv = String::from("student_id,room,swiped_at\n");
    for day in on {
        csv.push_str(&format!("{student},R1,{day}T09:55:00\n"));
    }
    env.ingest("swipes", &[&env.file(name, &csv)]);
}

/// Activity rows: (student, day, source, count), each at noon.
pub fn activity(env: &Env, name: &str, rows: &[(&str, NaiveDate, &str, u32)]) {
    let mut csv = String::from("student_id,occurred_at,source,count\n");
    for (student, day, source, count) in rows {
        csv.push_str(&format!("{student},{day}T12:00:00,{source},{count}\n"));
    }
    env.ingest("activity", &[&env.file(name, &csv)]);
}

/// Replaces `from` with `to` in the warehouse's rollcall.toml.
pub fn configure(env: &Env, from: &str, to: &str) {
    let path = env.warehouse.join("rollcall.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "rollcall.toml lacks {from}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// A student's ratings as `day,rating` lines for a day range.
pub fn ratings(env: &Env, student: &str, from: &str, to: &str) -> Vec<String> {
    env.sql(&format!(
        "SELECT CAST(day AS VARCHAR) || ' ' || rating FROM ratings WHERE student_id = '{student}' \
         AND day BETWEEN DATE '{from}' AND DATE '{to}' ORDER BY day"
    ))[1..]
        .to_vec()
}
