//! `rollcall demo` end to end on a small university.

use crate::common::rollcall_command;

/// The text of an output file; a workbook (a zip) is read part by part.
fn output_text(file: &std::path::Path) -> String {
    let bytes = std::fs::read(file).unwrap();
    if file.extension().is_some_and(|e| e == "xlsx") {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut all = String::new();
        for i in 0..archive.len() {
            std::io::Read::read_to_string(&mut archive.by_index(i).unwrap(), &mut all).unwrap();
        }
        all
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[test]
fn demo_builds_a_university_and_ingests_it() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out =
        rollcall_command().args(["demo", "--students", "150", "--seed", "7", "--dir"]).arg(&demo).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ingested activity"), "{stdout}");
    let wh = demo.join("warehouse");
    let sql = |q: &str| -> Vec<String> {
        let out = rollcall_command().arg("--warehouse").arg(&wh).args(["--format", "csv", "sql", q]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().skip(1).map(str::to_string).collect()
    };
    // 150 current students; the graduates of seven and eight years ago were erased by the
    // demo's retention purge, and the run recorded.
    assert_eq!(sql("SELECT count(*) FROM students"), ["150"]);
    assert_eq!(sql("SELECT count(*) FROM students WHERE completion_date < DATE '2019-07-01'"), ["0"]);
    assert_eq!(sql("SELECT students FROM retention_runs"), ["3"]);
    assert_eq!(sql("SELECT count(*) FROM privacy_budget"), ["1"]);
    assert_eq!(sql("SELECT count(*) FROM terms"), ["3"]);
    // Every kind of swipe outcome occurs, and most swipes count.
    let outcomes = sql("SELECT outcome FROM swipe_outcomes GROUP BY outcome ORDER BY outcome");
    assert_eq!(outcomes, ["attended", "no session in room", "outside window", "repeat"]);
    let share: f64 = sql(
        "SELECT CAST(sum(CASE WHEN outcome = 'attended' THEN 1 ELSE 0 END) AS DOUBLE) / count(*) FROM swipe_outcomes",
    )[0]
    .parse()
    .unwrap();
    assert!(share > 0.8, "attended share {share}");
    // Distance learners have no class lists and no swipes.
    assert_eq!(
        sql("SELECT count(*) FROM students s JOIN swipes w USING (student_id) WHERE s.mode = 'distance'"),
        ["0"]
    );
    // No session is timetabled on the early May bank holiday.
    assert_eq!(sql("SELECT count(*) FROM sessions WHERE day = DATE '2026-05-04'"), ["0"]);
    // The same seed gives the same files.
    let again = dir.path().join("again");
    let out = rollcall_command()
        .args(["demo", "--students", "150", "--seed", "7", "--generate-only", "--dir"])
        .arg(&again)
        .output()
        .unwrap();
    assert!(out.status.success());
    for file in ["students.csv", "sessions.csv", "swipes.csv", "activity-001.csv"] {
        assert_eq!(
            std::fs::read(demo.join("input").join(file)).unwrap(),
            std::fs::read(again.join("input").join(file)).unwrap(),
            "{file}"
        );
    }
    // Students generated to stop engaging in teaching week 4 are listed by the weekly or
    // fortnightly review one to two weeks later; few others are listed at all.
    let truth = std::fs::read_to_string(demo.join("input/truth.csv")).unwrap();
    let mut week_four = Vec::new();
    let mut steady = 0;
    for line in truth.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[2] == "4" {
            week_four.push((f[0].to_string(), chrono::NaiveDate::parse_from_str(f[3], "%Y-%m-%d").unwrap()));
        } else if f[2].is_empty() && f[4] == "false" && f[5] == "false" {
            steady += 1;
        }
    }
    assert!(week_four.len() >= 3, "the demo plants week-4 disengagement: {}", week_four.len());
    for (student, monday) in &week_four {
        let first = sql(&format!(
            "SELECT CAST(raised_on AS VARCHAR) || ' ' || action FROM cases WHERE student_id = '{student}' ORDER BY raised_on, rung LIMIT 1"
        ));
        assert_eq!(first.len(), 1, "{student} was never listed");
        let (day, action) = first[0].split_once(' ').unwrap();
        let after = (chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap() - *monday).num_days();
        assert!((7..=14).contains(&after), "{student} first listed {after} days after stopping");
        assert!(action == "weekly-review" || action == "fortnightly-review", "{student}: {action}");
        let referral =
            sql(&format!("SELECT count(*) FROM cases WHERE student_id = '{student}' AND action = 'referral'"));
        assert_eq!(referral, ["1"], "{student} is referred in December");
    }
    let listed_steady: usize = sql("SELECT count(DISTINCT student_id) FROM cases")[0].parse::<usize>().unwrap();
    assert!(listed_steady <= week_four.len() * 8 + steady / 10, "too many listed: {listed_steady}");
    assert!(demo.join("out/review-2025-12-01.csv").exists() && demo.join("out/ratings-2025-12-01.csv").exists());
    for file in [
        "out/ukvi-2026-03-02.xlsx",
        "out/ukvi-2026-03-02.csv",
        "out/funder-SFE-2026-03-02.xlsx",
        "out/senate/index.html",
        "out/senate/weeks.csv",
    ] {
        assert!(demo.join(file).exists(), "{file}");
    }
    let ukvi = std::fs::read_to_string(demo.join("out/ukvi-2026-03-02.csv")).unwrap();
    assert!(ukvi.starts_with("student_id,cas_number,event,trigger_date,report_by,rule,overdue"), "{ukvi}");
    assert!(!ukvi.contains(",2023-"), "no verdict on courses started before the data: {ukvi}");
    let review = std::fs::read_to_string(demo.join("out/review-2025-12-01.csv")).unwrap();
    assert!(review.starts_with("case_id,student_id,action,reason,department"), "{review}");
    assert!(review.contains("recommendation for staff review"));
    // Ethnicity appears nowhere in the warehouse but the equality table.
    let labels = ["Mixed - White and Asian", "Black or Black British - African", "Asian or Asian British - Indian"];
    crate::privacy::assert_no_ethnicity_outside_equality(&wh, &labels);
    // Nor in anything the demo printed or wrote out, the equality release and extract
    // included; only the subject-access export holds its one student's ethnicity.
    let sar: Vec<_> = std::fs::read_dir(demo.join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("sar-"))
        .collect();
    assert_eq!(sar.len(), 1, "one subject-access export");
    assert!(sar[0].join("index.html").exists() && sar[0].join("data/equality.csv").exists());
    assert!(demo.join("out/equality/index.html").exists() && demo.join("out/equality-extract.csv").exists());
    for file in crate::common::files_below(&demo.join("out")) {
        if file.starts_with(&sar[0]) {
            continue;
        }
        let text = output_text(&file);
        assert!(labels.iter().all(|l| !text.contains(l)), "{} holds an ethnicity value", file.display());
    }
    assert!(labels.iter().all(|l| !stdout.contains(l)));

    // Every command a user runs on the demo warehouse: nothing it prints or writes holds
    // an ethnicity value, except the subject-access export (checked above).
    let runs = dir.path().join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    let out = |name: &str| runs.join(name).to_string_lossy().into_owned();
    let commands: Vec<Vec<String>> = [
        vec!["ratings", "--date", "2025-12-01", "--out", &out("ratings.csv")],
        vec!["review", "--as-of", "2025-12-08", "--dry-run", "--out", &out("review.csv")],
        vec!["case", "list"],
        vec!["return", "ukvi", "--as-of", "2026-03-02", "--format", "json"],
        vec!["return", "funder", "--body", "SFE", "--as-of", "2026-03-02", "--out", &out("funder.xlsx")],
        vec!["report", "senate", "--year", "2025-26", "--out", &out("senate")],
        vec!["equality", "--year", "2025-26", "--epsilon", "0.5", "--out", &out("equality")],
        vec!["equality", "budget", "--year", "2025-26"],
        vec!["equality", "extract", "--approval", "DPO-1", "--out", &out("extract.csv")],
        vec!["retention", "purge", "--as-of", "2033-07-31", "--dry-run"],
        vec!["sql", "SELECT * FROM students LIMIT 50"],
        vec!["sql", "SELECT * FROM equality_releases"],
        vec!["audit", "verify"],
    ]
    .iter()
    .map(|c| c.iter().map(|a| a.to_string()).collect())
    .collect();
    for args in &commands {
        let run = rollcall_command().arg("--warehouse").arg(&wh).args(args).output().unwrap();
        assert!(run.status.success(), "{args:?}: {}", String::from_utf8_lossy(&run.stderr));
        let printed = String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
        assert!(labels.iter().all(|l| !printed.contains(l)), "{args:?} printed an ethnicity value");
    }
    for file in crate::common::files_below(&runs) {
        let text = output_text(&file);
        assert!(labels.iter().all(|l| !text.contains(l)), "{} holds an ethnicity value", file.display());
    }
    crate::privacy::assert_no_ethnicity_outside_equality(&wh, &labels);
}

#[test]
fn demo_refuses_to_replace_a_directory_it_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep").unwrap();
    let out = rollcall_command().args(["demo", "--students", "5", "--dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(dir.path().join("precious.txt").exists());
}
