//! Jisc Unified Data Definitions (UDD v1.6, released 1 August 2020;
//! github.com/jiscdev/analytics-udd): a folder of tab-separated student-records files,
//! one per entity, each with a header of UDD property names.
//!
//! File names follow Jisc's convention (`implementation/filename_conventions.md`: the API
//! endpoint name, `courseinstance.tsv`, `studentcourseinstance.tsv`, `studentevent.tsv`,
//! `studentidmap.tsv`, ...) or the entity's own name (`course_instance.tsv`, ...); both are
//! read, in any case. Each ingest says, for every entity it reads, whether its file was
//! found, is absent and optional, or is absent and needed by a file that is there.
//!
//! | UDD entity (file) | becomes |
//! |---|---|
//! | `period` (`udd/period.md`): every period but the academic year (PERIOD_CODE `ACADYR`) that contains no other period of its year, i.e. the terms or semesters | `terms` (ACADEMIC_YEAR 2025 is `2025-26`; the term is PERIOD_NAME, else PERIOD_CODE). Files of the 2016 drafts with PERIOD_TYPE keep the periods of type TERM. |
//! | `student` + `student_on_course_instance` + `course_instance` (+ `course`) | `students` |
//! | `student_id_map` (`udd/student_id_map.md`: DOMAIN, IDENTIFIER; DOMAIN_MAPPED_ID before v1.6), and `student.VLE_ID` as domain `vle` | `student-id-map` (DOMAIN in lower case: the reserved `VLE` is `vle`) |
//! | `event` (`udd/event.md`) + the MOD_INSTANCE_ID of its `student_event` rows (v1.5.1 moved it there from `event`) + `module_instance` | `sessions` (module code = MOD_ID; MOD_ONLINE 1 is online delivery) |
//! | `student_event`, else `student_on_a_module_instance` x `event.MOD_INSTANCE_ID` (before v1.5.1) | `class-lists` |
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
use files::{Entity, Out, Table, read};

/// The entities read, by UDD name and Jisc's file name (the API endpoint).
const STUDENT: Entity = Entity { entity: "student", endpoint: "student" };
const ON_COURSE: Entity = Entity { entity: "student_on_course_instance", endpoint: "studentcourseinstance" };
const COURSE_INSTANCE: Entity = Entity { entity: "course_instance", endpoint: "courseinstance" };
const COURSE: Entity = Entity { entity: "course", endpoint: "course" };
const MODULE_INSTANCE: Entity = Entity { entity: "module_instance", endpoint: "moduleinstance" };
const ON_MODULE: Entity = Entity { entity: "student_on_a_module_instance", endpoint: "studentmoduleinstance" };
const EVENT: Entity = Entity { entity: "event", endpoint: "event" };
const STUDENT_EVENT: Entity = Entity { entity: "student_event", endpoint: "studentevent" };
const PERIOD: Entity = Entity { entity: "period", endpoint: "period" };
const ID_MAP: Entity = Entity { entity: "student_id_map", endpoint: "studentidmap" };

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
    let mut load = |entity: Entity| read(folder, entity, &mut problems);
    let udd = Udd {
        student: load(STUDENT)?,
        on_course: load(ON_COURSE)?,
        course_instance: load(COURSE_INSTANCE)?,
        course: load(COURSE)?,
        module_instance: load(MODULE_INSTANCE)?,
        on_module: load(ON_MODULE)?,
        event: load(EVENT)?,
        student_event: load(STUDENT_EVENT)?,
        period: load(PERIOD)?,
        id_map: load(ID_MAP)?,
    };
    let (inventory, missing) = udd.inventory();
    problems.extend(
        missing
            .into_iter()
            .map(|(path, reason)| (path, Reject { line: 0, column: String::new(), reason, record: None })),
    );
    if !problems.is_empty() {
        let mut report = refusal(problems);
        report.notes = inventory;
        return Ok(vec![report]);
    }
    if [&udd.student, &udd.event, &udd.period, &udd.id_map].iter().all(|t| t.is_none()) {
        return Err(Error::Usage(format!(
            "{}: no UDD files found (student.tsv, event.tsv, period.tsv, studentidmap.tsv or student_id_map.tsv, ...)",
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
        if reports.is_empty() {
            report.notes = inventory.clone();
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

impl Udd {
    /// One line per entity: found (as which file), absent and optional, or absent and
    /// needed; and the needed ones missing, each as (a file that needs it, why).
    fn inventory(&self) -> (Vec<String>, Vec<(PathBuf, String)>) {
        let entries: [(Entity, &Option<Table>); 10] = [
            (STUDENT, &self.student),
            (ON_COURSE, &self.on_course),
            (COURSE_INSTANCE, &self.course_instance),
            (COURSE, &self.course),
            (MODULE_INSTANCE, &self.module_instance),
            (ON_MODULE, &self.on_module),
            (EVENT, &self.event),
            (STUDENT_EVENT, &self.student_event),
            (PERIOD, &self.period),
            (ID_MAP, &self.id_map),
        ];
        let mut needs: Vec<(Entity, &Table, &'static str)> = Vec::new();
        if let Some(student) = &self.student {
            if self.course_instance.is_none() {
                needs.push((COURSE_INSTANCE, student, "it gives each student's programme and start date"));
            }
            if self.on_course.is_none() && self.on_module.is_none() {
                needs.push((ON_COURSE, student, "it gives each student's course instance, mode, stage and status"));
            }
        }
        if let Some(event) = &self.event {
            let old_layout = self.on_module.is_some() && event.header.iter().any(|h| h == "MOD_INSTANCE_ID");
            if self.student_event.is_none() && !old_layout {
                needs.push((STUDENT_EVENT, event, "it says who is expected at each event and its module (UDD v1.6)"));
            }
        }
        let mut lines = Vec::new();
        for (entity, table) in entries {
            let status = match table {
                Some(t) => format!("found ({})", t.path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()),
                None if needs.iter().any(|(e, _, _)| e.entity == entity.entity) => "absent, required".to_string(),
                None => "absent, optional".to_string(),
            };
            lines.push(format!("UDD {} ({}.tsv or {}.tsv): {status}", entity.entity, entity.endpoint, entity.entity));
        }
        let missing = needs
            .into_iter()
            .map(|(entity, by, why)| {
                let name = by.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                (
                    by.path.clone(),
                    format!("{name} needs {}.tsv (or {}.tsv), which is absent: {why}", entity.endpoint, entity.entity),
                )
            })
            .collect();
        (lines, missing)
    }
}

/// `terms` from `period`: every period but the academic year (PERIOD_CODE `ACADYR`) that
/// contains no other period of its year (UDD v1.6 has no period type: the finest periods
/// are the terms or semesters); with the 2016 draft's PERIOD_TYPE, the periods of type TERM.
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
    let typed = period.header.iter().any(|h| h == "PERIOD_TYPE");
    let candidates: Vec<&(u64, Vec<String>)> =
        period.rows.iter().filter(|(_, r)| !period.get(r, "PERIOD_CODE").eq_ignore_ascii_case("ACADYR")).collect();
    let contains = |outer: &[String], inner: &[String]| {
        let (o_start, o_end) = (period.get(outer, "PERIOD_START_DATE"), period.get(outer, "PERIOD_END_DATE"));
        let (i_start, i_end) = (period.get(inner, "PERIOD_START_DATE"), period.get(inner, "PERIOD_END_DATE"));
        period.get(outer, "ACADEMIC_YEAR") == period.get(inner, "ACADEMIC_YEAR")
            && o_start <= i_start
            && i_end <= o_end
            && (o_start, o_end) != (i_start, i_end)
    };
    for (line, row) in &period.rows {
        let keep = if typed {
            period.get(row, "PERIOD_TYPE").eq_ignore_ascii_case("TERM")
        } else {
            !period.get(row, "PERIOD_CODE").eq_ignore_ascii_case("ACADYR")
                && !candidates.iter().any(|(_, other)| contains(row, other))
        };
        if !keep {
            continue;
        }
        let name = match (period.get(row, "PERIOD_NAME"), period.get(row, "PERIOD_CODE")) {
            ("", "") => period.get(row, "PERIOD_ID"),
            ("", code) => code,
            (n, _) => n,
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
        &[("student_id", "STUDENT_ID"), ("domain", "DOMAIN"), ("identifier", "IDENTIFIER")],
    )?;
    if let Some(map) = &id_map {
        // v1.6 names the identifier IDENTIFIER; earlier versions DOMAIN_MAPPED_ID.
        let column = if map.header.iter().any(|h| h == "IDENTIFIER") { "IDENTIFIER" } else { "DOMAIN_MAPPED_ID" };
        for (line, r) in &map.rows {
            let domain = map.get(r, "DOMAIN").to_lowercase();
            out.row((&map.path, *line), &[map.get(r, "STUDENT_ID"), &domain, map.get(r, column)])?;
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

/// `sessions` from `event`, with the module code and delivery from `module_instance`: the
/// event's module instance is the MOD_INSTANCE_ID of its `student_event` rows (v1.5.1 and
/// later), else `event.MOD_INSTANCE_ID` (earlier versions); an event linked to no module
/// (an induction, say) has module code `no module`.
fn sessions(udd: &Udd, event: &Table, staging: &Path) -> Result<Out> {
    let module_instance = &udd.module_instance;
    let mut linked: HashMap<&str, &str> = HashMap::new();
    if let Some(se) = &udd.student_event {
        for (_, r) in &se.rows {
            let instance = se.get(r, "MOD_INSTANCE_ID");
            if !instance.is_empty() {
                linked.entry(se.get(r, "EVENT_ID")).or_insert(instance);
            }
        }
    }
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
            ("module_code", "MOD_INSTANCE_ID (student_event)"),
            ("starts_at", "EVENT_START"),
            ("ends_at", "EVENT_END"),
            ("kind", "EVENT_TYPE_RAW"),
            ("room", "ROOM_ID"),
        ],
    )?;
    for (line, r) in &event.rows {
        let instance = match linked.get(event.get(r, "EVENT_ID")) {
            Some(instance) => instance,
            None => event.get(r, "MOD_INSTANCE_ID"),
        };
        let module = module_instance.as_ref().zip(modules.get(instance).copied());
        let module_code = match (module.map(|(t, m)| t.get(m, "MOD_ID")).unwrap_or(""), instance) {
            ("", "") => "no module",
            ("", instance) => instance,
            (code, _) => code,
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
            export: None,
        })
        .collect();
    IngestReport {
        kind: "jisc-udd",
        files,
        attendance: None,
        elapsed: std::time::Duration::ZERO,
        notes: Vec::new(),
        exported: false,
    }
}
