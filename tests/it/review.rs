//! `rollcall review` and `rollcall case`: the three presets' ladders on hand-built data.

use crate::common::Env;
use crate::fixtures::{activity, d, days, student, swipes, timetable, university, weekday};

fn review(env: &Env, day: &str) -> Vec<String> {
    let run = env.run(&["--format", "csv", "review", "--as-of", day]).ok();
    assert!(run.stderr.contains("recommendations for staff"), "{}", run.stderr);
    run.stdout.lines().skip(1).map(str::to_string).collect()
}

/// (case_id, student, action) of the cases raised on a day.
fn raised(env: &Env, day: &str) -> Vec<String> {
    env.sql(&format!(
        "SELECT student_id || ' ' || action FROM cases WHERE raised_on = DATE '{day}' ORDER BY student_id, action"
    ))[1..]
        .to_vec()
}

fn case_id(env: &Env, student: &str, action: &str) -> String {
    env.scalar(&format!("SELECT max(case_id) FROM cases WHERE student_id = '{student}' AND action = '{action}'"))
}

fn preset(env: &Env, name: &str) {
    // Re-initialising with another preset's file: write the template over the existing one.
    let path = env.warehouse.join("rollcall.toml");
    std::fs::write(&path, rollcall::config::Config::template(name)).unwrap();
}

#[test]
fn consecutive_weeks_with_absence_pause_and_bank_holiday_weeks() {
    // W1 attends the first week only. W2 too, but an authorised absence covers the week of 13 October.
    let env = university(&[
        student("W1", "P1", 1, "full-time", "active", ""),
        student("W2", "P1", 1, "full-time", "active", ""),
    ]);
    preset(&env, "consecutive-weeks");
    timetable(&env, &days("2025-09-29", "2025-12-12", weekday), &["W1", "W2"]);
    swipes(&env, "s1.csv", "W1", &days("2025-09-29", "2025-10-03", weekday));
    swipes(&env, "s2.csv", "W2", &days("2025-09-29", "2025-10-03", weekday));
    env.ingest(
        "absences",
        &[&env.file("ab.csv", "student_id,starts_on,ends_on,kind\nW2,2025-10-13,2025-10-17,authorised\n")],
    );
    // 13 October: the week of 6 October is over and had no attendance.
    review(&env, "2025-10-13");
    assert_eq!(raised(&env, "2025-10-13"), ["W1 first-email", "W2 first-email"]);
    // 27 October: three weeks missed for W1; W2's absence week does not count.
    review(&env, "2025-10-27");
    assert_eq!(raised(&env, "2025-10-27"), ["W1 second-email"]);
    // 3 November: four weeks for W1 (interview); three for W2 (second email).
    let list = review(&env, "2025-11-03");
    assert_eq!(raised(&env, "2025-11-03"), ["W1 attendance-interview", "W2 second-email"]);
    let interview = list.iter().find(|l| l.contains("attendance-interview")).unwrap();
    assert!(
        interview.contains("no attendance in 4 consecutive teaching week(s), the weeks of 2025-10-06 to 2025-10-27"),
        "{interview}"
    );
    assert!(interview.ends_with(",new,recommendation for staff review; no status has been changed"), "{interview}");
    // The same run is not raised again; earlier cases stay listed as open.
    let list = review(&env, "2025-11-04");
    assert!(raised(&env, "2025-11-04").is_empty());
    assert_eq!(list.len(), 5, "{list:?}");
    assert!(list.iter().all(|l| l.contains("open: no outcome recorded yet")), "{list:?}");
}

#[test]
fn bank_holiday_week_without_teaching_pauses_the_count() {
    // Summer term: Monday sessions only; 4 and 25 May 2026 are bank holidays, so those
    // weeks have no teaching even though a session was (wrongly) timetabled on 4 May.
    let env = university(&[student("M", "P1", 1, "full-time", "active", "")]);
    preset(&env, "consecutive-weeks");
    let mondays = days("2026-04-20", "2026-06-08", |day| day.format("%a").to_string() == "Mon");
    timetable(&env, &mondays, &["M"]);
    swipes(&env, "s.csv", "M", &[d("2026-04-20")]);
    review(&env, "2026-05-18");
    // Weeks of 27 April and 11 May missed; the week of 4 May is skipped: 2 weeks, first email only.
    assert_eq!(raised(&env, "2026-05-18"), ["M first-email"]);
    let reason = env.scalar("SELECT reason FROM cases WHERE action = 'first-email'");
    assert_eq!(reason, "no attendance in 2 consecutive teaching week(s), the weeks of 2026-04-27 to 2026-05-11");
    review(&env, "2026-06-08");
    // 27 April, 11 May, 18 May and 1 June (25 May skipped): four weeks.
    assert_eq!(raised(&env, "2026-06-08"), ["M attendance-interview"]);
}

#[test]
fn second_attendance_agreement_and_what_follows() {
    let env = university(&[student("A", "P1", 1, "full-time", "active", "")]);
    preset(&env, "consecutive-weeks");
    let teaching = [days("2025-09-29", "2025-12-12", weekday), days("2026-01-12", "2026-03-27", weekday)].concat();
    timetable(&env, &teaching, &["A"]);
    // Attends weeks 1, 6 (3 November) and 11 (8 December) only.
    let attended = [
        days("2025-09-29", "2025-10-03", weekday),
        days("2025-11-03", "2025-11-07", weekday),
        days("2025-12-08", "2025-12-12", weekday),
    ]
    .concat();
    swipes(&env, "s.csv", "A", &attended);
    review(&env, "2025-11-03");
    assert_eq!(raised(&env, "2025-11-03"), ["A attendance-interview"]);
    let first = case_id(&env, "A", "attendance-interview");
    env.run(&["case", "record", &first, "agreement", "--on", "2025-11-04"]).ok();
    review(&env, "2025-12-08");
    assert_eq!(raised(&env, "2025-12-08"), ["A attendance-interview"], "a new run of four weeks: a second interview");
    let second = case_id(&env, "A", "attendance-interview");
    assert_ne!(first, second);
    env.run(&["case", "record", &second, "agreement", "--on", "2025-12-09", "--note", "second agreement"]).ok();
    // Spring: four more weeks without attendance. Two agreements already: withdrawal review.
    let list = review(&env, "2026-02-09");
    assert_eq!(raised(&env, "2026-02-09"), ["A withdrawal-review"]);
    let line = list.iter().find(|l| l.contains("withdrawal-review")).unwrap();
    assert!(line.contains("already 2 agreement outcome(s) this year"), "{line}");
    // Agreements close the interview cases: only the withdrawal review is open.
    assert_eq!(list.len(), 1, "{list:?}");
    let cases = env.run(&["--format", "csv", "case", "list"]).ok();
    assert_eq!(cases.stdout.lines().count(), 4, "{}", cases.stdout);
    // Unknown case and unknown outcome are refused.
    env.run(&["case", "record", "C999999", "met"]).code(2);
    env.run(&["case", "record", &first, "expelled"]).code(2);
}

#[test]
fn staged_review_weekly_fortnightly_referral_and_supported_decision() {
    // V: never engages. P: never engages, a clearing entrant (priority). G: engages daily.
    // R: never engages in autumn, engages daily from January.
    let env = university(&[
        student("V", "P1", 2, "full-time", "active", ""),
        student("P", "P1", 2, "full-time", "active", "clearing"),
        student("G", "P1", 2, "full-time", "active", ""),
        student("R", "P1", 2, "full-time", "active", ""),
    ]);
    let mut rows = Vec::new();
    for day in days("2025-09-15", "2026-03-27", |_| true) {
        rows.push(("G", day, "vle", 10));
    }
    for day in days("2026-01-01", "2026-03-27", |_| true) {
        rows.push(("R", day, "vle", 10));
    }
    activity(&env, "a.csv", &rows);
    let list = review(&env, "2025-09-30");
    assert_eq!(raised(&env, "2025-09-30"), ["P weekly-review", "R weekly-review", "V weekly-review"]);
    assert!(list[0].starts_with("C000001,P,weekly-review"), "priority categories first: {list:?}");
    assert!(list[0].contains(",yes,Very Low,2025-09-30,new,"), "{}", list[0]);
    review(&env, "2025-10-02");
    assert!(raised(&env, "2025-10-02").is_empty(), "once a week");
    review(&env, "2025-10-06");
    assert_eq!(raised(&env, "2025-10-06").len(), 3, "week two: weekly again");
    review(&env, "2025-11-03");
    assert_eq!(raised(&env, "2025-11-03"), ["P fortnightly-review", "R fortnightly-review", "V fortnightly-review"]);
    review(&env, "2025-11-10");
    assert!(raised(&env, "2025-11-10").is_empty(), "weeks 6 and 7 are one fortnight");
    review(&env, "2025-11-28");
    assert!(!raised(&env, "2025-11-28").iter().any(|c| c.contains("referral")), "no referral before 1 December");
    review(&env, "2025-12-01");
    assert!(raised(&env, "2025-12-01").contains(&"V referral".to_string()));
    review(&env, "2025-12-02");
    assert!(raised(&env, "2025-12-02").is_empty(), "referral once a year");
    // Spring: no weekly reviews outside autumn; in March, referred students not improved.
    review(&env, "2026-01-13");
    assert!(raised(&env, "2026-01-13").is_empty());
    review(&env, "2026-03-02");
    assert_eq!(raised(&env, "2026-03-02"), ["P supported-decision", "V supported-decision"]);
    assert_eq!(env.scalar("SELECT count(*) FROM cases WHERE student_id = 'G'"), "0");
}

#[test]
fn wellbeing_window_low_for_two_weeks() {
    // L never engages; M engages daily (20 VLE events) until 3 October.
    let env = university(&[
        student("L", "P1", 1, "full-time", "active", ""),
        student("M", "P1", 1, "full-time", "active", ""),
    ]);
    preset(&env, "wellbeing-window");
    crate::fixtures::configure(&env, "activity_points_per_day = 10.0", "activity_points_per_day = 4.0");
    let rows: Vec<_> =
        days("2025-09-22", "2025-10-03", |_| true).into_iter().map(|day| ("M", day, "vle", 20)).collect();
    activity(&env, "a.csv", &rows);
    review(&env, "2025-10-10");
    assert!(raised(&env, "2025-10-10").is_empty(), "L has been low for 12 days only");
    review(&env, "2025-10-13");
    assert_eq!(raised(&env, "2025-10-13"), ["L tutor-contact"]);
    assert_eq!(
        env.scalar("SELECT reason FROM cases WHERE student_id = 'L'"),
        "rated Very Low or Low on all 11 teaching days from 2025-09-29 to 2025-10-13"
    );
    // At 4 points a teaching day, M's window of 16 October (3 to 16 October, 10 teaching
    // days) holds 3 October's 20 events: 20 / 40 = 0.5, Partial. From 17 October the window
    // is empty: Very Low. Low for 14 days on 30 October.
    review(&env, "2025-10-29");
    assert!(raised(&env, "2025-10-29").is_empty());
    review(&env, "2025-10-30");
    assert_eq!(raised(&env, "2025-10-30"), ["M tutor-contact"]);
    review(&env, "2025-11-06");
    assert!(raised(&env, "2025-11-06").is_empty(), "one contact per low spell");
}

#[test]
fn dry_run_records_nothing() {
    let env = university(&[student("V", "P1", 1, "full-time", "active", "")]);
    let run = env.run(&["--format", "csv", "review", "--as-of", "2025-09-30", "--dry-run"]).ok();
    assert!(run.stderr.contains("dry run: nothing recorded"), "{}", run.stderr);
    assert!(run.stdout.contains(",V,weekly-review,"), "{}", run.stdout);
    assert_eq!(env.scalar("SELECT count(*) FROM cases"), "0");
}

#[test]
fn a_decision_across_christmas_sets_the_appeal_deadline_and_a_late_appeal_is_recorded_as_late() {
    // W1 stops attending after the first week: four weeks later the interview is raised.
    let env = university(&[student("W1", "P1", 1, "full-time", "active", "")]);
    preset(&env, "consecutive-weeks");
    timetable(&env, &days("2025-09-29", "2025-12-12", weekday), &["W1"]);
    swipes(&env, "s1.csv", "W1", &days("2025-09-29", "2025-10-03", weekday));
    review(&env, "2025-11-03");
    let case = case_id(&env, "W1", "attendance-interview");

    // No decision yet: nothing to appeal against.
    let early = env.run(&["case", "appeal", &case, "--lodged", "2025-12-01"]).code(2);
    assert!(early.stderr.contains("no decision to appeal against"), "{}", early.stderr);
    let unknown = env.run(&["case", "decide", "NO-SUCH-CASE", "withdraw", "--notified", "2025-12-18"]).code(2);
    assert!(unknown.stderr.contains("no case NO-SUCH-CASE"), "{}", unknown.stderr);

    // Notified on Thursday 18 December 2025: ten working days, counted past the weekends,
    // Christmas Day, Boxing Day and New Year's Day (England and Wales), end on Tuesday
    // 6 January 2026 (19, 22, 23, 24, 29, 30, 31 December, 2, 5, 6 January).
    let decided = env.run(&["case", "decide", &case, "withdraw", "--notified", "2025-12-18"]).ok();
    assert!(
        decided.stdout.contains("appeal by 2026-01-06: 10 working days after the student was notified on 2025-12-18"),
        "{}",
        decided.stdout
    );
    let row = env.sql(&format!(
        "SELECT value, CAST(\"on\" AS VARCHAR), CAST(due AS VARCHAR) FROM case_decisions WHERE case_id = '{case}' AND step = 'decision'"
    ));
    assert_eq!(row[1], "withdraw,2025-12-18,2026-01-06");

    // Lodged on the deadline: in time. Lodged the day after: late, and still recorded.
    let in_time = env.run(&["case", "appeal", &case, "--lodged", "2026-01-06"]).ok();
    assert!(in_time.stdout.contains("(deadline 2026-01-06)"), "{}", in_time.stdout);
    let late = env.run(&["case", "appeal", &case, "--lodged", "2026-01-07"]).ok();
    assert!(late.stdout.contains("as late: lodged 2026-01-07, the deadline was 2026-01-06"), "{}", late.stdout);
    let steps =
        env.sql(&format!("SELECT step, value FROM case_decisions WHERE case_id = '{case}' ORDER BY recorded_at"));
    assert_eq!(steps[1..], ["decision,withdraw", "appeal,lodged", "appeal,lodged late"]);
    env.run(&["case", "appeal-outcome", &case, "not-upheld", "--on", "2026-01-20"]).ok();
    let outcome =
        env.scalar(&format!("SELECT value FROM case_decisions WHERE case_id = '{case}' AND step = 'appeal-outcome'"));
    assert_eq!(outcome, "not-upheld");
}
