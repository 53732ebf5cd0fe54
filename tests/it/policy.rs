//! The cases the policies are written for (issue "The right answer on the cases the
//! policies are written for"), each through the real binary on a small hand-built
//! warehouse. Each test is named by the case it checks.

use crate::common::*;
use crate::fixtures::{configure, days, swipes, timetable, university, weekday};

/// Case 9: the subject-access page states the lawful basis the configuration gives, not
/// "public task" whatever it says.
#[test]
fn case_9_the_subject_access_page_states_the_configured_lawful_basis() {
    let env = Env::new();
    let students = format!("{STUDENTS_HEADER}\n{}\n", student("S1", "active"));
    env.ingest("students", &[&env.file("students.csv", &students)]);
    let page = |name: &str| {
        let dir = env.dir.path().join(name);
        env.run(&["sar", "S1", "--out", dir.to_str().unwrap()]).ok();
        std::fs::read_to_string(dir.join("index.html")).unwrap()
    };
    let shipped = page("sar-default");
    assert!(shipped.contains("public task of education (UK GDPR article 6(1)(e))"), "{shipped}");

    configure(&env, "lawful_basis = \"public-task\"", "lawful_basis = \"legitimate-interests\"");
    let configured = page("sar-configured");
    assert!(configured.contains("legitimate interest in supporting its students (UK GDPR article 6(1)(f))"));
    assert!(!configured.contains("public task"), "the shipped basis is still stated");

    configure(&env, "lawful_basis = \"legitimate-interests\"", "lawful_basis = \"because\"");
    let refused = env.run(&["sar", "S1", "--out", env.dir.path().join("sar-bad").to_str().unwrap()]).code(1);
    assert!(refused.stderr.contains("unknown privacy.lawful_basis 'because'"), "{}", refused.stderr);
    assert!(refused.stderr.contains("rollcall.toml") && refused.stderr.contains("(line "), "{}", refused.stderr);
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Case 8: under the usual umask (022) the warehouse is created 0700 and every output is
/// 0600 (lists, ratings, returns, subject-access exports); `[output] mode` opens outputs
/// to a group and never the equality extract.
#[test]
fn case_8_the_warehouse_and_every_output_are_owner_only() {
    let env = university(&[crate::fixtures::student("S1", "P1", 1, "full-time", "active", "")]);
    assert_eq!(mode_of(&env.warehouse), 0o700);
    let out = |name: &str| env.dir.path().join(name).to_string_lossy().into_owned();
    let written = [
        (vec!["review", "--as-of", "2025-12-01"], out("review.csv")),
        (vec!["ratings", "--date", "2025-12-01"], out("ratings.csv")),
        (vec!["return", "ukvi", "--as-of", "2025-12-01"], out("ukvi.xlsx")),
        (vec!["return", "funder", "--body", "SFE", "--as-of", "2025-12-01"], out("funder.csv")),
        (vec!["sar", "S1"], out("sar")),
    ];
    for (args, path) in &written {
        let mut args = args.clone();
        args.extend(["--out", path.as_str()]);
        env.run(&args).ok();
    }
    for (_, path) in &written {
        let path = std::path::Path::new(path);
        if path.is_dir() {
            assert_eq!(mode_of(path), 0o700, "{}", path.display());
            for file in files_below(path) {
                assert_eq!(mode_of(&file), 0o600, "{}", file.display());
            }
        } else {
            assert_eq!(mode_of(path), 0o600, "{}", path.display());
        }
    }
    // Rollcall's own files in the warehouse (settings, audit trail, reference data, lock);
    // the tables' files are the table format's, behind the 0700 directory.
    for file in files_below(&env.warehouse).into_iter().filter(|f| !f.starts_with(env.warehouse.join("tables"))) {
        assert_eq!(mode_of(&file), 0o600, "{}", file.display());
    }

    configure(&env, "mode = \"0600\"", "mode = \"0640\"");
    env.run(&["review", "--as-of", "2025-12-01", "--out", &out("review-group.csv")]).ok();
    assert_eq!(mode_of(std::path::Path::new(&out("review-group.csv"))), 0o640);
    env.run(&["sar", "S1", "--out", &out("sar-group")]).ok();
    assert_eq!(mode_of(&env.dir.path().join("sar-group")), 0o750);
    assert_eq!(mode_of(&env.dir.path().join("sar-group/index.html")), 0o640);

    configure(&env, "mode = \"0640\"", "mode = \"0666\"");
    let refused = env.run(&["review", "--as-of", "2025-12-01"]).code(1);
    assert!(refused.stderr.contains("must not let others write"), "{}", refused.stderr);
}

/// Case 7: `disclose` and `consent` take fields from the catalogue only, and never
/// special-category data, whatever the basis; a refused disclosure logs nothing.
#[test]
fn case_7_disclosures_name_catalogue_fields_and_never_special_category_data() {
    let env = Env::new();
    let students = format!("{STUDENTS_HEADER}\n{}\n", student("S1", "active"));
    env.ingest("students", &[&env.file("students.csv", &students)]);
    let disclose = |basis: &str, fields: &str| {
        env.run(&[
            "disclose",
            "S1",
            "--recipient",
            "Police",
            "--basis",
            basis,
            "--purpose",
            "REQ-1",
            "--fields",
            fields,
            "--on",
            "2025-12-02",
        ])
    };
    for basis in ["crime-prevention", "vital-interests", "legal-obligation"] {
        let refused = disclose(basis, "given_name,ethnicity").code(1);
        assert!(refused.stderr.contains("'ethnicity' is special-category data"), "{}", refused.stderr);
    }
    let refused = disclose("crime-prevention", "priority_flags").code(1);
    assert!(refused.stderr.contains("special-category"), "{}", refused.stderr);
    let unknown = disclose("crime-prevention", "home_address").code(2);
    assert!(unknown.stderr.contains("'home_address' is not a disclosable field"), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("given_name"), "the catalogue is listed: {}", unknown.stderr);
    assert_eq!(env.scalar("SELECT count(*) FROM disclosures"), "0");

    disclose("crime-prevention", " given_name , family_name,attendance_rate ").ok();
    assert_eq!(env.scalar("SELECT fields FROM disclosures"), "given_name,family_name,attendance_rate");

    let consent = |fields: &str| {
        env.run(&[
            "consent",
            "S1",
            "--recipient",
            "Parent",
            "--fields",
            fields,
            "--from",
            "2025-12-01",
            "--to",
            "2026-01-31",
        ])
    };
    assert!(consent("ethnicity").code(1).stderr.contains("special-category"));
    assert_eq!(env.scalar("SELECT count(*) FROM consents"), "0");
    consent("attendance_rate").ok();
    assert_eq!(env.scalar("SELECT count(*) FROM consents"), "1");
}

/// Case 5: a finished student with no end date is reported by every purge (a count) and
/// listed by the dry run (ids), and the audit trail counts them; a completed student with
/// only an expected end date is due from it.
#[test]
fn case_5_students_without_an_end_date_are_reported_not_kept_silently() {
    let env = Env::new();
    let header =
        "student_id,programme_code,department,level,stage,mode,start_date,status,expected_end_date,completion_date";
    let students = format!(
        "{header}\nDONE1,CS4,Computing,4,1,full-time,2014-09-22,completed,2017-06-30,2017-06-30\n\
         NOEND1,CS4,Computing,4,1,full-time,2014-09-22,completed,,\n\
         NOEND2,CS4,Computing,4,1,full-time,2014-09-22,withdrawn,,\n\
         EXPECTED1,CS4,Computing,4,1,full-time,2014-09-22,completed,2017-06-30,\n\
         STUDYING1,CS4,Computing,4,1,full-time,2025-09-22,active,,\n"
    );
    env.ingest("students", &[&env.file("students.csv", &students)]);

    let dry = env.run(&["retention", "purge", "--as-of", "2025-12-01", "--dry-run"]).ok();
    assert_eq!(dry.stdout, "student_id,ended_on\nDONE1,2017-06-30\nEXPECTED1,2017-06-30\n");
    assert!(dry.stderr.contains("2 student(s) finished their studies with no end date held"), "{}", dry.stderr);
    assert!(dry.stderr.contains("  NOEND1\n") && dry.stderr.contains("  NOEND2\n"), "{}", dry.stderr);

    let real = env.run(&["retention", "purge", "--as-of", "2025-12-01"]).ok();
    assert!(real.stderr.contains("erased 2 student(s)"), "{}", real.stderr);
    assert!(real.stderr.contains("2 student(s) finished their studies with no end date held"), "{}", real.stderr);
    assert!(!real.stderr.contains("NOEND1"), "a real purge names no one: {}", real.stderr);
    let ids = env.sql("SELECT student_id FROM students ORDER BY student_id");
    assert_eq!(ids, ["student_id", "NOEND1", "NOEND2", "STUDYING1"]);

    let audit = std::fs::read_to_string(env.warehouse.join("audit/audit.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let purges: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| {
            e["command"].as_str().unwrap().starts_with("retention purge") && e["command"] != "retention purge run"
        })
        .collect();
    assert_eq!(purges.len(), 2);
    for entry in purges {
        assert_eq!(entry["details"]["students_undetermined"], 2, "{entry}");
    }
}

/// The UKVI return as `student,event,trigger,report_by` lines.
fn ukvi_events(env: &Env, as_of: &str, record: bool) -> Vec<String> {
    let mut args = vec!["--format", "csv", "return", "ukvi", "--as-of", as_of];
    if record {
        args.push("--record");
    }
    let run = env.run(&args).ok();
    let brief = |l: &str| {
        let f: Vec<&str> = l.split(',').collect();
        format!("{},{},{},{}", f[0], f[2], f[3], f[4])
    };
    run.stdout.lines().skip(1).map(brief).collect()
}

/// Case 3: a late starter who engages and then stops is reported as never having engaged
/// and, later, as having stopped; a student who stops, returns and stops again is reported
/// twice, each event once.
#[test]
fn case_3_ukvi_judges_each_event_on_its_own() {
    let env = university(&[]);
    let header = "student_id,programme_code,department,level,stage,mode,start_date,status,visa_route,cas_number";
    let rows = [
        "LATE,P1,D,4,1,full-time,2025-09-22,active,student,CAS1", // first engages 13 October, stops after 31 October
        "TWICE,P1,D,4,1,full-time,2025-09-22,active,student,CAS2", // week one, gone, back 20-31 October, gone
    ];
    env.ingest("students", &[&env.file("sponsored.csv", &format!("{header}\n{}\n", rows.join("\n")))]);
    timetable(&env, &days("2025-09-29", "2025-12-12", weekday), &["LATE", "TWICE"]);
    swipes(&env, "late.csv", "LATE", &days("2025-10-13", "2025-10-31", weekday));
    let twice = [days("2025-09-29", "2025-10-03", weekday), days("2025-10-20", "2025-10-31", weekday)].concat();
    swipes(&env, "twice.csv", "TWICE", &twice);

    // Missed contact points (ten in a row): LATE's run before engaging is the never-engaged
    // event; each later run of ten is a stop.
    assert_eq!(
        ukvi_events(&env, "2025-11-30", false),
        [
            "LATE,did not enrol or never engaged,2025-10-06,2025-10-20",
            "TWICE,stopped engaging,2025-10-17,2025-10-31",
            "LATE,stopped engaging,2025-11-14,2025-11-28",
            "TWICE,stopped engaging,2025-11-14,2025-11-28",
        ]
    );
    // Recorded as reported in October, each event is listed once: November brings only the new stops.
    assert_eq!(ukvi_events(&env, "2025-10-24", true).len(), 2);
    assert_eq!(
        ukvi_events(&env, "2025-11-30", false),
        ["LATE,stopped engaging,2025-11-14,2025-11-28", "TWICE,stopped engaging,2025-11-14,2025-11-28"]
    );
    assert_eq!(ukvi_events(&env, "2025-11-30", true).len(), 2);
    assert!(ukvi_events(&env, "2025-12-12", false).is_empty());

    // Days without engagement (seven): the same shape, counted in days.
    configure(&env, "engagement_rule = \"missed-contact-points\"", "engagement_rule = \"days-without-engagement\"");
    configure(&env, "engagement_threshold = 10", "engagement_threshold = 7");
    assert_eq!(
        ukvi_events(&env, "2025-11-30", false),
        [
            // Seven days from Saturday 4 October; and from Saturday 1 November for both.
            "TWICE,stopped engaging,2025-10-10,2025-10-24",
            "LATE,stopped engaging,2025-11-07,2025-11-21",
            "TWICE,stopped engaging,2025-11-07,2025-11-21",
        ]
    );
}

/// Case 3, enrolment and dated status: where the record gives enrolment, "did not enrol"
/// comes from it (not enrolled, or enrolled late, whatever the engagement) and an enrolled
/// student who never engages is "never engaged"; an intermission given as a dated status
/// period is reported from its start, and the sessions it covers are not counted as missed.
#[test]
fn case_3_ukvi_did_not_enrol_comes_from_enrolment_and_periods_are_status_in_force() {
    let env = university(&[]);
    let header = "student_id,programme_code,department,level,stage,mode,start_date,status,visa_route,cas_number,enrolment_status,enrolled_on";
    let rows = [
        "NOTENR,P1,D,4,1,full-time,2025-09-22,active,student,CAS1,not-enrolled,", // attends, never enrolled
        "ENR,P1,D,4,1,full-time,2025-09-22,active,student,CAS2,enrolled,2025-09-20", // enrolled, never seen
        "LATEENR,P1,D,4,1,full-time,2025-09-22,active,student,CAS3,,2025-10-20",  // attends, enrolled late
        "PAUSED,P1,D,4,1,full-time,2025-09-22,active,student,CAS4,enrolled,",     // intermitted 6-31 October
        "UNSAID,P1,D,4,1,full-time,2025-09-22,active,student,CAS5,,",             // no enrolment data, never seen
    ];
    env.ingest("students", &[&env.file("sponsored.csv", &format!("{header}\n{}\n", rows.join("\n")))]);
    let teaching = days("2025-09-29", "2025-12-12", weekday);
    timetable(&env, &teaching, &["NOTENR", "ENR", "LATEENR", "PAUSED", "UNSAID"]);
    swipes(&env, "notenr.csv", "NOTENR", &teaching);
    swipes(&env, "lateenr.csv", "LATEENR", &teaching);
    let paused = [days("2025-09-29", "2025-10-03", weekday), days("2025-11-03", "2025-12-12", weekday)].concat();
    swipes(&env, "paused.csv", "PAUSED", &paused);

    // Before the intermission is known, PAUSED's missed October is a stop.
    let before = ukvi_events(&env, "2025-11-30", false);
    assert!(before.contains(&"PAUSED,stopped engaging,2025-10-17,2025-10-31".to_string()), "{before:?}");

    let periods = "student_id,status,starts_on,ends_on\nPAUSED,intermitted,2025-10-06,2025-10-31\n";
    env.ingest("status-changes", &[&env.file("periods.csv", periods)]);
    assert_eq!(
        ukvi_events(&env, "2025-11-30", false),
        [
            "ENR,never engaged,2025-10-06,2025-10-20",
            "LATEENR,did not enrol,2025-10-06,2025-10-20",
            "NOTENR,did not enrol,2025-10-06,2025-10-20",
            "PAUSED,intermitted (suspended),2025-10-06,2025-10-20",
            "UNSAID,did not enrol or never engaged,2025-10-06,2025-10-20",
        ]
    );
    let run = env.run(&["--format", "csv", "return", "ukvi", "--as-of", "2025-11-30"]).ok();
    let late = run.stdout.lines().find(|l| l.starts_with("LATEENR,")).unwrap();
    assert!(late.contains("not enrolled 14 days after the course start on 2025-09-22"), "{late}");
    assert!(late.contains("enrolled on 2025-10-20"), "{late}");
    let period = run.stdout.lines().find(|l| l.starts_with("PAUSED,")).unwrap();
    assert!(period.contains("status period intermitted from 2025-10-06"), "{period}");
}

/// Funder return, dated status: an intermission given as a status period is a change of
/// circumstances from its start, and a liability period it covers entirely is not judged.
#[test]
fn funder_changes_of_circumstances_come_from_status_periods() {
    let env = university(&[]);
    let header = "student_id,programme_code,department,level,stage,mode,start_date,status,funding_body";
    let rows = ["AWAY,P1,D,4,1,full-time,2025-09-22,active,SFE", "HERE,P1,D,4,1,full-time,2025-09-22,active,SFE"];
    env.ingest("students", &[&env.file("funded.csv", &format!("{header}\n{}\n", rows.join("\n")))]);
    let teaching = days("2025-09-29", "2025-12-12", weekday);
    timetable(&env, &teaching, &["AWAY", "HERE"]);
    swipes(&env, "here.csv", "HERE", &teaching);
    swipes(&env, "away.csv", "AWAY", &days("2025-09-29", "2025-10-10", weekday));
    let funder = |env: &Env| -> Vec<String> {
        let run = env.run(&["--format", "csv", "return", "funder", "--body", "SFE", "--as-of", "2026-04-30"]).ok();
        run.stdout.lines().skip(1).filter(|l| l.starts_with("AWAY,")).map(str::to_string).collect()
    };
    let unknown = funder(&env);
    assert!(unknown.iter().all(|l| l.contains("attendance confirmation")), "{unknown:?}");
    assert!(unknown.iter().any(|l| l.contains(",term 2,")), "judged in term 2 while active: {unknown:?}");

    let periods = "student_id,status,starts_on,ends_on\nAWAY,intermitted,2025-10-13,2026-09-01\n";
    env.ingest("status-changes", &[&env.file("periods.csv", periods)]);
    let known = funder(&env);
    assert!(!known.iter().any(|l| l.contains(",term 2,")), "term 2 is covered by the intermission: {known:?}");
    let change = known.iter().find(|l| l.contains("change of circumstances")).expect("a change of circumstances");
    assert_eq!(
        change,
        "AWAY,SFE,intermitted,2025-10-10,change of circumstances,,2025-10-13,status period intermitted from 2025-10-13"
    );
}

/// Case 1: an authorised absence exempts the days it covers, and the grace days after,
/// from ratings and cases; a configured exemption kind does the same for its days.
#[test]
fn case_1_an_exemption_suspends_ratings_and_cases_for_its_days() {
    use crate::fixtures::{activity, d, ratings, student};
    let env = university(&[
        student("AWAY", "P1", 1, "full-time", "active", ""),
        student("HERE", "P1", 1, "full-time", "active", ""),
    ]);
    let teaching = days("2025-09-29", "2025-12-12", weekday);
    timetable(&env, &teaching, &["AWAY", "HERE"]);
    let away = (d("2025-10-20"), d("2025-11-07"));
    let present: Vec<_> = teaching.iter().copied().filter(|t| *t < away.0 || *t > away.1).collect();
    swipes(&env, "away.csv", "AWAY", &present);
    swipes(&env, "here.csv", "HERE", &teaching);
    let mut rows: Vec<(&str, chrono::NaiveDate, &str, u32)> = present.iter().map(|t| ("AWAY", *t, "vle", 10)).collect();
    rows.extend(teaching.iter().map(|t| ("HERE", *t, "vle", 10)));
    activity(&env, "vle.csv", &rows);
    env.ingest(
        "absences",
        &[&env.file("abs.csv", "student_id,starts_on,ends_on,kind\nAWAY,2025-10-20,2025-11-07,authorised\n")],
    );

    // Weekly (week 5) and fortnightly (week 6) reviews during the absence raise nothing for AWAY.
    for day in ["2025-10-27", "2025-11-03"] {
        let run = env.run(&["--format", "csv", "review", "--as-of", day]).ok();
        assert!(!run.stdout.contains("AWAY"), "{day}: {}", run.stdout);
    }
    env.run(&["rate", "--as-of", "2025-12-12"]).ok();
    // No rating from the absence's first day to 13 days after its last (the window less one).
    assert_eq!(ratings(&env, "AWAY", "2025-10-20", "2025-11-20"), Vec::<String>::new());
    assert_eq!(ratings(&env, "HERE", "2025-10-20", "2025-11-20").len(), 24);
    let after = ratings(&env, "AWAY", "2025-11-21", "2025-12-12");
    assert_eq!(after.len(), 16, "{after:?}");
    assert!(after.iter().all(|r| r.ends_with("High")), "back and engaged: {after:?}");
    assert_eq!(env.scalar("SELECT count(*) FROM cases WHERE student_id = 'AWAY'"), "0");

    // A configured exemption kind, without grace: only its own days go unrated.
    configure(
        &env,
        "exempting_absence_kinds = [\"authorised\"]",
        "exempting_absence_kinds = [\"authorised\", \"dissertation\"]",
    );
    configure(&env, "# exemption_grace_days = 13", "exemption_grace_days = 0");
    env.ingest(
        "absences",
        &[&env.file("diss.csv", "student_id,starts_on,ends_on,kind\nHERE,2025-12-01,2025-12-05,dissertation\n")],
    );
    let run = env.run(&["rate", "--as-of", "2025-12-12"]).ok();
    assert!(run.stdout.contains("full"), "changed settings recompute in full: {}", run.stdout);
    assert_eq!(ratings(&env, "HERE", "2025-12-01", "2025-12-05"), Vec::<String>::new());
    assert_eq!(ratings(&env, "HERE", "2025-12-08", "2025-12-12").len(), 5);
    assert_eq!(ratings(&env, "AWAY", "2025-11-08", "2025-11-14").len(), 5, "grace 0: rated from the Monday after");
}

/// Case 4: the funder return's default rule does not confirm as attending a student rated
/// Very Low throughout the period's last teaching days, though they engaged now and then;
/// every line says why.
#[test]
fn case_4_funder_attendance_is_a_stated_rule_not_any_single_event() {
    use crate::fixtures::{activity, d};
    let env = university(&[]);
    let header = "student_id,programme_code,department,level,stage,mode,start_date,status,funding_body";
    let rows = ["KEEN,P1,D,4,1,full-time,2025-09-22,active,SFE", "FAINT,P1,D,4,1,full-time,2025-09-22,active,SFE"];
    env.ingest("students", &[&env.file("funded.csv", &format!("{header}\n{}\n", rows.join("\n")))]);
    let teaching = days("2025-09-29", "2025-12-12", weekday);
    timetable(&env, &teaching, &["KEEN", "FAINT"]);
    swipes(&env, "keen.csv", "KEEN", &teaching);
    // FAINT attends until 31 October, then logs in to the VLE once every ten days.
    swipes(&env, "faint.csv", "FAINT", &days("2025-09-29", "2025-10-31", weekday));
    let sporadic = [d("2025-11-20"), d("2025-11-30"), d("2025-12-10")];
    activity(&env, "faint-vle.csv", &sporadic.iter().map(|t| ("FAINT", *t, "vle", 1)).collect::<Vec<_>>());
    let term_1 = |env: &Env| -> Vec<String> {
        let run = env.run(&["--format", "csv", "return", "funder", "--body", "SFE", "--as-of", "2025-12-31"]).ok();
        assert!(
            run.stdout
                .starts_with("student_id,funding_body,status,last_engagement_date,section,period,status_date,reason\n")
        );
        run.stdout.lines().skip(1).map(str::to_string).collect()
    };
    let very_low = env.sql(
        "SELECT count(*) FROM ratings WHERE student_id = 'FAINT' AND day >= DATE '2025-11-17' AND rating <> 'Very Low'",
    );
    assert_eq!(very_low[1], "0", "FAINT is Very Low throughout the last 20 teaching days");
    assert_eq!(
        term_1(&env),
        [
            "FAINT,SFE,not attending since 2025-12-10,2025-12-10,attendance confirmation,term 1,,rated above Very Low on 0 of the 20 teaching days 2025-11-17 to 2025-12-12 (10 needed)",
            "KEEN,SFE,attending,2025-12-12,attendance confirmation,term 1,,rated above Very Low on 20 of the 20 teaching days 2025-11-17 to 2025-12-12 (10 needed)",
        ]
    );
    // The rule of earlier versions confirmed FAINT: one VLE login within 28 days of 31 December.
    configure(&env, "attending_rule = \"rated-above-very-low\"", "attending_rule = \"engaged-within-days\"");
    let old = term_1(&env);
    assert!(
        old[0].starts_with("FAINT,SFE,attending,2025-12-10,")
            && old[0].ends_with("engaged within 28 days of 2025-12-31"),
        "{old:?}"
    );
    configure(&env, "attending_rule = \"engaged-within-days\"", "attending_rule = \"engaged-days\"");
    let engaged = term_1(&env);
    assert!(
        engaged[0].starts_with("FAINT,SFE,not attending since 2025-12-10,")
            && engaged[0].contains("engaged on 2 of the 20"),
        "{engaged:?}"
    );
    configure(&env, "min_days = 10", "min_days = 30");
    let refused = env.run(&["return", "funder", "--body", "SFE", "--as-of", "2025-12-31"]).code(1);
    assert!(refused.stderr.contains("min_days must be between 1 and window_teaching_days"), "{}", refused.stderr);
}

/// Case 6: one card in room R1 at 09:55 and room R2 at 09:56 is listed for staff, as is
/// attendance at two overlapping sessions in different rooms; the ratings are the same
/// with or without the listing (it never changes a rating by itself).
#[test]
fn case_6_proxy_swiping_is_listed_for_staff() {
    use crate::fixtures::student;
    let env = university(&[
        student("PROXY", "P1", 1, "full-time", "active", ""),
        student("HONEST", "P1", 1, "full-time", "active", ""),
    ]);
    let sessions = "session_id,module_code,starts_at,ends_at,room\n\
        A-1,M1,2025-10-06T10:00:00,2025-10-06T11:00:00,R1\n\
        B-1,M2,2025-10-06T10:00:00,2025-10-06T11:00:00,R2\n\
        C-1,M3,2025-10-07T10:00:00,2025-10-07T11:00:00,R1\n\
        D-1,M4,2025-10-07T13:00:00,2025-10-07T14:00:00,R2\n";
    env.ingest("sessions", &[&env.file("sessions.csv", sessions)]);
    let lists = "session_id,student_id\nA-1,PROXY\nB-1,PROXY\nC-1,HONEST\nD-1,HONEST\n";
    env.ingest("class-lists", &[&env.file("lists.csv", lists)]);
    let swipes = "student_id,room,swiped_at\n\
        PROXY,R1,2025-10-06T09:55:00\nPROXY,R2,2025-10-06T09:56:00\n\
        HONEST,R1,2025-10-07T09:55:00\nHONEST,R2,2025-10-07T12:50:00\n";
    env.ingest("swipes", &[&env.file("swipes.csv", swipes)]);
    env.run(&["rate", "--as-of", "2025-10-07"]).ok();
    let ratings_before = env.sql("SELECT student_id, day, rating, attended FROM ratings ORDER BY student_id, day");

    let run = env.run(&["--format", "csv", "swipes", "suspicious", "--from", "2025-10-01", "--to", "2025-10-31"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "student_id,day,reason,first_at,first_room,second_at,second_room,first_session,second_session"
    );
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[1..].iter().all(|l| l.starts_with("PROXY,2025-10-06,")),
        "HONEST walked for three hours: {}",
        run.stdout
    );
    assert!(lines.iter().any(|l| l.contains("two rooms closer in time than walking allows")
        && l.contains(",R1,")
        && l.contains(",R2,")));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("attended two overlapping sessions in different rooms") && l.ends_with(",A-1,B-1"))
    );
    // Both swipes still count as attended: the listing is for staff, not the rating.
    assert_eq!(env.scalar("SELECT attended FROM ratings WHERE student_id = 'PROXY' AND day = DATE '2025-10-06'"), "2");
    env.run(&["rate", "--as-of", "2025-10-07", "--full"]).ok();
    assert_eq!(
        env.sql("SELECT student_id, day, rating, attended FROM ratings ORDER BY student_id, day"),
        ratings_before
    );

    // Walking time is a setting: at 1 minute, 09:55 to 09:56 is possible.
    configure(&env, "min_minutes_between_rooms = 5", "min_minutes_between_rooms = 1");
    let run = env.run(&["--format", "csv", "swipes", "suspicious", "--from", "2025-10-06", "--to", "2025-10-06"]).ok();
    assert_eq!(run.stdout.lines().count(), 2, "only the overlapping sessions: {}", run.stdout);
    let bad = env.run(&["swipes", "suspicious", "--from", "2025-10-31", "--to", "2025-10-01"]).code(2);
    assert!(
        bad.stderr.contains("--from/--to: the range ends on 2025-10-01, before it starts on 2025-10-31"),
        "{}",
        bad.stderr
    );
}

/// Rungs scoped to a cohort raise actions only for its students, and a rung triggered by a
/// case outcome refers a case upwards when a meeting is missed (once per outcome).
#[test]
fn rungs_scoped_to_a_cohort_and_a_missed_meeting_refers_the_case_upwards() {
    use crate::fixtures::student;
    let env = university(&[
        student("FRESHER", "P1", 1, "full-time", "active", ""),
        student("SECOND", "P1", 2, "full-time", "active", ""),
        student("OTHER", "P2", 2, "full-time", "active", ""),
    ]);
    let path = env.warehouse.join("rollcall.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = text.split_once("[review]\n").unwrap();
    let tail = &rest[rest.find("[ukvi]").unwrap()..];
    let ladder = r#"[[review.rungs]]
action = "first-year-check"
trigger = "rating"
ratings = ["Very Low"]
stages = [1]

[[review.rungs]]
action = "progress-meeting"
trigger = "rating"
ratings = ["Very Low"]
departments = ["Dept P1"]

[[review.rungs]]
action = "referral"
trigger = "case-outcome"
outcome = "no-show"
on_action = "progress-meeting"

"#;
    std::fs::write(&path, format!("{head}[review]\n{ladder}{tail}")).unwrap();
    let raised = |day: &str| {
        env.run(&["review", "--as-of", day]).ok();
        env.sql(&format!(
            "SELECT student_id || ' ' || action FROM cases WHERE raised_on = DATE '{day}' ORDER BY student_id, action"
        ))[1..]
            .to_vec()
    };
    // Nobody engages: all three are Very Low on 6 October.
    assert_eq!(
        raised("2025-10-06"),
        ["FRESHER first-year-check", "FRESHER progress-meeting", "SECOND progress-meeting"],
        "stage 1 only for the first rung, department Dept P1 only for the second"
    );
    let case = env.scalar("SELECT case_id FROM cases WHERE student_id = 'SECOND' AND action = 'progress-meeting'");
    env.run(&["case", "record", &case, "no-show", "--on", "2025-10-07"]).ok();
    assert_eq!(raised("2025-10-08"), ["SECOND referral"]);
    let reason = env.scalar("SELECT reason FROM cases WHERE action = 'referral'");
    assert_eq!(reason, format!("no-show recorded on 2025-10-07 for progress-meeting (case {case})"));
    assert!(raised("2025-10-09").is_empty(), "one referral per missed meeting");

    // A case-outcome rung must say which outcome.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("outcome = \"no-show\"\n", "", 1)).unwrap();
    let refused = env.run(&["review", "--as-of", "2025-10-09"]).code(1);
    assert!(refused.stderr.contains("names the outcome that triggers it"), "{}", refused.stderr);
}

/// Case 2 (dated status): a student intermitted from a status date keeps the ratings before
/// it through a full recompute (before: all of them went, 91 -> 0 in the reported case),
/// gets none after it, and an incremental run stops rating them from that date.
#[test]
fn case_2_a_dated_status_change_keeps_the_history_before_it() {
    use crate::fixtures::{activity, ratings};
    let env = university(&[]);
    let header = "student_id,programme_code,department,level,stage,mode,start_date,status,status_date";
    let students =
        |status: &str, date: &str| format!("{header}\nPAUSE,P1,D,4,1,full-time,2025-09-22,{status},{date}\n");
    env.ingest("students", &[&env.file("active.csv", &students("active", ""))]);
    let teaching = days("2025-09-29", "2025-12-12", weekday);
    activity(&env, "vle.csv", &teaching.iter().map(|t| ("PAUSE", *t, "vle", 10)).collect::<Vec<_>>());
    env.run(&["rate", "--as-of", "2025-12-12"]).ok();
    assert_eq!(ratings(&env, "PAUSE", "2025-09-29", "2025-12-12").len(), 55);

    // Intermitted from Monday 17 November: the incremental run drops what it had rated since.
    env.ingest("students", &[&env.file("paused.csv", &students("intermitted", "2025-11-17"))]);
    env.run(&["rate", "--as-of", "2025-12-12"]).ok();
    assert_eq!(ratings(&env, "PAUSE", "2025-09-29", "2025-11-14").len(), 35);
    assert!(ratings(&env, "PAUSE", "2025-11-17", "2025-12-12").is_empty());
    // A full recompute gives the same history.
    env.run(&["rate", "--as-of", "2025-12-12", "--full"]).ok();
    assert_eq!(ratings(&env, "PAUSE", "2025-09-29", "2025-11-14").len(), 35);
    assert!(ratings(&env, "PAUSE", "2025-11-17", "2025-12-12").is_empty());
    // Without a date the status holds all along, as before.
    env.ingest("students", &[&env.file("undated.csv", &students("intermitted", ""))]);
    let run = env.run(&["rate", "--as-of", "2025-12-12"]).ok();
    assert!(run.stdout.contains("touched 2025-09-22"), "re-rated from the student's start: {}", run.stdout);
    assert!(ratings(&env, "PAUSE", "2025-09-29", "2025-12-12").is_empty());
    // The same file again changes nothing.
    env.ingest("students", &[&env.file("undated-again.csv", &students("intermitted", ""))]);
    let run = env.run(&["rate", "--as-of", "2025-12-12"]).ok();
    assert!(run.stdout.contains("no data ingested since the last run"), "{}", run.stdout);

    // A dated period decides its own days: a placement block, and an intermission that ended.
    // (A file identical to one ingested before is skipped: this one also names the tutor.)
    let back = format!("{header},personal_tutor\nPAUSE,P1,D,4,1,full-time,2025-09-22,active,,T1\n");
    env.ingest("students", &[&env.file("back.csv", &back)]);
    let periods =
        "student_id,status,starts_on,ends_on\nPAUSE,intermitted,2025-10-20,2025-10-31\nPAUSE,placement,2025-11-17,\n";
    env.ingest("status-changes", &[&env.file("periods.csv", periods)]);
    env.run(&["rate", "--as-of", "2025-12-12"]).ok();
    assert_eq!(ratings(&env, "PAUSE", "2025-09-29", "2025-10-17").len(), 15);
    assert!(ratings(&env, "PAUSE", "2025-10-20", "2025-10-31").is_empty(), "intermitted");
    assert_eq!(ratings(&env, "PAUSE", "2025-11-03", "2025-11-14").len(), 10, "back from intermission");
    assert!(ratings(&env, "PAUSE", "2025-11-17", "2025-12-12").is_empty(), "on placement, open-ended");
    let held = env.sql("SELECT student_id, status, starts_on, ends_on FROM status_periods ORDER BY starts_on");
    assert_eq!(held.len(), 3);
    // A later period ends the placement: monitoring resumes on 8 December.
    env.ingest("status-changes", &[&env.file("return.csv", "student_id,status,starts_on\nPAUSE,active,2025-12-08\n")]);
    env.run(&["rate", "--as-of", "2025-12-12"]).ok();
    assert!(ratings(&env, "PAUSE", "2025-11-17", "2025-12-05").is_empty());
    assert_eq!(ratings(&env, "PAUSE", "2025-12-08", "2025-12-12").len(), 5);
    env.run(&["rate", "--as-of", "2025-12-12", "--full"]).ok();
    assert_eq!(ratings(&env, "PAUSE", "2025-09-29", "2025-12-12").len(), 15 + 10 + 5, "a full recompute agrees");
}
