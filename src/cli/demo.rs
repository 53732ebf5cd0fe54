//! `rollcall demo`: generate a synthetic university, ingest it into a fresh warehouse and
//! run every job, printing where the results are.

use std::io::IsTerminal;

use chrono::{Datelike, NaiveDate};
use datafusion::prelude::CsvReadOptions;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use super::{GlobalArgs, output, thousands};
use crate::config::{CONFIG_FILE, PRESETS};
use crate::demo::{self, DemoSpec};
use crate::domain::clock::FixedClock;
use crate::domain::year::AcademicYear;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::ingest::{self, IngestOptions, kinds};
use crate::review;
use crate::warehouse::{Warehouse, write_atomically};

const MARKER: &str = ".rollcall-demo";

/// Build a synthetic university in a fresh warehouse and run every job on it.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Students in the generated year (graduates held for retention come on top).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    pub students: u32,
    /// Seed for every random draw: the same seed gives the same university.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Directory for the demo: input files, key and warehouse (replaced if it holds an earlier demo).
    #[arg(long, default_value = "demo")]
    pub dir: PathBuf,
    /// First calendar year of the generated academic year.
    #[arg(long, default_value_t = 2025)]
    pub year: i32,
    /// Escalation preset of the demo warehouse.
    #[arg(long, default_value = "staged-review", value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    pub preset: String,
    /// How activity reaches the warehouse: `interchange` CSV, or `real` exports (Moodle
    /// log, lecture-capture export, xAPI statements, Teams attendance reports) read by the
    /// adapters; both give the same ratings.
    #[arg(long, default_value = "interchange", value_parser = ["interchange", "real"])]
    pub formats: String,
    /// Only write the input files; do not build a warehouse.
    #[arg(long)]
    pub generate_only: bool,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        prepare_dir(&self.dir)?;
        let spec = DemoSpec { students: self.students, seed: self.seed, year: self.year, ..DemoSpec::default() };
        let input = self.dir.join("input");
        println!(
            "generating {} students (seed {}) into {} ...",
            thousands(u64::from(spec.students)),
            spec.seed,
            input.display()
        );
        let files = tokio::task::block_in_place(|| demo::generate(&spec, &input))?;
        let c = &files.counts;
        println!(
            "  {} students, {} sessions, {} class-list rows, {} swipes, {} activity rows, {} absences; {} generated to disengage (truth.csv)",
            thousands(c.students),
            thousands(c.sessions),
            thousands(c.class_list_rows),
            thousands(c.swipes),
            thousands(c.activity),
            thousands(c.absences),
            thousands(c.disengaging)
        );
        if self.generate_only {
            return Ok(ExitCode::SUCCESS);
        }

        let key = demo::write_key(&self.dir.join("keys"), "pseudonym.key")?;
        let audit_key = demo::write_key(&self.dir.join("keys"), "audit.key")?;
        let root = self.dir.join("warehouse");
        ingest::init_warehouse(&root, &self.preset).await?;
        crate::report::senate::copy_spec(&root)?;
        let config_path = root.join(CONFIG_FILE);
        let config = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let config = config.replace(
            "# pseudonym_key_file = \"/etc/rollcall/pseudonym.key\"",
            &format!("pseudonym_key_file = \"{}\"", key.display()),
        );
        let config = config.replace(
            "# audit_key_file = \"/etc/rollcall/audit.key\"",
            &format!("audit_key_file = \"{}\"", audit_key.display()),
        );
        write_atomically(&config_path, config.as_bytes())?;
        // The demo's jobs run as at the end of its academic year, whatever today's date:
        // the same seed then gives the same stamps, pages and ids' dates on every run.
        // (Ingest stamps stay on the system clock; see `ingest::ingest_stamp`.)
        let year_end = NaiveDate::from_ymd_opt(self.year + 1, 7, 31).expect("valid date");
        let pinned = year_end.and_hms_opt(17, 0, 0).expect("valid time").and_utc();
        let warehouse = Warehouse::open(&root, None)?.with_clock(Arc::new(FixedClock(pinned)));
        println!("warehouse {} (preset {})", warehouse.root().display(), self.preset);

        let options =
            IngestOptions { progress: !global.quiet && std::io::stderr().is_terminal(), ..IngestOptions::default() };
        // Bank holidays come with `init`; the generator writes every other kind.
        let real = self.formats == "real";
        for kind in kinds::ALL.iter().filter(|k| k.name != kinds::BANK_HOLIDAYS.name) {
            if real && kind.name == kinds::ACTIVITY.name {
                continue;
            }
            let loaded =
                ingest::load(&warehouse, &ingest::Source::Interchange(*kind), &files.files(kind.name), &options)
                    .await?;
            super::ingest::print_loaded(&loaded, warehouse.config().ingest.max_listed_problems);
            if loaded.refused() > 0 {
                return Err(Error::Internal(format!("the demo's own {} file was refused", kind.name)));
            }
        }

        if real {
            let tz = warehouse.config().tz().map_err(Error::Usage)?;
            let exports = tokio::task::block_in_place(|| demo::real::convert(&files, tz))?;
            println!("activity written as exports into {}", input.join("real").display());
            for (name, paths) in exports.by_format() {
                let source = ingest::Source::by_name(name).expect("a known format");
                let loaded = ingest::load(&warehouse, &source, paths, &options).await?;
                super::ingest::print_loaded(&loaded, warehouse.config().ingest.max_listed_problems);
                if loaded.refused() > 0 {
                    return Err(Error::Internal(format!("the demo's own {name} export was refused")));
                }
            }
        }

        // Run the year as a university would: a review every teaching Monday, plus the
        // staged-review dates (1 December referral, early March decision).
        let calendar = demo::AcademicCalendar::for_year(self.year);
        let mut review_days: Vec<NaiveDate> = calendar.teaching_weeks().map(|(_, monday)| monday).skip(1).collect();
        review_days.push(NaiveDate::from_ymd_opt(self.year, 12, 1).expect("valid date"));
        review_days.push(first_monday_of_march(self.year + 1));
        review_days.sort();
        review_days.dedup();
        let mut raised = 0;
        let mut recorded = 0;
        for day in &review_days {
            let outcome = review::review(&warehouse, *day, false).await?;
            raised += outcome.raised;
            // Staff act on what was raised: contacts, meetings, outcomes, decisions.
            recorded += demo::staff::act(&warehouse, *day, self.seed).await?;
            if outcome.rate.mode == "full" {
                println!("{}", super::rate::summary(&outcome.rate));
            }
        }
        println!(
            "reviewed {} days from {} to {}: {} actions raised for staff, {} outcomes and decisions recorded by staff",
            review_days.len(),
            review_days[0],
            review_days[review_days.len() - 1],
            thousands(raised),
            thousands(recorded as u64)
        );

        let out = self.dir.join("out");
        crate::warehouse::create_private_dir(&out)?;
        let ctx = session::build(&warehouse, Access::Analyst).await?;
        ctx.register_csv("truth", input.join("truth.csv").to_string_lossy().as_ref(), CsvReadOptions::new())
            .await
            .map_err(|e| Error::query("demo truth", e))?;
        let show = |title: &str| println!("\n{title}");
        show("ratings on 1 December (students per band):");
        let december = NaiveDate::from_ymd_opt(self.year, 12, 1).expect("valid date");
        let on_december = [("date", crate::engine::cells::date(crate::domain::time::date_to_days(december)))];
        let distribution = crate::queries::plan(&ctx, "demo/distribution", &on_december).await?;
        output::write_frame(distribution, "demo/distribution", output::Format::Table, None).await?;
        show("actions raised over the year:");
        let actions = crate::queries::plan(&ctx, "demo/actions", &[]).await?;
        output::write_frame(actions, "demo/actions", output::Format::Table, None).await?;
        show(
            "students generated to stop engaging in teaching week 4 (from the Monday in truth.csv), and when they were first listed:",
        );
        let week_four = crate::queries::plan(&ctx, "demo/week_four", &[]).await?;
        output::write_frame(week_four, "demo/week_four", output::Format::Table, None).await?;
        show(
            "students never generated to disengage who were listed (active, monitored), and students listed while on an authorised absence:",
        );
        let false_alarms = crate::queries::plan(&ctx, "demo/false_alarms", &[]).await?;
        output::write_frame(false_alarms, "demo/false_alarms", output::Format::Table, None).await?;

        let review_file = out.join(format!("review-{december}.csv"));
        let list = review::review(&warehouse, december, true).await?;
        output::write_frame(list.list, "review/open_cases", output::Format::Csv, Some(&review_file)).await?;
        let ratings_file = out.join(format!("ratings-{december}.csv"));
        let ctx = session::build(&warehouse, Access::Internal { with_equality: false }).await?;
        let frame = crate::queries::plan(&ctx, "rating/ratings_on", &on_december).await?;
        output::write_frame(frame, "rating/ratings_on", output::Format::Csv, Some(&ratings_file)).await?;

        // The statutory returns on 2 March, and the Senate report for the year.
        let march = first_monday_of_march(self.year + 1);
        // Each return holds the warehouse lock until it is written and dropped.
        let ukvi_file = out.join(format!("ukvi-{march}.xlsx"));
        for (format, file) in
            [(output::Format::Xlsx, ukvi_file.clone()), (output::Format::Csv, ukvi_file.with_extension("csv"))]
        {
            let ukvi = crate::returns::ukvi(&warehouse, march, false).await?;
            output::write_frame(ukvi.frame, ukvi.query, format, Some(&file)).await?;
        }
        let funder_file = out.join(format!("funder-SFE-{march}.xlsx"));
        {
            let funder = crate::returns::funder(&warehouse, "SFE", march, false).await?;
            output::write_frame(funder.frame, funder.query, output::Format::Xlsx, Some(&funder_file)).await?;
        }
        let senate_dir = out.join("senate");
        let label = calendar.label();
        let year: AcademicYear = label.parse().map_err(Error::Internal)?;
        crate::report::senate::render(&warehouse, year, &senate_dir).await?;

        // Ethnicity only as differentially private counts charged to the year's budget, and
        // as a k-anonymous pseudonymised extract.
        let equality_dir = out.join("equality");
        let release = crate::equality::release(&warehouse, year, 1.0, false, false, &equality_dir).await?;
        let budgets: Vec<String> = release
            .spent
            .iter()
            .map(|(cohort, spent)| {
                format!(
                    "  students who started in {cohort}: epsilon {:.2} spent of {}, {:.2} left",
                    spent.epsilon,
                    release.cap,
                    (release.cap - spent.epsilon).max(0.0)
                )
            })
            .collect();
        show(&format!(
            "equality release {} for {label} (epsilon {:.2} charged to every cohort it counts); budgets afterwards:\n{}",
            release.release_id,
            release.charged,
            budgets.join("\n")
        ));
        let extract_file = out.join("equality-extract.csv");
        let extract = crate::equality::extract::extract(&warehouse, year, &extract_file, "DEMO-DPO-1").await?;

        // Data protection: a subject-access export for one student, then the retention
        // purge at the end of the year (the graduates of seven and eight years ago are due).
        let subject = first_student(&warehouse).await?;
        let sar_dir = out.join(format!("sar-{subject}"));
        let sar = crate::compliance::sar::export(&warehouse, &subject, &sar_dir).await?;
        let purge = crate::compliance::retention::purge(&warehouse, year_end, false).await?;
        show(&format!(
            "retention purge as of {year_end}: {} former students erased ({}), {} rows in all",
            purge.students.len(),
            purge.rule,
            purge.rows.values().sum::<u64>()
        ));

        // Console accounts, one per role, all with one password made for this demo.
        let console = demo_accounts(&warehouse, &subject).await?;

        // The demo's jobs read and wrote personal data (synthetic, but treated alike).
        crate::compliance::audit::note("students", self.students);
        let details = crate::compliance::audit::take_noted();
        crate::compliance::audit::append(
            warehouse.root(),
            "demo",
            "ok",
            details,
            crate::compliance::audit::outputs_at(&out),
        )?;

        // Outputs get `[output] mode`; the extract stays owner-only.
        let mode = warehouse.config().output.mode;
        for path in [&ratings_file, &review_file, &ukvi_file, &ukvi_file.with_extension("csv"), &funder_file] {
            crate::warehouse::apply_output_mode(path, mode)?;
        }
        for dir in [&senate_dir, &equality_dir, &sar_dir] {
            crate::warehouse::apply_output_mode(dir, mode)?;
        }

        println!("\nresults:");
        println!("  warehouse        {}", root.display());
        println!("  ratings          {}", ratings_file.display());
        println!("  review list      {}  (recommendations for staff; no status is changed)", review_file.display());
        println!("  UKVI return      {} (and .csv)", ukvi_file.display());
        println!("  funder return    {}", funder_file.display());
        println!("  Senate report    {}", senate_dir.join("index.html").display());
        println!("  equality release {}  (differentially private)", equality_dir.join("index.html").display());
        println!(
            "  equality extract {}  ({} rows, {} generalised, {} suppressed)",
            extract_file.display(),
            extract.rows,
            extract.generalised,
            extract.suppressed
        );
        println!("  subject access   {}  ({} tables about one student)", sar.files[0].display(), sar.tables.len());
        println!("  input files      {}  (truth.csv: who was generated to disengage)", input.display());
        println!("  pseudonym key    {}", key.display());
        println!("  audit key        {}  (seals the audit trail)", audit_key.display());
        println!(
            "web console: rollcall --warehouse {} serve   then open http://127.0.0.1:8080/ and sign in as",
            root.display()
        );
        println!("  {}", console.accounts.join(", "));
        println!("  each with the password {}", console.password);
        println!("explore with, for example:");
        println!("  rollcall --warehouse {} ratings --date {december}", root.display());
        println!("  rollcall --warehouse {} review --as-of {december} --dry-run", root.display());
        println!("  rollcall --warehouse {} equality budget", root.display());
        println!("  rollcall --warehouse {} retention purge --as-of {year_end} --dry-run", root.display());
        println!("  rollcall --warehouse {} audit verify", root.display());
        println!(
            "  rollcall --warehouse {} sql \"SELECT reason, count(*) FROM rejected_swipes GROUP BY reason\"",
            root.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// The first current student (by id), for the demo's subject-access export.
/// The demo's console accounts and their password.
struct DemoAccounts {
    accounts: Vec<String>,
    password: String,
}

/// One local console account per role: the first student's personal tutor, a department
/// lead, the progress team, compliance, data protection, a planner, and the student.
async fn demo_accounts(warehouse: &crate::warehouse::Warehouse, student: &str) -> Result<DemoAccounts> {
    use crate::console::accounts::{Holder, add};
    use rand::Rng;
    let ctx = session::build(warehouse, Access::Internal { with_equality: false }).await?;
    let record = crate::queries::collect(
        &ctx,
        "console/student_record",
        &[("student_id", datafusion::scalar::ScalarValue::from(student))],
    )
    .await?;
    let tutor = crate::engine::cells::string_at(&record, "personal_tutor")?
        .ok_or_else(|| Error::Internal("the demo's first student has no personal tutor".into()))?;
    let password: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(16).map(char::from).collect();
    let mut accounts = Vec::new();
    for (username, holder, about) in [
        ("tutor", Holder::Staff(tutor.clone()), format!("personal tutor {tutor}")),
        ("lead", Holder::Staff("D0001".into()), "department lead".into()),
        ("progress", Holder::Staff("P0001".into()), "progress team".into()),
        ("compliance", Holder::Staff("C0001".into()), "compliance officer".into()),
        ("dpo", Holder::Staff("R0001".into()), "data-protection officer".into()),
        ("planner", Holder::Staff("N0001".into()), "planner".into()),
        ("student", Holder::Student(student.to_string()), format!("student {student}")),
    ] {
        add(warehouse, username, &password, holder, true)?;
        accounts.push(format!("{username} ({about})"));
    }
    Ok(DemoAccounts { accounts, password })
}

async fn first_student(warehouse: &crate::warehouse::Warehouse) -> Result<String> {
    let ctx = session::build(warehouse, Access::Internal { with_equality: false }).await?;
    let batches = crate::queries::collect(&ctx, "demo/first_student", &[]).await?;
    crate::engine::cells::string_at(&batches, "student_id")?
        .ok_or_else(|| Error::Internal("the demo has no active students".into()))
}

fn first_monday_of_march(year: i32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, 3, 1).expect("valid date");
    first + chrono::Duration::days(i64::from((7 - first.weekday().num_days_from_monday()) % 7))
}

/// Makes `dir` ready for a fresh demo, replacing an earlier demo but nothing else.
fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(Error::Usage(format!(
                "{} exists and does not hold an earlier demo; choose another --dir",
                dir.display()
            )));
        }
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    write_atomically(&dir.join(MARKER), b"rollcall demo directory: `rollcall demo` replaces it\n")
}
