//! The case procedure as the policies run it, through `rollcall case`: steps and owners,
//! meetings with the notice they need, escalation, decisions and late appeals, and an
//! exceptional withdrawal whose dates cross Christmas. Dates are checked by hand against
//! the England and Wales bank holidays (gov.uk) in the comments.

use std::collections::HashMap;

use crate::common::Env;
use crate::fixtures::{activity, configure, days, student, university};

fn review(env: &Env, day: &str) -> String {
    env.run(&["--format", "csv", "review", "--as-of", day]).ok().stderr
}

fn case_id(env: &Env, student: &str, action: &str) -> String {
    env.scalar(&format!("SELECT min(case_id) FROM cases WHERE student_id = '{student}' AND action = '{action}'"))
}

/// `rollcall case list --as-of DAY` as rows keyed by column name, in the order listed.
fn case_list(env: &Env, as_of: &str) -> Vec<HashMap<String, String>> {
    let run = env.run(&["--format", "csv", "case", "list", "--as-of", as_of]).ok();
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_string)).collect()).collect()
}

fn listed<'a>(list: &'a [HashMap<String, String>], case: &str) -> &'a HashMap<String, String> {
    list.iter().find(|r| r["case_id"] == case).unwrap_or_else(|| panic!("{case} not listed: {list:?}"))
}

/// V never engages; G engages every day (the staged-review preset, Essex's procedure).
fn essex() -> Env {
    let env = university(&[
        student("V", "P1", 2, "full-time", "active", ""),
        student("G", "P1", 2, "full-time", "active", ""),
    ]);
    let rows: Vec<_> = days("2025-09-15", "2026-03-27", |_| true).into_iter().map(|d| ("G", d, "vle", 10)).collect();
    activity(&env, "a.csv", &rows);
    env
}

#[test]
fn an_essex_case_goes_from_a_missed_tutor_meeting_to_a_faculty_meeting_at_short_notice_a_decision_and_a_late_appeal() {
    let env = essex();
    review(&env, "2025-09-30");
    let case = case_id(&env, "V", "weekly-review");
    let row = listed(&case_list(&env, "2025-09-30"), &case).clone();
    assert_eq!(
        (row["step"].as_str(), row["owner"].as_str(), row["status"].as_str()),
        ("tutor", "personal tutor", "open")
    );
    assert!(row["step_rule"].contains("weekly-review cases start with the personal tutor"), "{row:?}");

    // The personal tutor meets the student: no notice is required at this step.
    let met = env
        .run(&[
            "case",
            "meeting",
            &case,
            "--on",
            "2025-10-03",
            "--at",
            "10:00",
            "--place",
            "Room 5.12",
            "--attendees",
            "student, personal tutor",
        ])
        .ok();
    let m1 = format!("{case}-M1");
    assert!(met.stdout.contains(&format!("scheduled meeting {m1}")), "{}", met.stdout);
    // The day after, its attendance is not yet recorded: overdue, and listed first.
    let list = case_list(&env, "2025-10-04");
    assert_eq!(list[0]["case_id"], case, "overdue first: {list:?}");
    assert_eq!(list[0]["overdue_items"], "1");
    assert!(list[0]["next_item"].contains("record whether the student attended"), "{:?}", list[0]);
    assert_eq!(list[0]["next_due"], "2025-10-03");

    // A no-show at the tutor step refers the case to the department's progress officer.
    env.run(&["case", "attendance", &m1, "no-show"]).ok();
    let again = env.run(&["case", "attendance", &m1, "attended"]).code(2);
    assert!(again.stderr.contains("already has its attendance"), "{}", again.stderr);
    let row = listed(&case_list(&env, "2025-10-04"), &case).clone();
    assert_eq!((row["step"].as_str(), row["owner"].as_str()), ("progress-officer", "department progress officer"));
    assert!(row["step_rule"].contains("no-show on 2025-10-03 at the personal tutor step"), "{row:?}");
    assert_eq!((row["overdue_items"].as_str(), row["next_due"].as_str()), ("0", ""));

    // Missing the progress officer's meeting too refers it to the faculty.
    env.run(&["case", "meeting", &case, "--on", "2025-10-10", "--attendees", "student, progress officer"]).ok();
    env.run(&["case", "attendance", &format!("{case}-M2"), "no-show"]).ok();
    assert_eq!(listed(&case_list(&env, "2025-10-11"), &case)["step"], "faculty");

    // A faculty meeting needs a week's notice: without the notification day it is refused,
    // and notified six days before it is recorded, flagged.
    let bare = env.run(&["case", "meeting", &case, "--on", "2025-10-20", "--attendees", "student, deputy dean"]);
    let bare = bare.code(2);
    assert!(bare.stderr.contains("needs --notified"), "{}", bare.stderr);
    let short = env
        .run(&[
            "case",
            "meeting",
            &case,
            "--on",
            "2025-10-20",
            "--at",
            "14:00",
            "--attendees",
            "student, deputy dean (education), progress team",
            "--notified",
            "2025-10-14",
        ])
        .ok();
    assert!(short.stderr.contains("flagged: the student had 1 day(s) less notice than required"), "{}", short.stderr);
    assert!(short.stdout.contains("6 days before the meeting"), "{}", short.stdout);
    let m3 = format!("{case}-M3");
    let flagged = env.sql(&format!(
        "SELECT notice_days, notice_required, rule FROM case_meetings WHERE meeting_id = '{m3}' AND event = 'scheduled'"
    ));
    assert!(flagged[1].starts_with("6,7,"), "{flagged:?}");
    assert!(flagged[1].contains("SHORT NOTICE: 1 day(s) less than required"), "{flagged:?}");
    let before = case_list(&env, "2025-10-15");
    assert!(listed(&before, &case)["next_rule"].contains("SHORT NOTICE"), "the flag shows on the case");

    // With short notice refused, the same meeting is not recorded.
    configure(&env, "short_notice = \"flag\"", "short_notice = \"refuse\"");
    let refused = env
        .run(&["case", "meeting", &case, "--on", "2025-10-20", "--attendees", "student", "--notified", "2025-10-14"])
        .code(2);
    assert!(refused.stderr.contains("not scheduled"), "{}", refused.stderr);
    assert_eq!(
        env.scalar(&format!("SELECT count(*) FROM case_meetings WHERE case_id = '{case}' AND event = 'scheduled'")),
        "3"
    );
    configure(&env, "short_notice = \"refuse\"", "short_notice = \"flag\"");

    // The student attends; the faculty decides on withdrawal, notified on Wednesday 22
    // October 2025: ten working days (23, 24, 27-31 October, 3, 4, 5 November) end on
    // Wednesday 5 November. The appeal, lodged on Friday 7 November, is recorded as late.
    env.run(&["case", "attendance", &m3, "attended"]).ok();
    env.run(&["case", "decide", &case, "withdraw", "--notified", "2025-10-22"]).ok();
    let row = listed(&case_list(&env, "2025-10-23"), &case).clone();
    assert_eq!((row["status"].as_str(), row["next_due"].as_str()), ("decided", "2025-11-05"));
    assert!(row["next_item"].contains("last day for the student to appeal"), "{row:?}");
    assert!(row["next_rule"].contains("10 working days after the student was notified on 2025-10-22"), "{row:?}");
    let late = env.run(&["case", "appeal", &case, "--lodged", "2025-11-07"]).ok();
    assert!(late.stdout.contains("as late: lodged 2025-11-07, the deadline was 2025-11-05"), "{}", late.stdout);
    env.run(&["case", "appeal-outcome", &case, "not-upheld", "--on", "2025-11-20"]).ok();
    env.run(&["case", "letter", &case, "--sent", "2025-11-21"]).ok();
    let steps =
        env.sql(&format!("SELECT step, value FROM case_decisions WHERE case_id = '{case}' ORDER BY recorded_at"));
    assert_eq!(
        steps[1..],
        ["decision,withdraw", "appeal,lodged late", "appeal-outcome,not-upheld", "completion-letter,sent"]
    );
}

#[test]
fn a_case_still_rated_low_two_weeks_after_reaching_its_step_moves_on_once() {
    let env = essex();
    review(&env, "2025-09-30");
    review(&env, "2025-10-06");
    let first = case_id(&env, "V", "weekly-review");
    // 14 October: the first weekly case has been with the tutor for two weeks and V is
    // still rated Very Low: it goes to the progress officer. The later weekly cases stay.
    let said = review(&env, "2025-10-14");
    assert!(said.contains("1 case(s) moved to their next step"), "{said}");
    let moved = env.sql("SELECT case_id, value, rule FROM case_decisions WHERE step = 'escalated' ORDER BY case_id");
    assert_eq!(moved.len(), 2, "{moved:?}");
    assert!(moved[1].starts_with(&format!("{first},progress-officer,")), "{moved:?}");
    assert!(
        moved[1].contains(
            "still rated Very Low on 2025-10-14, 2 weeks or more after reaching the personal tutor step on 2025-09-30"
        ),
        "{moved:?}"
    );
    // Run again the same day, and a week later: nothing more moves (one case per student
    // at the next step; the first has been there one week only).
    assert!(review(&env, "2025-10-14").contains("0 case(s) moved"));
    assert!(review(&env, "2025-10-21").contains("0 case(s) moved"));
    // Two weeks at the progress officer: on to the faculty.
    assert!(review(&env, "2025-10-28").contains("1 case(s) moved"));
    assert_eq!(listed(&case_list(&env, "2025-10-28"), &first)["step"], "faculty");
    assert_eq!(env.scalar("SELECT count(*) FROM case_decisions WHERE step = 'escalated'"), "2");
    // G engages: never a case, never moved.
    assert_eq!(env.scalar("SELECT count(*) FROM cases WHERE student_id = 'G'"), "0");
}

#[test]
fn an_exceptional_withdrawal_across_christmas_with_its_final_date_to_remain_and_appeal_window() {
    let env = essex();
    review(&env, "2025-12-01");
    let case = case_id(&env, "V", "referral");
    assert_eq!(listed(&case_list(&env, "2025-12-01"), &case)["owner"], "Student Progress team");

    // Approval before recommendation is refused: the student is told of the recommendation first.
    let early = env.run(&["case", "withdrawal", &case, "approve", "--on", "2025-12-18"]).code(2);
    assert!(early.stderr.contains("no withdrawal recommendation"), "{}", early.stderr);
    env.run(&["case", "withdrawal", &case, "recommend", "--on", "2025-12-10"]).ok();
    // Approved and notified on Thursday 18 December 2025: ten working days, past the
    // weekends, Christmas Day, Boxing Day and New Year's Day, end on Tuesday 6 January 2026
    // (19, 22, 23, 24, 29, 30, 31 December, 2, 5, 6 January).
    let approved = env.run(&["case", "withdrawal", &case, "approve", "--on", "2025-12-18"]).ok();
    assert!(
        approved.stdout.contains(
            "final date to request to remain 2026-01-06: 10 working days after the student was told of the approval on 2025-12-18"
        ),
        "{}",
        approved.stdout
    );
    let row = listed(&case_list(&env, "2025-12-19"), &case).clone();
    assert_eq!(row["next_due"], "2026-01-06");
    assert!(row["next_item"].contains("final date for the student to request to remain"), "{row:?}");
    assert_eq!(row["overdue_items"], "0");
    // Nothing by the final date: on 7 January the decision is overdue and the case comes first.
    let list = case_list(&env, "2026-01-07");
    assert_eq!(list[0]["case_id"], case, "{list:?}");
    assert!(list[0]["next_item"].contains("has passed: record the decision"), "{:?}", list[0]);
    // The request arrives on 7 January: recorded as late, not refused.
    let late = env.run(&["case", "withdrawal", &case, "request-to-remain", "--on", "2026-01-07"]).ok();
    assert!(late.stdout.contains("after the final date to remain (2026-01-06): recorded as late"), "{}", late.stdout);
    assert_eq!(listed(&case_list(&env, "2026-01-07"), &case)["overdue_items"], "0");
    // The registrar withdraws the student, notified Monday 12 January 2026: ten working days
    // to appeal end on Monday 26 January; an appeal on the 20th is in time.
    let decided = env.run(&["case", "decide", &case, "withdraw", "--notified", "2026-01-12"]).ok();
    assert!(decided.stdout.contains("appeal by 2026-01-26"), "{}", decided.stdout);
    let in_time = env.run(&["case", "appeal", &case, "--lodged", "2026-01-20"]).ok();
    assert!(in_time.stdout.contains("(deadline 2026-01-26)"), "{}", in_time.stdout);
    let steps = env.sql(&format!(
        "SELECT step, value, CAST(due AS VARCHAR) FROM case_decisions WHERE case_id = '{case}' ORDER BY recorded_at"
    ));
    assert_eq!(
        steps[1..],
        [
            "withdrawal-recommended,recommended,",
            "withdrawal-approved,approved,2026-01-06",
            "request-to-remain,lodged late,2026-01-06",
            "decision,withdraw,2026-01-26",
            "appeal,lodged,2026-01-26",
        ]
    );
}
