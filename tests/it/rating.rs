//! `rollcall rate` and `rollcall ratings` on hand-built data; expected values worked out
//! by hand in the comments.

use crate::fixtures::{activity, configure, d, days, ratings, student, swipes, timetable, university, weekday};

#[test]
fn window_edges_and_no_engagement() {
    // Window 7 days; at 0.125 points a teaching day, one VLE event is a full activity score.
    let env = university(&[
        student("A", "P1", 1, "full-time", "active", ""),
        student("Z", "P1", 1, "full-time", "active", ""),
    ]);
    configure(&env, "window_days = 14", "window_days = 7");
    configure(&env, "activity_points_per_day = 10.0", "activity_points_per_day = 0.125");
    activity(&env, "a.csv", &[("A", d("2025-10-08"), "vle", 1)]);
    let run = env.run(&["rate", "--as-of", "2025-10-17"]).ok();
    assert!(run.stdout.contains("rate: full: rated 2025-09-29 to 2025-10-17"), "{}", run.stdout);
    // The event on Wednesday 8 October is in the windows of 8 to 14 October, not 15.
    assert_eq!(
        ratings(&env, "A", "2025-10-07", "2025-10-15"),
        [
            "2025-10-07 Very Low",
            "2025-10-08 High",
            "2025-10-09 High",
            "2025-10-10 High",
            "2025-10-13 High",
            "2025-10-14 High",
            "2025-10-15 Very Low"
        ]
    );
    // No engagement of any kind: Very Low on every teaching day (15 of them, weekends skipped).
    let z = ratings(&env, "Z", "2025-09-29", "2025-10-17");
    assert_eq!(z.len(), 15);
    assert!(z.iter().all(|r| r.ends_with("Very Low")), "{z:?}");
    // Components are kept on the row.
    assert_eq!(
        env.sql("SELECT vle, library, expected, attendance_rate IS NULL, window_days, round(activity_points, 2), round(score, 2), basis FROM ratings WHERE student_id = 'A' AND day = DATE '2025-10-10'")[1],
        "1,0,0,true,7,1.0,1.0,absolute"
    );
}

#[test]
fn statuses_distance_learners_weights_and_monotonicity() {
    let env = university(&[
        student("BASE", "P1", 1, "full-time", "active", ""),
        student("MORE", "P1", 1, "full-time", "active", ""),
        student("LIB", "P1", 1, "full-time", "active", ""),
        student("DIST_LIB", "P1", 1, "distance", "active", ""),
        student("DIST_VLE", "P1", 1, "distance", "active", ""),
        student("INT", "P1", 1, "full-time", "intermitted", ""),
        student("PLC", "P1", 1, "full-time", "placement", ""),
        student("ABR", "P1", 1, "full-time", "study-abroad", ""),
    ]);
    // The window of 6 October holds 6 teaching days: full activity at 6 x 0.5 = 3 points.
    configure(&env, "activity_points_per_day = 10.0", "activity_points_per_day = 0.5");
    let day = d("2025-10-06");
    activity(
        &env,
        "a.csv",
        &[
            ("BASE", day, "vle", 2), // 2 / 3.5 = 0.571: Partial
            ("MORE", day, "vle", 4), // 4 + 1 = 5 points: capped at 1, High
            ("MORE", day, "library", 1),
            ("LIB", day, "library", 3),      // activity 3 / 3.5 = 0.857
            ("DIST_LIB", day, "library", 3), // library does not count for distance learners
            ("DIST_VLE", day, "vle", 2),     // Partial
            ("INT", day, "vle", 9),
            ("PLC", day, "vle", 9),
            ("ABR", day, "vle", 9),
        ],
    );
    // Everyone is on the class list of a session on 6 October that nobody attends.
    timetable(&env, &[day], &["BASE", "MORE", "LIB", "DIST_LIB", "DIST_VLE", "INT", "PLC", "ABR"]);
    env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    let on = |s: &str| ratings(&env, s, "2025-10-06", "2025-10-06").join("");
    // BASE: 0.6 x (0 of 1 attended) + 0.4 x 0.667 = 0.267: Low.
    assert_eq!(on("BASE"), "2025-10-06 Low");
    // MORE: 0.6 x 0 + 0.4 x 1 = 0.4: Partial, above BASE.
    assert_eq!(on("MORE"), "2025-10-06 Partial");
    // LIB: 0.4 x 1 = 0.4: Partial.
    assert_eq!(on("LIB"), "2025-10-06 Partial");
    // Distance learners have no attendance expectation: the activity score alone.
    assert_eq!(on("DIST_LIB"), "2025-10-06 Very Low");
    assert_eq!(on("DIST_VLE"), "2025-10-06 Good");
    assert_eq!(
        env.scalar("SELECT expected FROM ratings WHERE student_id = 'DIST_VLE' AND day = DATE '2025-10-06'"),
        "0"
    );
    assert_eq!(env.scalar("SELECT count(*) FROM daily_attendance WHERE student_id LIKE 'DIST%'"), "0");
    // Students not monitored get no rating at all, and no attendance expectation.
    assert_eq!(env.scalar("SELECT count(*) FROM ratings WHERE student_id IN ('INT', 'PLC', 'ABR')"), "0");
    assert_eq!(env.scalar("SELECT count(*) FROM daily_attendance WHERE student_id IN ('INT', 'PLC', 'ABR')"), "0");
    // More activity never lowers a rating, on any day.
    let order = ["Very Low", "Low", "Partial", "Good", "High"];
    let rank = |r: &str| order.iter().position(|o| r.ends_with(o)).unwrap();
    let (base, more) =
        (ratings(&env, "BASE", "2025-09-29", "2025-10-10"), ratings(&env, "MORE", "2025-09-29", "2025-10-10"));
    assert_eq!(base.len(), more.len());
    for (b, m) in base.iter().zip(&more) {
        assert!(rank(m) >= rank(b), "{m} below {b}");
    }
    // Weights are settings: with library worth nothing, LIB's 3 library events score 0.
    configure(&env, "library = 1.0", "library = 0.0");
    let run = env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    assert!(run.stdout.contains("rating settings changed"), "{}", run.stdout);
    assert_eq!(on("LIB"), "2025-10-06 Very Low");
    // And band thresholds: with Partial starting at 0.20, BASE (0.267) moves up.
    configure(&env, "partial = 0.35", "partial = 0.20");
    env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    assert_eq!(on("BASE"), "2025-10-06 Partial");
}

#[test]
fn attendance_and_authorised_absence() {
    let env = university(&[
        student("ATT", "P1", 1, "full-time", "active", ""),
        student("ABS", "P1", 1, "full-time", "active", ""),
    ]);
    let teaching = days("2025-09-29", "2025-10-17", weekday);
    timetable(&env, &teaching, &["ATT", "ABS"]);
    swipes(&env, "s.csv", "ATT", &days("2025-09-29", "2025-10-03", weekday));
    env.ingest("absences", &[&env.file("ab.csv", "student_id,starts_on,ends_on,kind\nABS,2025-10-06,2025-10-17,authorised\nATT,2025-10-06,2025-10-07,illness\n")]);
    env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    // ATT on 10 October: 10 sessions expected in the window (illness excuses nothing),
    // 5 attended: 0.6 x 0.5 = 0.30, Low.
    assert_eq!(
        env.sql("SELECT rating, expected, attended, round(score, 2) FROM ratings WHERE student_id = 'ATT' AND day = DATE '2025-10-10'")[1],
        "Low,10,5,0.3"
    );
    // ABS: an authorised absence exempts its days: no rating at all from 6 October.
    assert_eq!(env.scalar("SELECT count(*) FROM ratings WHERE student_id = 'ABS' AND day >= DATE '2025-10-06'"), "0");
    // Without exemptions, the absence only excuses sessions.
    configure(&env, "exempting_absence_kinds = [\"authorised\"]", "exempting_absence_kinds = []");
    env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    // ABS: the week of 6 October is excused, so only week one's 5 sessions are expected.
    assert_eq!(
        env.sql("SELECT rating, expected, attended FROM ratings WHERE student_id = 'ABS' AND day = DATE '2025-10-10'")
            [1],
        "Very Low,5,0"
    );
    assert_eq!(env.sql("SELECT expected, attended, excused FROM daily_attendance WHERE student_id = 'ABS' AND day = DATE '2025-10-08'")[1], "0,0,1");
}

#[test]
fn cohort_relative_banding() {
    // Ten students of one programme and stage; student i has i VLE events on 6 October.
    let ids: Vec<String> = (0..10).map(|i| format!("C{i}")).collect();
    let env = university(&ids.iter().map(|id| student(id, "P1", 1, "full-time", "active", "")).collect::<Vec<_>>());
    let rows: Vec<(&str, chrono::NaiveDate, &str, u32)> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i > 0)
        .map(|(i, id)| (id.as_str(), d("2025-10-06"), "vle", i as u32))
        .collect();
    activity(&env, "a.csv", &rows);
    configure(&env, "activity_points_per_day = 10.0", "activity_points_per_day = 100.0");
    configure(&env, "basis = \"absolute\"", "basis = \"cohort\"");
    env.run(&["rate", "--as-of", "2025-10-06"]).ok();
    let day = "SELECT rating FROM ratings WHERE day = DATE '2025-10-06' ORDER BY student_id";
    // Shares of the cohort scoring no higher: C1 0.2, C2 0.3 ... C9 1.0; C0 has no engagement.
    assert_eq!(
        env.sql(day)[1..],
        ["Very Low", "Low", "Partial", "Partial", "Good", "Good", "Good", "High", "High", "High"]
    );
    assert_eq!(
        env.scalar("SELECT round(cohort_share, 2) FROM ratings WHERE student_id = 'C4' AND day = DATE '2025-10-06'"),
        "0.5"
    );
    // A cohort smaller than min_cohort_size is banded absolutely: these scores are all tiny.
    configure(&env, "min_cohort_size = 10", "min_cohort_size = 11");
    env.run(&["rate", "--as-of", "2025-10-06"]).ok();
    assert!(env.sql(day)[1..].iter().all(|r| r == "Very Low"));
    assert_eq!(env.scalar("SELECT DISTINCT basis FROM ratings"), "absolute");
}

#[test]
fn incremental_runs_and_late_data() {
    let env = university(&[student("ATT", "P1", 1, "full-time", "active", "")]);
    timetable(&env, &days("2025-09-29", "2025-10-17", weekday), &["ATT"]);
    swipes(&env, "s1.csv", "ATT", &days("2025-09-29", "2025-10-03", weekday));
    let first = env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    assert!(first.stdout.contains("full"), "{}", first.stdout);
    let again = env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    assert!(again.stdout.contains("up to date: nothing to rate"), "{}", again.stdout);
    let next = env.run(&["rate", "--as-of", "2025-10-14"]).ok();
    assert!(next.stdout.contains("incremental: rated 2025-10-11 to 2025-10-14"), "{}", next.stdout);
    assert_eq!(env.scalar("SELECT attended FROM ratings WHERE day = DATE '2025-10-08'"), "5");
    // Swipes for 6 and 7 October arrive a week late: those days' windows change.
    swipes(&env, "late.csv", "ATT", &[d("2025-10-06"), d("2025-10-07")]);
    let late = env.run(&["rate", "--as-of", "2025-10-14"]).ok();
    assert!(late.stdout.contains("incremental: rated 2025-10-06 to 2025-10-14"), "{}", late.stdout);
    assert!(late.stdout.contains("touched 2025-10-06 to 2025-10-07"), "{}", late.stdout);
    // The count reported is that of the days rated, not of the table: 7 teaching days.
    let rated = env.scalar("SELECT count(*) FROM ratings WHERE day BETWEEN DATE '2025-10-06' AND DATE '2025-10-14'");
    assert_eq!(rated, "7");
    assert!(late.stdout.contains("(7 ratings)"), "{}", late.stdout);
    assert!(next.stdout.contains("(2 ratings)"), "{}", next.stdout);
    assert!(first.stdout.contains("(10 ratings)"), "{}", first.stdout);
    assert_eq!(env.scalar("SELECT attended FROM ratings WHERE day = DATE '2025-10-08'"), "7");
    assert_eq!(
        env.scalar("SELECT attended FROM ratings WHERE day = DATE '2025-10-03'"),
        "5",
        "days before the late data are unchanged"
    );
    assert_eq!(
        env.sql("SELECT mode FROM rating_runs ORDER BY run_at")[1..],
        ["full", "up to date", "incremental", "incremental"]
    );
    // A corrected timetable asks for a full recomputation.
    env.ingest("sessions", &[&env.file("t2.csv", "session_id,module_code,starts_at,ends_at,room\nM-2025-10-08,M1,2025-10-08T14:00:00,2025-10-08T15:00:00,R1\n")]);
    let full = env.run(&["rate", "--as-of", "2025-10-14"]).ok();
    assert!(full.stdout.contains("full") && full.stdout.contains("sessions, class lists"), "{}", full.stdout);
}

/// The commits in a table's transaction log.
fn commits(env: &crate::common::Env, table: &str) -> usize {
    let log = env.warehouse.join("tables").join(table).join("_delta_log");
    let names = std::fs::read_dir(log).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap());
    names.filter(|n| n.ends_with(".json")).count()
}

/// A day's new rows recompute only the rollup they feed: activity the activity rollup;
/// swipes, absences and student records the attendance rollup; a status period neither.
/// The ratings are those of a full recomputation each time.
#[test]
fn each_rollup_is_made_again_only_for_its_own_new_rows() {
    let env = university(&[
        student("ATT", "P1", 1, "full-time", "active", ""),
        student("VLE", "P1", 1, "full-time", "active", ""),
    ]);
    timetable(&env, &days("2025-09-29", "2025-10-17", weekday), &["ATT", "VLE"]);
    swipes(&env, "s1.csv", "ATT", &days("2025-09-29", "2025-10-08", weekday));
    activity(&env, "a1.csv", &[("VLE", d("2025-10-01"), "vle", 12)]);
    env.run(&["rate", "--as-of", "2025-10-08"]).ok();
    let full_again = |env: &crate::common::Env, as_of: &str| {
        let kept = all_ratings(env);
        env.run(&["rate", "--as-of", as_of, "--full"]).ok();
        assert_eq!(all_ratings(env), kept, "the incremental run's ratings are a full recomputation's");
    };

    // A day's activity: the activity rollup alone, daily_attendance not written.
    activity(&env, "a2.csv", &[("VLE", d("2025-10-09"), "vle", 30), ("ATT", d("2025-10-09"), "library", 2)]);
    let (activity_commits, attendance_commits) = (commits(&env, "daily_activity"), commits(&env, "daily_attendance"));
    let run = env.run(&["rate", "--as-of", "2025-10-09"]).ok();
    assert!(run.stdout.contains("incremental: rated 2025-10-09 to 2025-10-09"), "{}", run.stdout);
    assert!(run.stdout.contains("activity rollup") && !run.stdout.contains("attendance rollup"), "{}", run.stdout);
    assert_eq!(commits(&env, "daily_activity"), activity_commits + 1);
    assert_eq!(commits(&env, "daily_attendance"), attendance_commits);
    let vle = "SELECT vle FROM ratings WHERE student_id = 'VLE' AND day = DATE '2025-10-09'";
    assert_eq!(env.scalar(vle), "42", "the new activity is in the day's window");
    let att = "SELECT expected, attended FROM ratings WHERE student_id = 'ATT' AND day = DATE '2025-10-09'";
    assert_eq!(env.sql(att)[1], "9,8", "the day's expected session is counted from the rollup kept");
    full_again(&env, "2025-10-09");

    // The next day's swipes: the attendance rollup alone.
    swipes(&env, "s2.csv", "ATT", &[d("2025-10-10")]);
    let activity_commits = commits(&env, "daily_activity");
    let run = env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    assert!(run.stdout.contains("attendance rollup") && !run.stdout.contains("activity rollup"), "{}", run.stdout);
    assert_eq!(commits(&env, "daily_activity"), activity_commits);
    let att = "SELECT expected, attended FROM ratings WHERE student_id = 'ATT' AND day = DATE '2025-10-10'";
    assert_eq!(env.sql(att)[1], "10,9");
    full_again(&env, "2025-10-10");

    // An absence excusing a day already rated: the attendance rollup of its days, and the
    // ratings from its first day.
    env.ingest(
        "absences",
        &[&env.file("ab.csv", "student_id,starts_on,ends_on,kind\nATT,2025-10-03,2025-10-03,authorised\n")],
    );
    let run = env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    assert!(run.stdout.contains("incremental: rated 2025-10-03 to 2025-10-10"), "{}", run.stdout);
    assert!(run.stdout.contains("attendance rollup") && !run.stdout.contains("activity rollup"), "{}", run.stdout);
    full_again(&env, "2025-10-10");

    // A status period: no rollup, the days from its start rated again.
    env.ingest(
        "status-changes",
        &[&env.file("p.csv", "student_id,status,starts_on,ends_on\nVLE,intermitted,2025-10-08,2025-10-09\n")],
    );
    let (activity_commits, attendance_commits) = (commits(&env, "daily_activity"), commits(&env, "daily_attendance"));
    let run = env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    assert!(run.stdout.contains("incremental: rated 2025-10-08 to 2025-10-10"), "{}", run.stdout);
    assert!(!run.stdout.contains("rollup"), "{}", run.stdout);
    assert_eq!(
        (commits(&env, "daily_activity"), commits(&env, "daily_attendance")),
        (activity_commits, attendance_commits)
    );
    full_again(&env, "2025-10-10");
}

/// Every rating of a run in its order, without the time it was computed.
fn all_ratings(env: &crate::common::Env) -> Vec<String> {
    env.sql("SELECT * EXCEPT (computed_at) FROM ratings ORDER BY day, student_id")
}

#[test]
fn changed_bands_rate_every_day_again_from_the_rollups_kept() {
    let env = university(&[
        student("ATT", "P1", 1, "full-time", "active", ""),
        student("VLE", "P1", 1, "full-time", "active", ""),
    ]);
    timetable(&env, &days("2025-09-29", "2025-10-17", weekday), &["ATT", "VLE"]);
    swipes(&env, "s1.csv", "ATT", &days("2025-09-29", "2025-10-06", weekday));
    activity(&env, "a1.csv", &[("VLE", d("2025-10-01"), "vle", 12), ("VLE", d("2025-10-06"), "library", 4)]);
    let first = env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    assert!(first.stdout.contains("activity rollup"), "{}", first.stdout);
    // ATT on 10 October: 6 of 10 sessions, 0.6 x 0.6 = 0.36: Partial under the default bands.
    let att = "SELECT rating, expected, attended FROM ratings WHERE student_id = 'ATT' AND day = DATE '2025-10-10'";
    assert_eq!(env.sql(att)[1], "Partial,10,6");

    // Partial from 0.40: every day rated again, the rollups not recomputed.
    configure(&env, "partial = 0.35", "partial = 0.40");
    let run = env.run(&["rate", "--as-of", "2025-10-10"]).ok();
    assert!(run.stdout.contains("rate: full: rated 2025-09-29 to 2025-10-10 (20 ratings)"), "{}", run.stdout);
    assert!(
        run.stdout.contains("rating settings changed since the last run; the daily rollups stand"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("rollup "), "no rollup recomputed: {}", run.stdout);
    assert_eq!(env.sql(att)[1], "Low,10,6");
    // The same ratings as recomputing everything from the raw events.
    let kept = all_ratings(&env);
    assert_eq!(kept.len(), 21);
    env.run(&["rate", "--as-of", "2025-10-10", "--full"]).ok();
    assert_eq!(all_ratings(&env), kept);

    // Late swipes and a changed window in one run: the days the swipes touched are rolled
    // up again first, then every day is rated.
    swipes(&env, "s2.csv", "ATT", &days("2025-10-07", "2025-10-10", weekday));
    configure(&env, "window_days = 14", "window_days = 7");
    let run = env.run(&["rate", "--as-of", "2025-10-14"]).ok();
    assert!(
        run.stdout.contains("rollups stand, data ingested since the last run touched 2025-10-07 to 2025-10-10"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("attendance rollup"), "{}", run.stdout);
    // 10 October's window of 7 days: 5 sessions, all attended: 0.6 x 1 = 0.6, Good.
    assert_eq!(env.sql(att)[1], "Good,5,5");
    let kept = all_ratings(&env);
    env.run(&["rate", "--as-of", "2025-10-14", "--full"]).ok();
    assert_eq!(all_ratings(&env), kept);

    // Asked for: every day again, from the rollups.
    let run = env.run(&["rate", "--as-of", "2025-10-14", "--all-days"]).ok();
    assert!(run.stdout.contains("rate: full: rated 2025-09-29 to 2025-10-14 (24 ratings)"), "{}", run.stdout);
    assert!(run.stdout.contains("every rating asked for, from the daily rollups"), "{}", run.stdout);
    assert!(!run.stdout.contains("rollup "), "{}", run.stdout);
    assert_eq!(all_ratings(&env), kept);
    env.run(&["rate", "--as-of", "2025-10-14", "--all-days", "--full"]).code(2);

    // A kind of absence that now excuses sessions changes the rollups: they are made again.
    configure(
        &env,
        "excusing_absence_kinds = [\"authorised\"]",
        "excusing_absence_kinds = [\"authorised\", \"illness\"]",
    );
    let run = env.run(&["rate", "--as-of", "2025-10-14"]).ok();
    assert!(
        run.stdout.contains("rating settings changed since the last run, and the daily rollups with them"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("activity rollup") && run.stdout.contains("attendance rollup"), "{}", run.stdout);
    assert_eq!(
        env.sql("SELECT mode FROM rating_runs ORDER BY run_at")[1..],
        ["full", "full", "full", "full", "full", "full", "full"]
    );
}

#[test]
fn no_rating_on_bank_holidays_or_in_vacation() {
    let env = university(&[student("A", "P1", 1, "full-time", "active", "")]);
    env.run(&["rate", "--as-of", "2026-05-08"]).ok();
    let may = ratings(&env, "A", "2026-05-01", "2026-05-06");
    // 4 May 2026 is the early May bank holiday.
    assert_eq!(may, ["2026-05-01 Very Low", "2026-05-05 Very Low", "2026-05-06 Very Low"]);
    assert_eq!(
        env.scalar("SELECT count(*) FROM ratings WHERE day BETWEEN DATE '2025-12-13' AND DATE '2026-01-11'"),
        "0"
    );
    let listed = env.run(&["--format", "csv", "ratings", "--date", "2026-05-05"]).ok();
    assert!(listed.stdout.starts_with("student_id,date,rating,score"), "{}", listed.stdout);
    assert!(listed.stdout.contains("\nA,2026-05-05,Very Low,0.0,absolute"), "{}", listed.stdout);
}

#[test]
fn rate_without_terms_says_what_to_load() {
    let env = crate::common::Env::new();
    let run = env.run(&["rate", "--as-of", "2025-10-10"]).code(2);
    assert!(run.stderr.contains("ingest terms"), "{}", run.stderr);
}

/// Rating a few days at a time (window sums by range join) and the whole range at once
/// (by running totals) give the same ratings, component by component.
#[test]
fn both_window_strategies_agree() {
    let env = university(&[
        student("ATT", "P1", 1, "full-time", "active", ""),
        student("VLE", "P1", 1, "full-time", "active", ""),
        student("DST", "P1", 1, "distance", "active", ""),
    ]);
    let teaching = days("2025-09-29", "2025-10-24", weekday);
    timetable(&env, &teaching, &["ATT", "VLE"]);
    swipes(&env, "s.csv", "ATT", &teaching[..8]);
    let rows: Vec<(&str, chrono::NaiveDate, &str, u32)> = teaching
        .iter()
        .enumerate()
        .flat_map(|(i, day)| [("VLE", *day, "vle", 1 + i as u32 % 7), ("DST", *day, "submission", (i % 3) as u32)])
        .collect();
    activity(&env, "a.csv", &rows);
    let snapshot = || {
        env.sql(
            "SELECT student_id, day, rating, round(score, 9), expected, attended, vle, submission, \
             round(activity_points, 6) FROM ratings ORDER BY student_id, day",
        )
    };
    for day in days("2025-10-01", "2025-10-24", weekday) {
        env.run(&["rate", "--as-of", &day.to_string()]).ok();
    }
    let a_few_at_a_time = snapshot();
    assert!(a_few_at_a_time.len() > 50, "{}", a_few_at_a_time.len());
    env.run(&["rate", "--as-of", "2025-10-24", "--full"]).ok();
    assert_eq!(snapshot(), a_few_at_a_time);
}

#[test]
fn a_memory_limit_gives_the_same_ratings_and_too_small_a_limit_stops_with_a_clear_error() {
    let make = || {
        let env = university(&[
            student("A", "P1", 1, "full-time", "active", ""),
            student("B", "P1", 1, "full-time", "active", ""),
        ]);
        activity(&env, "a.csv", &[("A", d("2025-10-08"), "vle", 3), ("B", d("2025-10-09"), "library", 1)]);
        env
    };
    let free = make();
    free.run(&["rate", "--as-of", "2025-10-31"]).ok();
    let limited = make();
    configure(&limited, "memory_limit_mib = 0", "memory_limit_mib = 64");
    limited.run(&["rate", "--as-of", "2025-10-31"]).ok();
    let all = |env: &crate::common::Env| env.sql("SELECT student_id, day, rating, score FROM ratings ORDER BY 1, 2");
    assert_eq!(all(&free), all(&limited));
    assert!(all(&free).len() > 30);

    let starved = make();
    configure(&starved, "memory_limit_mib = 0", "memory_limit_mib = 1");
    let run = starved.run(&["rate", "--as-of", "2025-10-31"]).code(1);
    assert!(run.stderr.contains("Resources exhausted"), "{}", run.stderr);
}

/// The (day, student) pairs of every Parquet file under `table`, file by file.
/// Rollups and ratings are stored in day order, so a day's rows sit in few files: file
/// statistics let a one-day rate replace only those and a scan skip the rest.
/// Also: their student ids are stored as they are, without a dictionary (a day-ordered
/// file repeats each id a few times at most, and interning each one cost the full rating
/// about a tenth of its time; BENCHMARKS.md).
#[test]
fn rollups_and_ratings_are_stored_in_day_order() {
    let ids = ["A", "B", "C", "D", "E", "F"];
    let env = university(&ids.iter().map(|id| student(id, "P1", 1, "full-time", "active", "")).collect::<Vec<_>>());
    let teaching = days("2025-09-29", "2025-10-24", weekday);
    timetable(&env, &teaching, &ids);
    for id in ids {
        swipes(&env, &format!("s-{id}.csv"), id, &teaching);
    }
    let rows: Vec<(&str, chrono::NaiveDate, &str, u32)> =
        teaching.iter().flat_map(|day| ids.map(|id| (id, *day, "vle", 2))).collect();
    activity(&env, "a.csv", &rows);
    env.run(&["rate", "--as-of", "2025-10-24", "--full"]).ok();
    for table in ["daily_activity", "daily_attendance", "ratings"] {
        let files = crate::common::stored_order(&env, table);
        let rows: usize = files.iter().map(Vec::len).sum();
        assert!(rows >= ids.len() * teaching.len(), "{table}: {rows} rows");
        for rows in files {
            assert!(rows.is_sorted(), "{table} is not stored in day order: {rows:?}");
        }
        let ids = crate::common::column_encodings(&env, table, "student_id");
        assert!(!ids.is_empty(), "{table} has stored files");
        for (encodings, dictionary) in ids {
            assert!(!dictionary && !encodings.iter().any(|e| e.contains("DICTIONARY")), "{table}: {encodings:?}");
        }
    }
}
