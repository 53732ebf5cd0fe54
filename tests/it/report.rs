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
    // Policy, steps, progression, weeks, departments and years have something to draw;
    // outcomes and the (all-zero) intervention and comparison scores do not, and get no
    // empty chart.
    assert_eq!(html.matches("<svg").count(), 6, "charts are inline SVG");
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
        ["action,students,cases", "Weekly review (autumn weeks 1-5),25,25", "All actions,25,25"],
        "the ladder's labels, not its action names"
    );
    // The 23 cases are all with the personal tutor, open.
    let steps = std::fs::read_to_string(out.join("steps.csv")).unwrap();
    assert_eq!(
        steps.lines().collect::<Vec<_>>(),
        ["step,owner,cases,open,decided,closed", "Personal tutor,personal tutor,25,25,0,0", "All steps,,25,25,0,0"]
    );
    // Flagged 23 (published 25), all active: 100% continuing; 12 not flagged, too few for
    // percentages; the 35 rated.
    let progression = std::fs::read_to_string(out.join("progression.csv")).unwrap();
    assert_eq!(
        progression.lines().collect::<Vec<_>>(),
        [
            "students_group,students,continuing_pct,intermitted_pct,withdrawn_pct",
            "Flagged (a case raised this year),25,100.0,0.0,0.0",
            "Not flagged,10,..,..,..",
            "All rated students,35,100.0,0.0,0.0",
        ]
    );
    // 23 of the 35 students (level 5, stage 1) flagged: 65.7%.
    let breakdowns = std::fs::read_to_string(out.join("breakdowns.csv")).unwrap();
    assert!(breakdowns.lines().any(|l| l == "Level,Level 5,35,25,65.7"), "{breakdowns}");
    assert!(breakdowns.lines().any(|l| l == "Stage,Stage 1,35,25,65.7"), "{breakdowns}");
    assert!(breakdowns.lines().any(|l| l == "Priority category,Not in a priority category,35,25,65.7"), "{breakdowns}");
    // Everyone rated Very Low on 6 October was contacted: no comparison group to show; and
    // nothing is rated after that day yet, so there is no "after".
    let comparison = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    assert_eq!(
        comparison.lines().collect::<Vec<_>>(),
        ["students_group,students,score_before,score_after,change", "Contacted (a case raised),25,0.00,,"]
    );
    assert!(html.contains("not a causal estimate"), "the comparison's caveat");
    // D2's 5 students are merged into Other; Other's 5 students are too few for percentages.
    let departments = std::fs::read_to_string(out.join("departments.csv")).unwrap();
    let lines: Vec<&str> = departments.lines().collect();
    assert!(lines[1].starts_with("Dept P1,30,"), "{departments}");
    assert_eq!(lines[2], "Other,5,..,..,..,..,..");
    // Averages over 7 cases or fewer are not shown; over 23 they are.
    let interventions = std::fs::read_to_string(out.join("interventions.csv")).unwrap();
    assert!(
        interventions.lines().nth(1).unwrap().starts_with("Weekly review (autumn weeks 1-5),25,0.00,"),
        "{interventions}"
    );
    let _ = d("2025-10-06");
}

#[test]
fn a_planner_edits_the_warehouses_copy_of_the_report_sections_and_only_report_queries_are_accepted() {
    let env = university(&[student("A", "P1", 1, "full-time", "active", "")]);
    let file = env.warehouse.join("reports/senate.toml");
    let shipped = std::fs::read_to_string(&file).expect("init copies the report's sections into the warehouse");
    assert!(shipped.contains("id = \"comparison\""));
    // Two sections, reworded and reordered.
    let edited = "title = \"Engagement report\"\nintro = \"Two tables.\"\n\n\
                  [[sections]]\nid = \"years\"\ntitle = \"Year on year\"\nabout = \"Years held.\"\nquery = \"report/senate_years\"\n\n\
                  [[sections]]\nid = \"steps\"\ntitle = \"Steps\"\nabout = \"Cases by step.\"\nquery = \"report/senate_steps\"\nhide = [\"k\"]\n";
    std::fs::write(&file, edited).unwrap();
    let out = env.dir.path().join("edited");
    env.run(&["--out", out.to_str().unwrap(), "report", "senate", "--year", "2025-26"]).ok();
    let mut csvs: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    csvs.sort();
    assert_eq!(csvs, ["steps.csv", "years.csv"]);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Engagement report") && html.contains("Year on year"));
    assert!(html.find("Year on year").unwrap() < html.find("Cases by step").unwrap(), "the file's order");
    // A section may not name a query that lists students: refused, naming the file and section.
    std::fs::write(&file, edited.replace("report/senate_steps", "console/student_record")).unwrap();
    let refused =
        env.run(&["--out", env.dir.path().join("x").to_str().unwrap(), "report", "senate", "--year", "2025-26"]);
    let refused = refused.code(1);
    assert!(refused.stderr.contains("senate.toml"), "{}", refused.stderr);
    assert!(refused.stderr.contains("sections[2] (steps): query must name a report query"), "{}", refused.stderr);
    assert!(!env.dir.path().join("x/index.html").exists(), "nothing written");
}

#[test]
fn senate_report_needs_an_academic_year_and_a_directory() {
    let env = university(&[]);
    env.run(&["report", "senate", "--year", "2025"]).code(2);
    env.run(&["report", "senate", "--year", "2025-26"]).code(2);
}
