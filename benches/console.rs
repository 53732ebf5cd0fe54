//! Web console latency at university scale: a tutor's list of tutees, a tutee's page, a
//! student's own page and the compliance officer's UKVI dashboard, each under 20 users at
//! once, on the scale benchmark's year warehouse (30,000 students, a year rated).
//!
//! Run with `cargo bench --bench console`. The warehouse is the scale benchmark's
//! (`BENCH_DATA_DIR`, default `target/bench-data/scale-30000`); when it has no ratings yet
//! it is generated, ingested and rated here first (the same steps and seeds as
//! `cargo bench --bench scale`). `USERS` (default 20) users each sign in with their own
//! session and ask for the page `REQUESTS` (default 10) times, one after another, all
//! users at once; each answer is read whole. Prints, per page, the requests made and the
//! median, 95th percentile and slowest answer, and the rate served; the goal is a 95th
//! percentile under 200 ms.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use chrono::NaiveDate;
use rollcall::console::accounts::{self, Holder};
use rollcall::demo::{self, DemoSpec};
use rollcall::ingest::{self, IngestOptions, kinds};
use rollcall::warehouse::Warehouse;

/// The day the year is rated to (as the scale benchmark).
const RATED_TO: &str = "2026-06-11";
const PASSWORD: &str = "bench-console-password";
const KEY_ENV: &str = "ROLLCALL_PSEUDONYM_KEY_FILE";

/// One HTTP/1.1 exchange on a fresh connection: status, headers, body.
fn http(at: SocketAddr, method: &str, path: &str, cookie: Option<&str>, body: &str) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(at).expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n");
    if let Some(cookie) = cookie {
        request.push_str(&format!("Cookie: rollcall_session={cookie}\r\n"));
    }
    if method == "POST" {
        request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).expect("send");
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = Vec::new();
    reader.read_to_end(&mut body).expect("read");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head, body)
}

/// Signs in and returns the session cookie's value.
fn sign_in(at: SocketAddr, username: &str) -> String {
    let (_, head, body) = http(at, "GET", "/login", None, "");
    let cookie = session_cookie(&head).expect("a session cookie");
    let page = String::from_utf8_lossy(&body);
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).expect("a CSRF token");
    let form = format!("username={username}&password={PASSWORD}&csrf={csrf}");
    let (status, head, _) = http(at, "POST", "/login", Some(&cookie), &form);
    assert_eq!(status, 303, "{username} could not sign in: {head}");
    session_cookie(&head).expect("a new session on sign-in")
}

fn session_cookie(head: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| v.trim().strip_prefix("rollcall_session=")?.split(';').next().map(str::to_string))
}

/// The year warehouse, made if it has no ratings yet.
fn year_warehouse(dir: &Path, students: u32) -> Warehouse {
    let root = dir.join("warehouse");
    let input = dir.join("input");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let rated = root.join("tables/ratings/_delta_log").is_dir()
        && Warehouse::open(&root, None)
            .is_ok_and(|w| runtime.block_on(w.version(&rollcall::warehouse::tables::RATINGS)).unwrap_or(0) > 0);
    if !rated {
        if !input.join("truth.csv").exists() {
            println!("generating {students} students into {} ...", input.display());
            let spec = DemoSpec { students, vle_per_day: 14.0, modules: 5, ..DemoSpec::default() };
            demo::generate(&spec, &input).expect("generate");
        }
        println!("ingesting and rating the year (once; kept in {}) ...", root.display());
        runtime.block_on(async {
            let _ = std::fs::remove_dir_all(&root);
            let (warehouse, _) = ingest::init_warehouse(&root, "staged-review").await.expect("init");
            let parts = std::fs::read_dir(&input)
                .expect("input")
                .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with("activity-")))
                .count() as u32;
            let files = demo::DemoFiles { dir: input.clone(), activity_files: parts, counts: Default::default() };
            for kind in kinds::ALL.iter().filter(|k| k.name != "bank-holidays") {
                let report = ingest::ingest(&warehouse, kind, &files.files(kind.name), &IngestOptions::default())
                    .await
                    .expect("ingest");
                assert_eq!(report.refused(), 0);
            }
            let day = NaiveDate::parse_from_str(RATED_TO, "%Y-%m-%d").expect("a day");
            rollcall::rating::rate(&warehouse, day, rollcall::rating::Recompute::Everything).await.expect("rate");
        });
    }
    let warehouse = Warehouse::open(&root, None).expect("open");
    // A warehouse kept from an earlier build gets the tables added since, as `rollcall init` would.
    runtime.block_on(warehouse.create_missing_tables()).expect("tables");
    warehouse
}

/// One value of a query over the warehouse, by the command line's own `sql` path.
fn one(warehouse: &Warehouse, query: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let ctx = rollcall::engine::session::build(warehouse, rollcall::engine::session::Access::Analyst)
            .await
            .expect("session");
        let batches = ctx.sql(query).await.expect("plan").collect().await.expect("run");
        arrow::util::display::array_value_to_string(batches[0].column(0), 0).expect("a value")
    })
}

/// `users` users at once, each signed in as `account`, asking `requests` times for one of
/// `paths` after another (user `u`'s request `r` asks for path `u * requests + r`, round).
fn measure(
    at: SocketAddr,
    account: &str,
    paths: &[String],
    users: usize,
    requests: usize,
) -> (Vec<Duration>, Duration) {
    let cookies: Vec<String> = (0..users).map(|_| sign_in(at, account)).collect();
    let started = Instant::now();
    let threads: Vec<_> = cookies
        .into_iter()
        .enumerate()
        .map(|(u, cookie)| {
            let paths = paths.to_vec();
            std::thread::spawn(move || {
                (0..requests)
                    .map(|r| {
                        let path = &paths[(u * requests + r) % paths.len()];
                        let asked = Instant::now();
                        let (status, head, body) = http(at, "GET", path, Some(&cookie), "");
                        let took = asked.elapsed();
                        assert_eq!(status, 200, "{path}: {head}");
                        assert!(!body.is_empty());
                        took
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut times: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().expect("a user")).collect();
    let wall = started.elapsed();
    times.sort();
    (times, wall)
}

/// This process's resident memory now (VmRSS) in MiB.
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    common::set_arenas_as(&["serve"]);
    if !std::env::args().any(|a| a == "--bench") {
        println!("console benchmark: run with `cargo bench --bench console`");
        return;
    }
    let students: u32 = std::env::var("STUDENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(30_000);
    let users: usize = std::env::var("USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let requests: usize = std::env::var("REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let dir = std::env::var("BENCH_DATA_DIR").map(PathBuf::from).unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join(format!("scale-{students}"))
    });
    std::fs::create_dir_all(&dir).expect("bench dir");
    // Ingest splits ethnicity off under the pseudonym key: run again with the key named.
    if std::env::var_os(KEY_ENV).is_none() {
        let key = demo::write_key(&dir.join("keys"), "pseudonym.key").expect("key");
        let exe = std::env::current_exe().expect("own path");
        let status = std::process::Command::new(exe).args(std::env::args().skip(1)).env(KEY_ENV, key).status();
        std::process::exit(status.expect("the benchmark").code().unwrap_or(1));
    }
    let warehouse = year_warehouse(&dir, students);

    // Who signs in: the tutor with the most tutees, one of them, a student, the compliance officer.
    let tutor = one(
        &warehouse,
        "SELECT personal_tutor FROM students WHERE personal_tutor IS NOT NULL GROUP BY personal_tutor ORDER BY count(*) DESC, personal_tutor LIMIT 1",
    );
    let tutees = one(&warehouse, &format!("SELECT count(*) FROM students WHERE personal_tutor = '{tutor}'"));
    let tutee = one(&warehouse, &format!("SELECT min(student_id) FROM students WHERE personal_tutor = '{tutor}'"));
    // Every tutee, in turn: a tutor opens one tutee's page after another.
    let all_tutees = one(
        &warehouse,
        &format!(
            "SELECT string_agg(student_id, ',' ORDER BY student_id) FROM students WHERE personal_tutor = '{tutor}'"
        ),
    );
    let tutee_pages: Vec<String> = all_tutees.split(',').map(|id| format!("/students/{id}")).collect();
    let compliance = one(&warehouse, "SELECT min(staff_id) FROM staff WHERE roles LIKE '%compliance%'");
    let sponsored = one(&warehouse, "SELECT count(*) FROM students WHERE visa_route = 'student'");
    for (name, holder) in [
        ("bench-tutor", Holder::Staff(tutor.clone())),
        ("bench-student", Holder::Student(tutee.clone())),
        ("bench-compliance", Holder::Staff(compliance.clone())),
    ] {
        accounts::add(&warehouse, name, PASSWORD, holder, true).expect("account");
    }

    // The console, in this process, on a port of its own.
    let (ready, bound) = std::sync::mpsc::channel();
    let served = warehouse.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        runtime
            .block_on(rollcall::console::serve(served, "127.0.0.1:0".parse().expect("an address"), move |at| {
                let _ = ready.send(at);
            }))
            .expect("serve");
    });
    let at: SocketAddr = bound.recv().expect("the console started");
    println!(
        "console benchmark: {students} students ({sponsored} sponsored), tutor {tutor} with {tutees} tutees; \
         {users} users at once, {requests} requests each, per page; data in {}",
        dir.display()
    );
    let pages = [
        ("tutor: list of tutees", "bench-tutor", vec!["/students".to_string()]),
        ("tutor: a tutee's page (each in turn)", "bench-tutor", tutee_pages),
        ("student: own page", "bench-student", vec!["/me".to_string()]),
        ("compliance: UKVI dashboard", "bench-compliance", vec!["/ukvi".to_string()]),
    ];
    // The console works out the index of students and the UKVI dashboard's figures when it
    // starts (and after each change to their tables): a first dashboard page waits for both.
    let started = Instant::now();
    assert_eq!(http(at, "GET", "/ukvi", Some(&sign_in(at, "bench-compliance")), "").0, 200);
    println!(
        "console prepared (index of students and UKVI figures, worked out at start): {} ms after it started; \
         resident {:.0} MiB (peak {:.0} MiB; the data set was already built)",
        ms(started.elapsed()),
        resident_mib(),
        common::peak_rss_mib()
    );
    println!("| page | requests | median ms | p95 ms | slowest ms | requests/s |");
    println!("|---|---|---|---|---|---|");
    // PAGES=text measures only the pages whose label contains it (to profile one page).
    let only = std::env::var("PAGES").unwrap_or_default();
    for (label, account, paths) in pages.into_iter().filter(|(label, _, _)| label.contains(only.as_str())) {
        // One request first, alone (a page's first read of the session's files).
        let cookie = sign_in(at, account);
        let first = Instant::now();
        assert_eq!(http(at, "GET", &paths[0], Some(&cookie), "").0, 200);
        let first = first.elapsed();
        let (times, wall) = measure(at, account, &paths, users, requests);
        println!(
            "| {label} | {} | {} | {} | {} | {:.1} |  (first, alone: {} ms)",
            times.len(),
            ms(quantile(&times, 0.5)),
            ms(quantile(&times, 0.95)),
            ms(*times.last().expect("answers")),
            times.len() as f64 / wall.as_secs_f64(),
            ms(first)
        );
    }
}
