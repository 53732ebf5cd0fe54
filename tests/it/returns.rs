//! `rollcall return ukvi`: each event type, working-day deadlines, authorised absence,
//! recording, and the spreadsheet.

use crate::common::Env;
use crate::fixtures::{d, days, swipes, timetable, university, weekday};

/// A sponsored student row with a status date, completion and expected end.
fn sponsored(id: &str, status: &str, status_date: &str, completion: &str, expected_end: &str) -> String {
    format!(
        "{id},P1,Dept P1,4,1,full-time,2025-09-22,{status},{status_date},{completion},{expected_end},student,CAS{id},,T01"
    )
}

const HEADER: &str = "student_id,programme_code,department,level,stage,mode,start_date,status,status_date,completion_date,expected_end_date,visa_route,cas_number,priority_flags,personal_tutor";

fn setup() -> Env {
    let env = university(&[]);
    let rows = [
        sponsored("NS", "active", "", "", "2028-06-30"), // never engages
        sponsored("ST", "active", "", "", "2028-06-30"), // attends week one, then stops
        sponsored("AB", "active", "", "", "2028-06-30"), // attends week one, then authorised absence
        sponsored("WD", "withdrawn", "2025-12-19", "", "2028-06-30"), // withdrew on Friday 19 December
        sponsored("IN", "intermitted", "2026-04-02", "", "2028-06-30"), // suspended the day before Good Friday
        sponsored("CE", "completed", "2026-01-15", "2026-01-15", "2026-06-30"), // completed early
        "HOME,P1,Dept P1,4,1,full-time,2025-09-22,active,,,,,,,T01".to_string(), // not sponsored
        // Started in 2023, before any term held: there is nothing to judge enrolment by.
        "OLD,P1,Dept P1,6,3,full-time,2023-09-22,active,,,2026-06-30,student,CASOLD,,T01".to_string(),
    ];
    let file = env.file("sponsored.csv", &format!("{HEADER}\n{}\n", rows.join("\n")));
    env.ingest("students", &[&file]);
    timetable(&env, &days("2025-09-29", "2025-12-12", weekday), &["NS", "ST", "AB", "WD", "IN", "CE", "HOME"]);
    let week_one = days("2025-09-29", "2025-10-03", weekday);
    swipes(&env, "st.csv", "ST", &week_one);
    swipes(&env, "ab.csv", "AB", &week_one);
    // WD, IN and CE attend all autumn: active then, they are judged like everyone else.
    for (file, id) in [("wd.csv", "WD"), ("in.csv", "IN"), ("ce.csv", "CE")] {
        swipes(&env, file, id, &days("2025-09-29", "2025-12-12", weekday));
    }
    env.ingest(
        "absences",
        &[&env.file("ab-abs.csv", "student_id,starts_on,ends_on,kind\nAB,2025-10-06,2025-10-24,authorised\n")],
    );
    env
}

fn ukvi(env: &Env, day: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--format", "csv", "return", "ukvi", "--as-of", day];
    args.extend_from_slice(extra);
    let run = env.run(&args).ok();
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("student_id,cas_number,event,trigger_date,report_by,rule,overdue"));
    lines.map(str::to_string).collect()
}

#[test]
fn each_event_with_its_working_day_deadline() {
    let env = setup();
    // 24 October: NS never engaged by 6 October (start + 14 days), due 20 October, overdue.
    // ST missed ten sessions from 6 October: the tenth on Friday 17 October, due 31 October.
    // AB's missed sessions were all excused by the authorised absence: not reported.
    assert_eq!(
        ukvi(&env, "2025-10-24", &[]),
        [
            "NS,CASNS,did not enrol or never engaged,2025-10-06,2025-10-20,no engagement of any kind in the 14 days after the course start on 2025-09-22,yes",
            "ST,CASST,stopped engaging,2025-10-17,2025-10-31,10 consecutive expected sessions missed since the last one attended,no",
        ]
    );
    let later = ukvi(&env, "2026-04-30", &[]);
    let brief: Vec<String> = later.iter().map(|l| l.split(',').take(5).collect::<Vec<_>>().join(",")).collect();
    assert_eq!(
        brief,
        [
            "NS,CASNS,did not enrol or never engaged,2025-10-06,2025-10-20",
            "ST,CASST,stopped engaging,2025-10-17,2025-10-31",
            // AB's absence ended on 24 October: ten more sessions missed by Friday 7 November.
            "AB,CASAB,stopped engaging,2025-11-07,2025-11-21",
            // Friday 19 December: ten working days skip Christmas, Boxing Day and New Year's Day.
            "WD,CASWD,withdrawn,2025-12-19,2026-01-07",
            "CE,CASCE,completed early,2026-01-15,2026-01-29",
            // Thursday 2 April: Good Friday and Easter Monday skipped.
            "IN,CASIN,intermitted (suspended),2026-04-02,2026-04-20",
        ]
    );
    assert!(later.iter().all(|l| !l.contains("HOME")), "only sponsored students");
    assert!(later.iter().all(|l| !l.contains("OLD")), "no enrolment verdict on a course started before the data");
}

#[test]
fn recorded_events_are_not_listed_again_and_the_return_is_minimum_data() {
    let env = setup();
    let first = ukvi(&env, "2025-10-24", &["--record"]);
    assert_eq!(first.len(), 2);
    assert!(ukvi(&env, "2025-10-24", &[]).is_empty());
    assert_eq!(env.scalar("SELECT count(*) FROM ukvi_reports"), "2");
    // The return holds no names, ratings or activity detail.
    let all = ukvi(&env, "2026-04-30", &[]).join("\n");
    for absent in ["Dept", "T01", "Very Low", "vle", "P1"] {
        assert!(!all.contains(absent), "{absent} in the return");
    }
}

#[test]
fn days_without_engagement_rule() {
    let env = setup();
    crate::fixtures::configure(
        &env,
        "engagement_rule = \"missed-contact-points\"",
        "engagement_rule = \"days-without-engagement\"",
    );
    crate::fixtures::configure(&env, "engagement_threshold = 10", "engagement_threshold = 21");
    // ST last engaged on Friday 3 October: the 21st day without engagement is 24 October.
    let lines = ukvi(&env, "2025-10-31", &[]);
    assert!(
        lines.iter().any(|l| l.starts_with("ST,CASST,stopped engaging,2025-10-24,2025-11-07,21 days without")),
        "{lines:?}"
    );
    // AB: 4 and 5 October count, 6 to 24 October is excused, then 25 October is the third
    // counted day: the 21st is 12 November.
    let lines = ukvi(&env, "2025-11-20", &[]);
    assert!(lines.iter().any(|l| l.starts_with("AB,CASAB,stopped engaging,2025-11-12,")), "{lines:?}");
}

#[test]
fn the_return_as_a_spreadsheet_has_dates_as_dates() {
    let env = setup();
    let out = env.dir.path().join("ukvi.xlsx");
    env.run(&["--out", out.to_str().unwrap(), "return", "ukvi", "--as-of", "2025-10-24"]).ok();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an xlsx file is a zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut sheet).unwrap();
    // 6 October 2025 is Excel serial 45936, stored as a number with a date format.
    assert!(sheet.contains("<v>45936</v>"), "{sheet}");
    let mut styles = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("xl/styles.xml").unwrap(), &mut styles).unwrap();
    assert!(styles.contains("yyyy-mm-dd"), "{styles}");
    let _ = d("2025-10-06");
}

#[test]
fn funder_return_liability_periods_and_last_engagement() {
    let env = university(&[]);
    let header = "student_id,programme_code,department,level,stage,mode,start_date,status,status_date,funding_body";
    let rows = [
        "ON,P1,D,4,1,full-time,2025-09-22,active,,SFE", // attends all autumn and spring
        "GONE,P1,D,4,1,full-time,2025-09-22,active,,SFE", // attends until 31 October only
        "NEVER,P1,D,4,1,full-time,2025-09-22,active,,SFE", // never attends
        "LEFT,P1,D,4,1,full-time,2025-09-22,withdrawn,2025-11-20,SFE", // attends to 14 Nov, withdraws 20 Nov
        "SUSP,P1,D,4,1,full-time,2025-09-22,intermitted,2026-02-02,SFE", // attends to 30 Jan, suspended 2 Feb
        "WALES,P1,D,4,1,full-time,2025-09-22,active,,SFW", // another body
    ];
    env.ingest("students", &[&env.file("f.csv", &format!("{header}\n{}\n", rows.join("\n")))]);
    let teaching = [days("2025-09-29", "2025-12-12", weekday), days("2026-01-12", "2026-03-27", weekday)].concat();
    timetable(&env, &teaching, &["ON", "GONE", "NEVER", "LEFT", "SUSP", "WALES"]);
    swipes(&env, "on.csv", "ON", &teaching);
    swipes(&env, "gone.csv", "GONE", &days("2025-09-29", "2025-10-31", weekday));
    swipes(&env, "left.csv", "LEFT", &days("2025-09-29", "2025-11-14", weekday));
    swipes(&env, "susp.csv", "SUSP", &teaching.iter().copied().filter(|t| *t <= d("2026-01-30")).collect::<Vec<_>>());
    // The rule of earlier versions: any engagement within 28 days of the period's end.
    crate::fixtures::configure(
        &env,
        "attending_rule = \"rated-above-very-low\"",
        "attending_rule = \"engaged-within-days\"",
    );
    let run = env.run(&["--format", "csv", "return", "funder", "--body", "SFE", "--as-of", "2026-02-20"]).ok();
    let lines: Vec<String> = run.stdout.lines().map(|l| l.split(',').take(7).collect::<Vec<_>>().join(",")).collect();
    assert_eq!(lines[0], "student_id,funding_body,status,last_engagement_date,section,period,status_date");
    assert!(run.stdout.lines().next().unwrap().ends_with(",reason"));
    assert_eq!(
        lines[1..],
        [
            // Term 1 (to 31 December): 28 days before the end is 3 December.
            "GONE,SFE,not attending since 2025-10-31,2025-10-31,attendance confirmation,term 1,",
            // LEFT is judged up to withdrawing on 20 November: attending.
            "LEFT,SFE,attending,2025-11-14,attendance confirmation,term 1,",
            "NEVER,SFE,never attended,,attendance confirmation,term 1,",
            "ON,SFE,attending,2025-12-12,attendance confirmation,term 1,",
            "SUSP,SFE,attending,2025-12-12,attendance confirmation,term 1,",
            // Term 2 (from 1 January, to the return's date 20 February): never attended is for the first period only.
            "GONE,SFE,not attending since 2025-10-31,2025-10-31,attendance confirmation,term 2,",
            "NEVER,SFE,not attending,,attendance confirmation,term 2,",
            "ON,SFE,attending,2026-02-20,attendance confirmation,term 2,",
            "SUSP,SFE,attending,2026-01-30,attendance confirmation,term 2,",
            // Changes of circumstances: last engagement never after the status date.
            "LEFT,SFE,withdrawn,2025-11-14,change of circumstances,,2025-11-20",
            "SUSP,SFE,intermitted,2026-01-30,change of circumstances,,2026-02-02",
        ]
    );
}
