//! `rollcall report senate`: a self-contained page with charts and HESA-rounded tables.

use crate::fixtures::{activity, d, days, student, university};

#[test]
fn senate_report_is_self_contained_rounded_and_suppressed() {
    // 30 students in department D1 (P1) and 5 in D2 (P2): D2 is merged into Other.
    let mut students: Vec<String> =
        (0..30).map(|i| student(&format!("A{i:02}"), "P1", 1, "full-time", "active", "")).collect();
    students.extend((0..5).map(|i| student(&format!("B{i}"), "P2", 1, "full-time", "active", "")));
    let env = university(&students);
    // 12 of the 30 engage daily; everyone else never does.
    let rows: Vec<_> = (0..12)
        .flat_map(|i| days("2025-09-22", "2025-12-12", |_| true).into_iter().map(move |day| (format!("A{i:02}"), day)))
        .collect();
    let rows: Vec<(&str, chrono::NaiveDate, &str, u32)> =
        rows.iter().map(|(s, day)| (s.as_str(), *day, "vle", 20)).collect();
    activity(&env, "a.csv", &rows);
    env.run(&["review", "--as-of", "2025-10-06"]).ok();
    let out = env.dir.path().join("senate");
    let run = env.run(&["--out", out.to_str().unwrap(), "report", "senate", "--year", "2025-26"]).ok();
    assert!(run.stdout.contains("index.html"), "{}", run.stdout);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Policy, weeks, departments and years have something to draw; outcomes and the
    // (all-zero) intervention scores do not, and get no empty chart.
    assert_eq!(html.matches("<svg").count(), 4, "charts are inline SVG");
    assert!(
        !html.contains("http://") && !html.contains("https://")
            || html.matches("http").count() == html.matches("http://www.w3.org").count(),
        "no external fetches"
    );
    assert!(!html.contains("<script") && !html.contains("<link"), "no scripts or linked resources");
    assert!(html.contains("nearest multiple of 5"), "the rounding footnote");
    assert!(html.contains("sha256"), "the queries' provenance");
    for id in ["A00", "A11", "B0"] {
        assert!(!html.contains(id), "no student identifier on the page");
    }
    // Week of 29 September: 35 students rated (published 35); 23 Very Low of 35 = 65.7%.
    let weeks = std::fs::read_to_string(out.join("weeks.csv")).unwrap();
    assert!(weeks.lines().nth(1).unwrap().starts_with("2025-09-29,autumn,1,35,65.7,"), "{weeks}");
    // Weekly reviews on 6 October raised 23 cases for 23 students: published as 25.
    let policy = std::fs::read_to_string(out.join("policy.csv")).unwrap();
    assert_eq!(
        policy.lines().collect::<Vec<_>>(),
        ["action,students,cases", "weekly-review,25,25", "All actions,25,25"]
    );
    // D2's 5 students are merged into Other; Other's 5 students are too few for percentages.
    let departments = std::fs::read_to_string(out.join("departments.csv")).unwrap();
    let lines: Vec<&str> = departments.lines().collect();
    assert!(lines[1].starts_with("Dept P1,30,"), "{departments}");
    assert_eq!(lines[2], "Other,5,..,..,..,..,..");
    // Averages over 7 cases or fewer are not shown; over 23 they are.
    let interventions = std::fs::read_to_string(out.join("interventions.csv")).unwrap();
    assert!(interventions.lines().nth(1).unwrap().starts_with("weekly-review,25,0.00,"), "{interventions}");
    let _ = d("2025-10-06");
}

#[test]
fn senate_report_needs_an_academic_year_and_a_directory() {
    let env = university(&[]);
    env.run(&["report", "senate", "--year", "2025"]).code(2);
    env.run(&["report", "senate", "--year", "2025-26"]).code(2);
}
