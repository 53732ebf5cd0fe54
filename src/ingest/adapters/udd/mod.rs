//! Jisc Unified Data Definitions (UDD v1.6): a folder of tab-separated student-records
//! files, one per entity, each with a header of UDD property names.
//!
//! | UDD file | becomes |
//! |---|---|
//! | `period` (PERIOD_TYPE `TERM`) | `terms` (ACADEMIC_YEAR 2025 is `2025-26`; the term is PERIOD_NAME) |
//! | `student` + `student_on_course_instance` + `course_instance` (+ `course`) | `students` |
//! | `student_id_map` (DOMAIN, DOMAIN_MAPPED_ID), and `student.VLE_ID` as domain `vle` | `student-id-map` |
//! | `event` + `module_instance` | `sessions` (module code = MOD_ID; MOD_ONLINE 1 is online delivery) |
//! | `student_event`, else `student_on_a_module_instance` x `event` | `class-lists` |
//!
//! A student's course is their `student_on_course_instance` of the latest ACADEMIC_YEAR
//! (or, without that file, the course instance of their module registrations):
//! programme = COURSE_ID, start date = the course instance's START_DATE, stage = YEAR_PRG
//! (1 if absent), mode from MODE (HESA: 1-25 full-time, 31-74 part-time) with
//! LOCATION_OF_STUDY 6 or 9 meaning distance, status from PROGRESSION (20 completed;
//! 30, 40, 70 withdrawn; 60 intermitted; otherwise active), level from the course's
//! COURSE_AIM (D, E, L, M: 7; H, I: 6; J: 5; C: 4; default 6), department from the
//! course's INST_TIER_2, else INST_TIER_1. ETHNICITY goes, as always, to the equality table
//! only.
//!
//! The files are translated into interchange files in a private directory inside the
//! warehouse and ingested as those kinds (validated, merged and committed the same way);
//! problems are reported against the UDD file, line and property.

mod codes;
mod files;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ingest::kinds;
use crate::ingest::parse::Reject;
use crate::ingest::{FileOutcome, IngestOptions, IngestReport};
use crate::warehouse::Warehouse;
use codes::{academic_year, level_of, mode_of, status_of};
use files::{Out, Table, read};

/// `jisc-udd FOLDER...`: returns one ingest report per interchange kind written.
pub async fn ingest(warehouse: &Warehouse, folders: &[PathBuf], options: &IngestOptions) -> Result<Vec<IngestReport>> {
    let mut reports = Vec::new();
    for folder in folders {
        if !folder.is_dir() {
            return Err(Error::Usage(format!("{}: jisc-udd reads a folder of UDD files", folder.display())));
        }
        let staging = warehouse.root().join("tmp").join(format!("udd-{}", std::process::id()));
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o700));
        }
        let result = ingest_folder(warehouse, folder, &staging, options).await;
        let _ = std::fs::remove_dir_all(&staging);
        reports.extend(result?);
    }
    Ok(reports)
}

async fn ingest_folder(
    warehouse: &Warehouse,
    folder: &Path,
    staging: &Path,
    options: &IngestOptions,
) -> Result<Vec<IngestReport>> {
    let mut problems = Vec::new();
    let mut load = |name: &str| read(folder, name, &mut problems);
    let udd = Udd {
        student: load("student")?,
        on_course: load("student_on_course_instance")?,
        course_instance: load("course_instance")?,
        course: load("course")?,
        module_instance: load("module_instance")?,
        on_module: load("student_on_a_module_instance")?,
        event: load("event")?,
        student_event: load("student_event")?,
        period: load("period")?,
        id_map: load("student_id_map")?,
    };
    if !problems.is_empty() {
        return Ok(vec![refusal(problems)]);
    }
    if [&udd.student, &udd.event, &udd.period, &udd.id_map].iter().all(|t| t.is_none()) {
        return Err(Error::Usage(format!(
            "{}: no UDD files found (student.tsv, event.tsv, period.tsv, student_id_map.tsv, ...)",
            folder.display()
        )));
    }

    let mut outs: Vec<Out> = Vec::new();
    if let Some(period) = &udd.period {
        outs.push(terms(period, staging)?);
    }
    if let Some(student) = &udd.student {
        outs.push(students(&udd, student, staging)?);
    }
    if udd.id_map.is_some() || udd.student.as_ref().is_some_and(|s| s.header.iter().any(|h| h == "VLE_ID")) {
        outs.push(id_map(&udd, staging)?);
    }
    if let Some(event) = &udd.event {
        outs.push(sessions(&udd, event, staging)?);
        outs.push(class_lists(&udd, event, staging)?);
    }

    // Write the interchange files, then ingest them in dependency order.
    let mut reports = Vec::new();
    for mut out in outs {
        out.writer.flush().map_err(|e| Error::io(&out.path, e))?;
        let kind = kinds::by_name(out.kind).expect("an interchange kind");
        let mut report = crate::ingest::ingest(warehouse, &kind, std::slice::from_ref(&out.path), options).await?;
        let primary = out.sources.first().map(|s| s.0.clone()).unwrap_or_else(|| folder.to_path_buf());
        for file in &mut report.files {
            file.path = primary.clone();
            if let FileOutcome::Refused { problems } = &mut file.outcome {
                // Name the UDD file, line and property, not the staging file.
                for p in problems.iter_mut() {
                    if let Some((path, line)) = (p.line as usize).checked_sub(2).and_then(|i| out.sources.get(i)) {
                        if *path != primary {
                            p.reason = format!("{} (from {} line {line})", p.reason, path.display());
                        }
                        p.line = *line;
                    }
                    if let Some((_, property)) = out.properties.iter().find(|(c, _)| *c == p.column) {
                        p.column = (*property).to_string();
                    }
                }
            }
        }
        let refused = report.refused() > 0;
        reports.push(report);
        if refused {
            break;
        }
    }
    Ok(reports)
}

/// The UDD files of one folder (each absent when the folder has none).
struct Udd {
    student: Option<Table>,
    on_course: Option<Table>,
    course_instance: Option<Table>,
    course: Option<Table>,
    module_instance: Option<Table>,
    on_module: Option<Table>,
    event: Option<Table>,
    student_event: Option<Table>,
    period: Option<Table>,
    id_map: Option<Table>,
}

/// `terms` from `period` (the periods of type TERM).
fn terms(period: &Table, staging: &Path) -> Result<Out> {
    let mut out = Out::new(
        staging,
        "terms",
        &["academic_year", "term", "starts_on", "ends_on"],
        &[
            ("academic_year", "ACADEMIC_YEAR"),
            ("term", "PERIOD_NAME"),
            ("starts_on", "PERIOD_START_DATE"),
            ("ends_on", "PERIOD_END_DATE"),
        ],
    )?;
    for (line, row) in &period.rows {
        if !period.get(row, "PERIOD_TYPE").eq_ignore_ascii_case("TERM") {
            continue;
        }
        let name = match period.get(row, "PERIOD_NAME") {
            "" => period.get(row, "PERIOD_ID"),
            n => n,
        };
        out.row(
            (&period.path, *line),
            &[
                &academic_year(period.get(row, "ACADEMIC_YEAR")),
                name,
                period.get(row, "PERIOD_START_DATE"),
                period.get(row, "PERIOD_END_DATE"),
            ],
        )?;
    }
    Ok(out)
}

/// `students` from `student`, joined to the latest course registration, course instance and course.
fn students(udd: &Udd, student: &Table, staging: &Path) -> Result<Out> {
    let Udd { on_course, course_instance, course, on_module, .. } = udd;
    // Course instances and courses by id.
    let instances: HashMap<&str, &Vec<String>> = course_instance
        .iter()
        .flat_map(|t| t.rows.iter().map(move |(_, r)| (t.get(r, "COURSE_INSTANCE_ID"), r)))
        .collect();
    let courses: HashMap<&str, &Vec<String>> =
        course.iter().flat_map(|t| t.rows.iter().map(move |(_, r)| (t.get(r, "COURSE_ID"), r))).collect();
    // Each student's latest course registration.
    let mut registration: HashMap<&str, &Vec<String>> = HashMap::new();
    if let Some(on) = &on_course {
        for (_, r) in &on.rows {
            let id = on.get(r, "STUDENT_ID");
            let newer =
                registration.get(id).is_none_or(|held| on.get(r, "ACADEMIC_YEAR") >= on.get(held, "ACADEMIC_YEAR"));
            if newer {
                registration.insert(id, r);
            }
        }
    }
    let mut module_course: HashMap<&str, &str> = HashMap::new();
    if let Some(on) = &on_module {
        for (_, r) in &on.rows {
            module_course.insert(on.get(r, "STUDENT_ID"), on.get(r, "COURSE_INSTANCE_ID"));
        }
    }
    let mut out = Out::new(
        staging,
        "students",
        &[
            "student_id",
            "programme_code",
            "department",
            "level",
            "stage",
            "mode",
            "start_date",
            "status",
            "given_name",
            "family_name",
            "email",
            "date_of_birth",
            "expected_end_date",
            "ethnicity",
        ],
        &[
            ("student_id", "STUDENT_ID"),
            ("programme_code", "COURSE_ID (course_instance)"),
            ("department", "INST_TIER_2 (course)"),
            ("level", "COURSE_AIM (course)"),
            ("stage", "YEAR_PRG (student_on_course_instance)"),
            ("mode", "MODE (student_on_course_instance)"),
            ("start_date", "START_DATE (course_instance)"),
            ("status", "PROGRESSION (student_on_course_instance)"),
            ("given_name", "FIRST_NAME"),
            ("family_name", "LAST_NAME"),
            ("email", "PRIMARY_EMAIL_ADDRESS"),
            ("date_of_birth", "DOB"),
            ("expected_end_date", "END_DATE (course_instance)"),
            ("ethnicity", "ETHNICITY"),
        ],
    )?;
    let empty = Vec::new();
    for (line, row) in &student.rows {
        let id = student.get(row, "STUDENT_ID");
        let reg = registration.get(id).copied();
        let (on, on_row) = match (&on_course, reg) {
            (Some(t), Some(r)) => (Some(t), r),
            _ => (None, &empty),
        };
        let field = |name: &str| on.map(|t| t.get(on_row, name)).unwrap_or("");
        let instance_id = match field("COURSE_INSTANCE_ID") {
            "" => module_course.get(id).copied().unwrap_or(""),
            i => i,
        };
        let ci = course_instance.as_ref().zip(instances.get(instance_id).copied());
        let ci_field = |name: &str| ci.map(|(t, r)| t.get(r, name)).unwrap_or("");
        let programme = ci_field("COURSE_ID");
        let c = course.as_ref().zip(courses.get(programme).copied());
        let c_field = |name: &str| c.map(|(t, r)| t.get(r, name)).unwrap_or("");
        let department = match (c_field("INST_TIER_2"), c_field("INST_TIER_1")) {
            ("", "") => "",
            ("", one) => one,
            (two, _) => two,
        };
        let stage = match field("YEAR_PRG") {
            "" => "1",
            s => s,
        };
        out.row(
            (&student.path, *line),
            &[
                id,
                programme,
                if department.is_empty() { "not recorded" } else { department },
                level_of(c_field("COURSE_AIM")),
                stage,
                mode_of(field("MODE"), field("LOCATION_OF_STUDY")),
                ci_field("START_DATE"),
                status_of(field("PROGRESSION")),
                student.get(row, "FIRST_NAME"),
                student.get(row, "LAST_NAME"),
                student.get(row, "PRIMARY_EMAIL_ADDRESS"),
                student.get(row, "DOB"),
                ci_field("END_DATE"),
                student.get(row, "ETHNICITY"),
            ],
        )?;
    }
    Ok(out)
}

/// `student-id-map` from `student_id_map` and `student.VLE_ID` (domain `vle`).
fn id_map(udd: &Udd, staging: &Path) -> Result<Out> {
    let Udd { id_map, student, .. } = udd;
    let mut out = Out::new(
        staging,
        "student-id-map",
        &["student_id", "domain", "identifier"],
        &[("student_id", "STUDENT_ID"), ("domain", "DOMAIN"), ("identifier", "DOMAIN_MAPPED_ID")],
    )?;
    if let Some(map) = &id_map {
        for (line, r) in &map.rows {
            out.row(
                (&map.path, *line),
                &[map.get(r, "STUDENT_ID"), map.get(r, "DOMAIN"), map.get(r, "DOMAIN_MAPPED_ID")],
            )?;
        }
    }
    if let Some(student) = &student {
        for (line, r) in &student.rows {
            let vle = student.get(r, "VLE_ID");
            if !vle.is_empty() {
                out.row((&student.path, *line), &[student.get(r, "STUDENT_ID"), "vle", vle])?;
            }
        }
    }
    Ok(out)
}

/// `sessions` from `event`, with the module code and delivery from `module_instance`.
fn sessions(udd: &Udd, event: &Table, staging: &Path) -> Result<Out> {
    let module_instance = &udd.module_instance;
    let modules: HashMap<&str, &Vec<String>> = module_instance
        .iter()
        .flat_map(|t| t.rows.iter().map(move |(_, r)| (t.get(r, "MOD_INSTANCE_ID"), r)))
        .collect();
    let mut out = Out::new(
        staging,
        "sessions",
        &["session_id", "module_code", "starts_at", "ends_at", "kind", "delivery", "room"],
        &[
            ("session_id", "EVENT_ID"),
            ("module_code", "MOD_INSTANCE_ID"),
            ("starts_at", "EVENT_START"),
            ("ends_at", "EVENT_END"),
            ("kind", "EVENT_TYPE_RAW"),
            ("room", "ROOM_ID"),
        ],
    )?;
    for (line, r) in &event.rows {
        let instance = event.get(r, "MOD_INSTANCE_ID");
        let module = module_instance.as_ref().zip(modules.get(instance).copied());
        let module_code = match module.map(|(t, m)| t.get(m, "MOD_ID")).unwrap_or("") {
            "" => instance,
            code => code,
        };
        let online = module.is_some_and(|(t, m)| t.get(m, "MOD_ONLINE") == "1");
        let room = event.get(r, "ROOM_ID");
        let kind = match event.get(r, "EVENT_TYPE_RAW") {
            "" => event.get(r, "EVENT_TYPE"),
            k => k,
        };
        let delivery = if online && room.is_empty() { "online" } else { "in-person" };
        out.row(
            (&event.path, *line),
            &[
                event.get(r, "EVENT_ID"),
                module_code,
                event.get(r, "EVENT_START"),
                event.get(r, "EVENT_END"),
                kind,
                delivery,
                room,
            ],
        )?;
    }
    Ok(out)
}

/// `class-lists` from `student_event`, else from the module registrations of each event's module.
fn class_lists(udd: &Udd, event: &Table, staging: &Path) -> Result<Out> {
    let Udd { student_event, on_module, .. } = udd;
    let mut out = Out::new(
        staging,
        "class-lists",
        &["session_id", "student_id"],
        &[("session_id", "EVENT_ID"), ("student_id", "STUDENT_ID")],
    )?;
    if let Some(se) = &student_event {
        for (line, r) in &se.rows {
            out.row((&se.path, *line), &[se.get(r, "EVENT_ID"), se.get(r, "STUDENT_ID")])?;
        }
    } else if let Some(on) = &on_module {
        let mut by_instance: HashMap<&str, Vec<(u64, &str)>> = HashMap::new();
        for (line, r) in &on.rows {
            by_instance.entry(on.get(r, "MOD_INSTANCE_ID")).or_default().push((*line, on.get(r, "STUDENT_ID")));
        }
        for (_, r) in &event.rows {
            for (line, student_id) in by_instance.get(event.get(r, "MOD_INSTANCE_ID")).into_iter().flatten() {
                out.row((&on.path, *line), &[event.get(r, "EVENT_ID"), student_id])?;
            }
        }
    }
    Ok(out)
}

fn refusal(problems: Vec<(PathBuf, Reject)>) -> IngestReport {
    let files = problems
        .into_iter()
        .map(|(path, reject)| crate::ingest::FileReport {
            path,
            rows_read: 0,
            warnings: vec![],
            outcome: FileOutcome::Refused { problems: vec![reject] },
            days: None,
        })
        .collect();
    IngestReport { kind: "jisc-udd", files, attendance: None, elapsed: std::time::Duration::ZERO }
}
