//! The synthetic university: interchange CSV files for one academic year of a realistic
//! institution, written as a stream (memory stays flat from 100 to 50,000 students).
//!
//! Everything is drawn from a seeded generator per cohort and per student, so the same
//! seed gives the same files whatever the order of generation. The ground truth of who
//! was generated to disengage, and when, is written beside the files (`truth.csv`) so
//! tests can check that the jobs find them.

mod calendar;
mod events;
mod people;
pub mod real;
pub mod staff;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
pub use calendar::AcademicCalendar;
use events::{generate_activity, generate_graduates, generate_swipes, iso};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    /// Students in the current year (graduates held for retention come on top).
    pub students: u32,
    /// Seed of every random draw.
    pub seed: u64,
    /// The academic year's first calendar year (2025 for 2025-26).
    pub year: i32,
    /// Mean VLE events per student per teaching day.
    pub vle_per_day: f64,
    /// Modules each cohort takes, each a weekly lecture and seminar (1 to 8): sets how
    /// many sessions are timetabled, so how many card swipes there are.
    pub modules: u32,
}

impl Default for DemoSpec {
    fn default() -> Self {
        DemoSpec { students: 1000, seed: 42, year: 2025, vle_per_day: 6.0, modules: 3 }
    }
}

/// Counts of what was written.
#[derive(Debug, Default, Clone)]
pub struct DemoCounts {
    /// Student records (including graduates).
    pub students: u64,
    /// Timetabled sessions.
    pub sessions: u64,
    /// Class-list rows.
    pub class_list_rows: u64,
    /// Card swipes.
    pub swipes: u64,
    /// Activity rows.
    pub activity: u64,
    /// Absences.
    pub absences: u64,
    /// Students generated to disengage.
    pub disengaging: u64,
}

/// The files of one generated university.
#[derive(Debug, Clone)]
pub struct DemoFiles {
    /// Directory holding them.
    pub dir: PathBuf,
    /// How many activity parts were written.
    pub activity_files: u32,
    /// What was written.
    pub counts: DemoCounts,
}

impl DemoFiles {
    /// The files of an ingest kind, in order: `students.csv`, `class-lists.csv`, ...;
    /// activity comes in parts (`activity-001.csv`, ...) of at most `ACTIVITY_ROWS_PER_FILE` rows.
    pub fn files(&self, kind: &str) -> Vec<PathBuf> {
        if kind == "activity" {
            (1..=self.activity_files).map(|n| self.dir.join(format!("activity-{n:03}.csv"))).collect()
        } else {
            vec![self.dir.join(format!("{kind}.csv"))]
        }
    }
}

/// Activity rows per file: a university exports activity in parts, and each part is
/// ingested (and held in memory) on its own.
pub const ACTIVITY_ROWS_PER_FILE: u64 = 2_000_000;
const ACTIVITY_HEADER: &str = "student_id,occurred_at,source,count,duration_s";

/// A student's generated behaviour.
#[derive(Debug, Clone)]
struct Profile {
    id: String,
    engagement: f64,
    /// Teaching week (1-based, counted through the year) from which the student stops engaging.
    disengage_week: Option<u32>,
    distance: bool,
    not_monitored: bool,
    absence: Option<(NaiveDate, NaiveDate)>,
}

struct Writers {
    students: BufWriter<File>,
    sessions: BufWriter<File>,
    class_lists: BufWriter<File>,
    swipes: BufWriter<File>,
    activity: BufWriter<File>,
    activity_part: u32,
    activity_rows: u64,
    dir: PathBuf,
    absences: BufWriter<File>,
    id_map: BufWriter<File>,
    truth: BufWriter<File>,
}

impl Writers {
    /// The activity writer, moving to the next part when this one is full.
    fn activity(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        if self.activity_rows == ACTIVITY_ROWS_PER_FILE {
            self.activity.flush()?;
            self.activity_part += 1;
            self.activity_rows = 0;
            let path = self.dir.join(format!("activity-{:03}.csv", self.activity_part));
            self.activity = BufWriter::with_capacity(1 << 20, File::create(path)?);
            writeln!(self.activity, "{ACTIVITY_HEADER}")?;
        }
        self.activity_rows += 1;
        Ok(&mut self.activity)
    }
}

fn create(dir: &Path, name: &str, header: &str) -> Result<BufWriter<File>> {
    let path = dir.join(name);
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(|e| Error::io(&path, e))?);
    writeln!(w, "{header}").map_err(|e| Error::io(&path, e))?;
    Ok(w)
}

const COHORT_SIZE: u32 = 60;
/// Most modules a cohort's week can hold (three teaching hours each, in 45 hours).
const MAX_MODULES: u32 = 8;
const SOURCES_OTHER: &[(&str, f64)] = &[
    ("lecture-capture", 0.35),
    ("library", 0.25),
    ("pc-login", 0.3),
    ("records-login", 0.05),
    ("online-meeting", 0.08),
];

/// Generates the university into `dir` (created if missing).
pub fn generate(spec: &DemoSpec, dir: &Path) -> Result<DemoFiles> {
    if !(1..=MAX_MODULES).contains(&spec.modules) {
        return Err(Error::Usage(format!("modules per cohort must be 1 to {MAX_MODULES}, not {}", spec.modules)));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let cal = AcademicCalendar::for_year(spec.year);
    let io = |e: std::io::Error| Error::io(dir, e);
    let mut w = Writers {
        students: create(
            dir,
            "students.csv",
            "student_id,given_name,family_name,email,date_of_birth,programme_code,department,level,stage,mode,start_date,expected_end_date,completion_date,status,status_date,visa_route,cas_number,funding_body,ethnicity,priority_flags,personal_tutor",
        )?,
        sessions: create(dir, "sessions.csv", "session_id,module_code,starts_at,ends_at,kind,delivery,room")?,
        class_lists: create(dir, "class-lists.csv", "session_id,student_id")?,
        swipes: create(dir, "swipes.csv", "student_id,room,swiped_at,reader_id")?,
        activity: create(dir, "activity-001.csv", ACTIVITY_HEADER)?,
        activity_part: 1,
        activity_rows: 0,
        dir: dir.to_path_buf(),
        absences: create(dir, "absences.csv", "student_id,starts_on,ends_on,kind,reference")?,
        id_map: create(dir, "student-id-map.csv", "student_id,domain,identifier")?,
        truth: create(
            dir,
            "truth.csv",
            "student_id,engagement,disengage_week,disengage_monday,distance,not_monitored",
        )?,
    };
    let mut terms = create(dir, "terms.csv", "academic_year,term,starts_on,ends_on")?;
    for term in &cal.terms {
        writeln!(terms, "{},{},{},{}", cal.label(), term.name, term.starts_on, term.ends_on).map_err(io)?;
    }
    terms.flush().map_err(io)?;
    // Statuses are dated by the students file's status_date; no back-dated periods.
    create(dir, "status-changes.csv", "student_id,status,starts_on,ends_on,reference")?.flush().map_err(io)?;

    let mut counts = DemoCounts::default();
    let cohorts = spec.students.div_ceil(COHORT_SIZE);
    let mut next_student = 0u32;
    for cohort in 0..cohorts {
        let size = COHORT_SIZE.min(spec.students - next_student);
        generate_cohort(spec, &cal, cohort, next_student, size, &mut w, &mut counts).map_err(io)?;
        next_student += size;
    }
    generate_graduates(spec, &mut w, &mut counts).map_err(io)?;
    write_staff(dir).map_err(io)?;
    for f in [
        &mut w.students,
        &mut w.sessions,
        &mut w.class_lists,
        &mut w.swipes,
        &mut w.activity,
        &mut w.absences,
        &mut w.id_map,
        &mut w.truth,
    ] {
        f.flush().map_err(io)?;
    }
    Ok(DemoFiles { dir: dir.to_path_buf(), activity_files: w.activity_part, counts })
}

/// The demo's staff list: a personal tutor for each `T` number the students carry, and one
/// member of staff for each other console role.
fn write_staff(dir: &Path) -> std::io::Result<()> {
    let mut staff = std::io::BufWriter::new(std::fs::File::create(dir.join("staff.csv"))?);
    writeln!(staff, "staff_id,email,name,roles,department")?;
    for t in 1..400 {
        let department = people::DEPARTMENTS[t % people::DEPARTMENTS.len()].0;
        writeln!(staff, "T{t:04},t{t:04}@staff.example.ac.uk,Tutor {t},tutor,{department}")?;
    }
    let lead_department = people::programme(0).department;
    for (id, email, name, roles, department) in [
        ("D0001", "lead", "Department Lead", "tutor;department-lead", lead_department),
        ("P0001", "progress", "Progress Officer", "progress", ""),
        ("C0001", "compliance", "Compliance Officer", "compliance", ""),
        ("R0001", "dpo", "Data Protection Officer", "dpo", ""),
        ("N0001", "planner", "Planning Officer", "planner", ""),
    ] {
        writeln!(staff, "{id},{email}@staff.example.ac.uk,{name},{roles},{department}")?;
    }
    staff.flush()
}

/// Writes a fresh random 32-byte key (the pseudonym or audit key) readable only by its owner.
pub fn write_key(dir: &Path, name: &str) -> Result<PathBuf> {
    use rand::RngCore;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = std::path::absolute(dir.join(name)).map_err(|e| Error::io(dir, e))?;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    std::fs::write(&path, key).map_err(|e| Error::io(&path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| Error::io(&path, e))?;
    }
    Ok(path)
}
fn rng_for(seed: u64, stream: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng.set_word_pos(u128::from(index) << 20);
    rng
}

struct Session {
    id: String,
    room: String,
    starts: NaiveDateTime,
    ends: NaiveDateTime,
    week: u32,
}

fn generate_cohort(
    spec: &DemoSpec,
    cal: &AcademicCalendar,
    cohort: u32,
    first: u32,
    size: u32,
    w: &mut Writers,
    counts: &mut DemoCounts,
) -> std::io::Result<()> {
    let mut rng = rng_for(spec.seed, 1, u64::from(cohort));
    let programme = people::programme(cohort);
    let stage = cohort % 4; // 0 foundation .. 3 final year; every fourth programme cohort is taught at level 7
    let postgraduate = cohort % 9 == 8;
    let (level, stage) = if postgraduate { (7, 1) } else { (3 + stage, stage) };
    let lecture_room = format!("{}-L{:03}", programme.building, cohort);
    let seminar_room = format!("{}-S{:03}", programme.building, cohort);

    // The weekly timetable: each module a lecture and a seminar at fixed slots.
    // A cohort is never timetabled in two places at once.
    let mut slots: Vec<(u32, &str, String, u32, u32, u32)> = Vec::new();
    for module in 0..spec.modules {
        for (kind, room, hours) in [("lecture", &lecture_room, 1), ("seminar", &seminar_room, 2)] {
            loop {
                let weekday = rng.random_range(0..5u32);
                let hour = rng.random_range(9..(18 - hours));
                let clash = slots.iter().any(|(_, _, _, d, h, n)| *d == weekday && hour < h + n && *h < hour + hours);
                if !clash {
                    slots.push((module, kind, room.clone(), weekday, hour, hours));
                    break;
                }
            }
        }
    }
    let mut sessions = Vec::new();
    for (week, monday) in cal.teaching_weeks() {
        for (module, kind, room, weekday, hour, hours) in &slots {
            let day = monday + Duration::days(i64::from(*weekday));
            if !cal.is_teaching_day(day) {
                continue;
            }
            let starts = day.and_time(NaiveTime::from_hms_opt(*hour, 0, 0).expect("valid hour"));
            let id = format!("{}{}-C{cohort}-{}-{}", programme.code, level, module + 1, day.format("%Y%m%d"));
            let id = format!("{id}-{}", if *kind == "lecture" { "L" } else { "S" });
            let ends = starts + Duration::hours(i64::from(*hours));
            writeln!(
                w.sessions,
                "{id},{}{}{:02},{},{},{kind},in-person,{room}",
                programme.code,
                level,
                module + 1,
                iso(starts),
                iso(ends)
            )?;
            sessions.push(Session { id, room: room.clone(), starts, ends, week });
        }
    }
    counts.sessions += sessions.len() as u64;

    for i in first..first + size {
        let profile = generate_student(spec, cal, &programme, level, stage, i, w, counts)?;
        let mut rng = rng_for(spec.seed, 2, u64::from(i));
        if !profile.distance {
            for s in &sessions {
                writeln!(w.class_lists, "{},{}", s.id, profile.id)?;
                counts.class_list_rows += 1;
            }
            if !profile.not_monitored {
                generate_swipes(&profile, &sessions, &mut rng, w, counts)?;
            }
        }
        generate_activity(spec, cal, &profile, &mut rng, w, counts)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn generate_student(
    spec: &DemoSpec,
    cal: &AcademicCalendar,
    programme: &people::Programme,
    level: u32,
    stage: u32,
    index: u32,
    w: &mut Writers,
    counts: &mut DemoCounts,
) -> std::io::Result<Profile> {
    let mut rng = rng_for(spec.seed, 3, u64::from(index));
    let id = format!("S{:07}", 1_000_000 + index);
    let (given, family) = people::name(&mut rng);
    let engagement: f64 = 0.45 + 0.55 * rng.random::<f64>().powf(0.6);
    let distance = rng.random_bool(0.05);
    let status = match rng.random_range(0..100) {
        0..=1 => "intermitted",
        2..=4 if !distance => "placement",
        5 if !distance => "study-abroad",
        _ => "active",
    };
    let not_monitored = status != "active";
    // One student in eight stops engaging; a fixed share of them in week 4.
    let disengage_week = (!not_monitored && rng.random_bool(0.125))
        .then(|| if rng.random_bool(0.4) { 4 } else { rng.random_range(2..=22) });
    let visa = !distance && rng.random_bool(0.15);
    // Some who stop engaging later in the year go on to withdraw, six weeks after stopping.
    let withdrawn_on = disengage_week
        .filter(|w| *w >= 8 && rng.random_bool(0.4))
        .and_then(|w| cal.teaching_weeks().find(|(n, _)| *n == (w + 6).min(30)))
        .map(|(_, monday)| monday + Duration::days(2));
    let (status, status_date) = match (status, withdrawn_on) {
        (_, Some(day)) => ("withdrawn", day.to_string()),
        ("intermitted", _) => (status, (cal.terms[0].starts_on + Duration::days(rng.random_range(0..60))).to_string()),
        ("active", _) => (status, String::new()),
        _ => (status, cal.starts_on.to_string()),
    };
    let start_year = spec.year - stage.saturating_sub(1) as i32 - i32::from(stage == 0);
    let start = NaiveDate::from_ymd_opt(start_year, 9, 22).expect("valid date");
    let years_left = if level == 7 { 1 } else { 4 - stage.min(3) as i32 };
    let expected_end = NaiveDate::from_ymd_opt(spec.year + years_left, 6, 30).expect("valid date");
    let funding = if visa {
        "self"
    } else {
        ["SFE", "SFE", "SFE", "SFE", "SFW", "SFNI", "SAAS", "NHS", "sponsor", "self"][rng.random_range(0..10)]
    };
    let ethnicity = people::ethnicity(&mut rng);
    let mut flags = Vec::new();
    for (flag, p) in [
        ("repeating", 0.03),
        ("returning", 0.02),
        ("clearing", 0.06),
        ("changed-course", 0.03),
        ("support-needs", 0.08),
        ("known-concern", 0.02),
    ] {
        if rng.random_bool(p) {
            flags.push(flag);
        }
    }
    let absence = (!not_monitored && rng.random_bool(0.04)).then(|| {
        let (_, monday) = cal.teaching_weeks().nth(rng.random_range(3..20)).expect("enough teaching weeks");
        (monday, monday + Duration::days(rng.random_range(8..21)))
    });
    if let Some((from, to)) = absence {
        writeln!(w.absences, "{id},{from},{to},authorised,AA-{index:06}")?;
        counts.absences += 1;
    }
    // Their identities elsewhere: the VLE's numeric user id and the card number.
    writeln!(w.id_map, "{id},vle,{}", 20_000 + index)?;
    writeln!(w.id_map, "{id},card,C{:08}", 40_000_000 + index)?;
    let dob = NaiveDate::from_ymd_opt(
        spec.year - 18 - stage as i32 - rng.random_range(0..3),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    )
    .expect("valid date");
    writeln!(
        w.students,
        "{id},{given},{family},{}@student.example.ac.uk,{dob},{}{level},{},{level},{stage},{},{start},{expected_end},,{status},{status_date},{},{},{funding},{ethnicity},{},T{:04}",
        id.to_lowercase(),
        programme.code,
        programme.department,
        if distance {
            "distance"
        } else if rng.random_bool(0.1) {
            "part-time"
        } else {
            "full-time"
        },
        if visa { "student" } else { "" },
        if visa { format!("E4G{:09}", rng.random_range(0..1_000_000_000u64)) } else { String::new() },
        flags.join(";"),
        rng.random_range(1..400),
    )?;
    counts.students += 1;
    if disengage_week.is_some() {
        counts.disengaging += 1;
    }
    let monday = disengage_week
        .and_then(|week| cal.teaching_weeks().find(|(n, _)| *n == week))
        .map(|(_, m)| m.to_string())
        .unwrap_or_default();
    writeln!(
        w.truth,
        "{id},{engagement:.3},{},{monday},{distance},{not_monitored}",
        disengage_week.map(|w| w.to_string()).unwrap_or_default()
    )?;
    Ok(Profile { id, engagement, disengage_week, distance, not_monitored, absence })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join("sessions.csv")).unwrap().lines().skip(1).map(str::to_string).collect()
    }

    #[test]
    fn modules_set_the_timetable_and_keep_the_first_ones() {
        let dir = tempfile::tempdir().unwrap();
        let spec = |modules| DemoSpec { students: 60, modules, vle_per_day: 1.0, ..DemoSpec::default() };
        let three = generate(&spec(3), &dir.path().join("three")).unwrap();
        let five = generate(&spec(5), &dir.path().join("five")).unwrap();
        let module_codes = |rows: &[String]| {
            rows.iter().map(|r| r.split(',').nth(1).unwrap().to_string()).collect::<std::collections::BTreeSet<_>>()
        };
        let (s3, s5) = (sessions(&three.dir), sessions(&five.dir));
        assert_eq!(module_codes(&s3).len(), 3);
        assert_eq!(module_codes(&s5).len(), 5);
        // The extra modules come on top: the first three keep their slots.
        let codes3 = module_codes(&s3);
        let first_three: Vec<&String> = s5.iter().filter(|r| codes3.contains(r.split(',').nth(1).unwrap())).collect();
        assert_eq!(first_three, s3.iter().collect::<Vec<_>>());
        assert!(
            five.counts.swipes as f64 > three.counts.swipes as f64 * 1.4,
            "{} vs {}",
            five.counts.swipes,
            three.counts.swipes
        );
        assert_eq!(five.counts.class_list_rows, five.counts.sessions * 60 - distance_rows(&five));
    }

    /// Class-list rows missing because distance learners are not on class lists.
    fn distance_rows(files: &DemoFiles) -> u64 {
        let truth = std::fs::read_to_string(files.dir.join("truth.csv")).unwrap();
        let distance = truth.lines().skip(1).filter(|l| l.split(',').nth(4) == Some("true")).count() as u64;
        distance * files.counts.sessions
    }

    #[test]
    fn modules_out_of_range_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for modules in [0, MAX_MODULES + 1] {
            let spec = DemoSpec { students: 10, modules, ..DemoSpec::default() };
            let err = generate(&spec, dir.path()).unwrap_err();
            assert!(matches!(err, Error::Usage(ref m) if m.contains("modules")), "{err}");
        }
    }
}
