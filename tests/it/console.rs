//! The web console through a real browser: headless Chromium driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`, which `.ci/run` installs), against
//! `rollcall serve` on a small demo warehouse. One journey per role, the escapes (another
//! tutor's student, another student's page, a planner asking for a student, a form without
//! its CSRF token, a sign-in header from an untrusted address), each refused and logged,
//! and axe-core (vendored in `tests/vendor/axe-core`) on every page. Screenshots of each
//! role's main page are written to `target/console-screenshots/` for review.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{rollcall_command, spawn_until_first_line};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");

/// One HTTP/1.1 exchange over a fresh connection; returns status, headers and body.
fn http(
    stream: &mut TcpStream,
    method: &str,
    host: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new(), String::new());
    }
    stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    // Headers, then exactly Content-Length bytes (a server may keep the connection open).
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            if reader.read_exact(&mut body).is_err() {
                body.clear();
            }
        }
        None => {
            let _ = reader.read_to_end(&mut body);
        }
    }
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A WebDriver session in headless Chromium.
struct Browser {
    driver: Child,
    at: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if method == "GET" || method == "DELETE" { String::new() } else { body.to_string() };
        // While a page loads the driver may drop a connection unanswered: ask again.
        for _ in 0..20 {
            let mut stream = TcpStream::connect(self.at).unwrap();
            let (_, _, text) = http(&mut stream, method, self.at, path, &[("Content-Type", "application/json")], &body);
            if let Ok(value) = serde_json::from_str(&text) {
                return value;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("WebDriver gave no answer to {method} {path}")
    }

    fn start() -> Browser {
        for binary in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: install Debian's chromium and chromium-driver (`.ci/run` does)"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let at: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let started = Instant::now();
        while TcpStream::connect(at).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser { driver, at, session: String::new(), _profile: profile };
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
            &format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
        }}});
        let created = browser.call("POST", "/session", caps);
        browser.session =
            created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
        browser
    }

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), json!({ "url": url }));
    }

    /// The element matching `css`, waiting (up to 10 s) while a page is still loading.
    fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let found = self.call("POST", &self.s("/element"), json!({"using": "css selector", "value": css}));
            let id = found["value"]
                .as_object()
                .filter(|o| !o.contains_key("error"))
                .and_then(|o| o.values().next())
                .and_then(Value::as_str);
            if let Some(id) = id {
                return id.to_string();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no element {css}: {found}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call("POST", &self.s(&format!("/element/{element}/value")), json!({ "text": text }));
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &self.s(&format!("/element/{element}/click")), json!({}));
    }

    fn text(&self) -> String {
        let body = self.find("body");
        self.call("GET", &self.s(&format!("/element/{body}/text")), json!({}))["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn url(&self) -> String {
        self.call("GET", &self.s("/url"), json!({}))["value"].as_str().unwrap_or("").to_string()
    }

    fn execute(&self, script: &str) -> Value {
        self.call("POST", &self.s("/execute/sync"), json!({"script": script, "args": []}))["value"].clone()
    }

    fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let png = self.call("GET", &self.s("/screenshot"), json!({}));
        let bytes = base64::engine::general_purpose::STANDARD.decode(png["value"].as_str().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// axe-core's serious and critical violations on the current page.
    fn accessibility_problems(&self) -> Vec<String> {
        self.execute(AXE);
        let script = "var done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: ['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa']})
               .then(function (r) { done(r.violations.filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; })
               .map(function (v) { return v.id + ': ' + v.help + ' (' + v.nodes.length + ')'; })); })
               .catch(function (e) { done(['axe failed: ' + e]); });";
        let result = self.call("POST", &self.s("/execute/async"), json!({"script": script, "args": []}));
        result["value"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_else(|| vec![format!("{result}")])
    }

    /// Waits (up to 30 s) until the page the browser shows satisfies `done`.
    fn wait_until(&self, what: &str, done: impl Fn(&str, &str) -> bool) {
        let started = Instant::now();
        loop {
            let (url, text) = (self.url(), self.text());
            if done(&url, &text) {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "waited for {what}; at {url}:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn sign_in(&self, base: &str, username: &str, password: &str) {
        self.goto(&format!("{base}/login"));
        self.type_into("#username", username);
        self.type_into("#password", password);
        self.click("button[type=submit]");
        self.wait_until("the sign-in to answer", |url, text| {
            !url.ends_with("/login")
                || text.contains("not right")
                || text.contains("locked")
                || text.contains("staff list")
        });
    }

    fn sign_out(&self) {
        self.click("form.signout button");
        self.wait_until("the sign-out to answer", |url, text| url.ends_with("/login") || text.contains("Not allowed"));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.call("DELETE", &format!("/session/{}", self.session), json!({}))
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `rollcall serve` on a port of its own.
struct Console {
    child: Child,
    at: SocketAddr,
    /// What it logged on standard error.
    log: PathBuf,
}

impl Console {
    fn start(warehouse: &Path) -> Console {
        let mut serve = rollcall_command();
        serve.arg("--warehouse").arg(warehouse).args(["serve", "--listen", "127.0.0.1:0"]);
        let log = warehouse.with_extension("serve.log");
        serve.stderr(std::fs::File::create(&log).unwrap());
        let (child, line) = spawn_until_first_line(serve);
        let at = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("serve said {line}"));
        Console { child, at: at.parse().unwrap(), log }
    }

    fn base(&self) -> String {
        format!("http://{}", self.at)
    }

    /// A raw request from a chosen local address (`127.0.0.2` stands for the trusted proxy).
    fn request_from(&self, from: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let stream = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
            socket.connect(self.at).await.unwrap().into_std().unwrap()
        });
        stream.set_nonblocking(false).unwrap();
        let mut stream = stream;
        http(&mut stream, "GET", self.at, path, headers, "")
    }
}

impl Console {
    /// A form posted for a signed-in session: the status and headers of the answer.
    fn post(&self, path: &str, session: &str, form: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.at).unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nCookie: rollcall_session={session}\r\nContent-Type: \
             application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            self.at,
            form.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, response)
    }

    /// A whole response body for a signed-in session (a file download).
    fn download(&self, path: &str, session: &str) -> Vec<u8> {
        let mut stream = TcpStream::connect(self.at).unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: rollcall_session={session}\r\nConnection: close\r\n\r\n",
            self.at
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let start = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response") + 4;
        response.split_off(start)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("console-screenshots");
    let dir = std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("console-screenshots")).unwrap_or(dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn audit_entries(warehouse: &Path) -> Vec<rollcall::compliance::audit::Entry> {
    rollcall::compliance::audit::entries(warehouse).unwrap()
}

/// Every role's journey, the escapes, and the accessibility check, on one demo warehouse.
#[test]
fn each_role_sees_its_own_pages_and_every_escape_is_refused_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let demo = rollcall_command().args(["demo", "--students", "60", "--dir"]).arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let password = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("each with the password "))
        .expect("the demo prints the accounts' password")
        .to_string();
    let warehouse = dir.path().join("warehouse");
    let config = warehouse.join("rollcall.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("# user_header = \"X-Remote-User\"", "user_header = \"X-Remote-User\"")
            .replace("# trusted_proxies = [\"127.0.0.1\"]", "trusted_proxies = [\"127.0.0.2\"]"),
    )
    .unwrap();
    let sql = |query: &str| -> Vec<String> {
        let out = rollcall_command()
            .arg("--warehouse")
            .arg(&warehouse)
            .args(["--format", "csv", "sql", query])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().skip(1).map(str::to_string).collect()
    };
    let tutee = "S1000000";
    let tutor = sql(&format!("SELECT personal_tutor FROM students WHERE student_id = '{tutee}'"))[0].clone();
    let not_tutee = sql(&format!("SELECT min(student_id) FROM students WHERE personal_tutor <> '{tutor}' AND department <> (SELECT department FROM students WHERE student_id = '{tutee}')"))[0].clone();
    let students = sql("SELECT count(*) FROM students")[0].clone();

    let console = Console::start(&warehouse);
    let base = console.base();
    let browser = Browser::start();
    let shots = screenshots();
    let mut pages_checked = 0;
    let mut check_page = |name: &str| {
        let problems = browser.accessibility_problems();
        assert!(problems.is_empty(), "{name}: accessibility: {problems:?}");
        pages_checked += 1;
    };

    // Sign-in page, and a wrong password.
    browser.goto(&format!("{base}/login"));
    check_page("login");
    browser.sign_in(&base, "tutor", "not the password at all");
    assert!(browser.text().contains("The username or password is not right"), "{}", browser.text());

    // Personal tutor: their tutees; a tutee's page; another tutor's student is refused.
    browser.sign_in(&base, "tutor", &password);
    assert!(browser.url().ends_with("/students"), "{}", browser.url());
    let list = browser.text();
    assert!(list.contains("Your tutees") && list.contains(tutee), "{list}");
    assert!(!list.contains(&not_tutee), "another tutor's student is listed");
    check_page("tutees");
    browser.screenshot(&shots.join("tutor-tutees.png"));
    browser.click(&format!("a[href='/students/{tutee}']"));
    let page = browser.text();
    assert!(
        page.contains("Rating over time") && page.contains("Attendance by module") && page.contains("Every rating"),
        "{page}"
    );
    assert!(!page.to_lowercase().contains("ethnicity"), "nobody sees ethnicity");
    // The page's figures are the tables' own: the latest rating, every rated day on the
    // chart, attendance by module up to the latest day rated, and the second page of ratings.
    let latest =
        sql(&format!("SELECT day, rating FROM ratings WHERE student_id = '{tutee}' ORDER BY day DESC LIMIT 1"));
    let (day, rating) = latest[0].split_once(',').unwrap();
    assert!(page.contains(&format!("On {day} the rating was {rating}.")), "{page}");
    let rated = sql(&format!("SELECT count(*) FROM ratings WHERE student_id = '{tutee}'"))[0].clone();
    let title = browser.execute("return document.querySelector('figure.chart svg title').textContent;");
    assert!(title.as_str().unwrap_or("").ends_with(&format!(", {rated} rated days")), "{title}");
    let modules = sql(&format!(
        "SELECT s.module_code, count(*), count(a.session_id), CAST(round(100.0 * count(a.session_id) / count(*)) AS BIGINT) \
         FROM class_lists c JOIN sessions s ON s.session_id = c.session_id \
         LEFT JOIN (SELECT DISTINCT session_id FROM swipe_outcomes WHERE student_id = '{tutee}' AND outcome = 'attended') a \
           ON a.session_id = c.session_id \
         WHERE c.student_id = '{tutee}' AND coalesce(s.delivery, 'in-person') <> 'online' \
           AND CAST(s.starts_at AS DATE) <= (SELECT max(day) FROM ratings) \
         GROUP BY s.module_code ORDER BY s.module_code"
    ));
    assert!(!modules.is_empty(), "the tutee has in-person sessions");
    let shown = browser.execute(
        "return [...document.querySelectorAll('#modules ~ table tbody tr')].map(r => [...r.cells].map(c => c.textContent.replace('%', '')).join(','));",
    );
    let shown: Vec<String> = shown.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(shown, modules, "attendance by module");
    let second =
        sql(&format!("SELECT day FROM ratings WHERE student_id = '{tutee}' ORDER BY day DESC LIMIT 1 OFFSET 50"));
    if let Some(day) = second.first() {
        browser.goto(&format!("{base}/students/{tutee}?page=2"));
        let first_row = browser.execute("return document.querySelector('#history ~ table tbody tr td').textContent;");
        assert_eq!(first_row.as_str(), Some(day.as_str()), "page 2 starts at the 51st newest day");
        browser.goto(&format!("{base}/students/{tutee}"));
    }
    check_page("student (tutor)");
    browser.screenshot(&shots.join("tutor-student.png"));
    browser.goto(&format!("{base}/students/{not_tutee}"));
    assert!(browser.text().contains("no student page here that you can open"), "{}", browser.text());
    browser.goto(&format!("{base}/students/NOBODY"));
    assert!(
        browser.text().contains("no student page here that you can open"),
        "the same answer whether or not the student exists"
    );

    // A form posted without its CSRF token (the token taken out of the page first).
    browser.goto(&format!("{base}/students"));
    browser.execute("document.querySelector('form.signout input[name=csrf]').remove();");
    browser.sign_out();
    assert!(browser.text().contains("not sent from this session's page"), "{}", browser.text());
    browser.goto(&format!("{base}/students"));
    browser.sign_out();
    assert!(browser.url().ends_with("/login"), "{}", browser.url());

    // Department lead and progress team.
    browser.sign_in(&base, "lead", &password);
    assert!(browser.text().contains("Your department's students"), "{}", browser.text());
    check_page("department");
    browser.sign_out();
    browser.sign_in(&base, "progress", &password);
    browser.goto(&format!("{base}/students"));
    let all = browser.text();
    assert!(all.contains("All students") && all.contains(&format!("{students} student(s)")), "{all}");
    browser.screenshot(&shots.join("progress-students.png"));
    browser.sign_out();

    // Planner: aggregates only; a student page is refused.
    browser.sign_in(&base, "planner", &password);
    assert!(browser.url().ends_with("/aggregates"), "{}", browser.url());
    assert!(browser.text().contains("No figure here is about one student"), "{}", browser.text());
    check_page("aggregates");
    browser.screenshot(&shots.join("planner-figures.png"));
    browser.goto(&format!("{base}/students/{tutee}"));
    assert!(browser.text().contains("aggregate figures only"), "{}", browser.text());
    browser.goto(&format!("{base}/students"));
    browser.sign_out();

    // Student: their own page; another student's is refused.
    browser.sign_in(&base, "student", &password);
    assert!(browser.url().ends_with("/me"), "{}", browser.url());
    let own = browser.text();
    assert!(own.contains("My engagement") && own.contains(tutee) && own.contains("What counts, and why"), "{own}");
    check_page("own page");
    browser.screenshot(&shots.join("student-own.png"));
    browser.goto(&format!("{base}/students/{not_tutee}"));
    assert!(browser.text().contains("no student page here that you can open"), "{}", browser.text());
    browser.goto(&format!("{base}/aggregates"));
    assert!(browser.text().contains("This page is for staff"), "{}", browser.text());
    browser.goto(&format!("{base}/me"));
    browser.sign_out();

    // Compliance officer: the UKVI dashboard, overdue first; marks an event reported (the
    // same record as `return ukvi --record`: a report row and a disclosure); the return as
    // a workbook holds the lines still outstanding.
    browser.sign_in(&base, "compliance", &password);
    assert!(browser.url().ends_with("/ukvi"), "{}", browser.url());
    let dashboard = browser.text();
    assert!(dashboard.contains("UKVI dashboard") && dashboard.contains("Compliant"), "{dashboard}");
    check_page("ukvi dashboard");
    browser.screenshot(&shots.join("compliance-ukvi.png"));
    let as_of = browser.execute("return document.querySelector('#as_of').value;").as_str().unwrap().to_string();
    let cli_return = |label: &str| -> Vec<String> {
        let out = rollcall_command()
            .arg("--warehouse")
            .arg(&warehouse)
            .args(["--format", "csv", "return", "ukvi", "--as-of", &as_of])
            .output()
            .unwrap();
        assert!(out.status.success(), "{label}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().skip(1).map(str::to_string).collect()
    };
    let before = cli_return("before");
    assert!(!before.is_empty(), "the demo has reportable events");
    let statuses: Vec<String> = browser
        .execute(
            "return Array.from(document.querySelectorAll('td .status')).map(function (e) { return e.textContent; });",
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let urgent = statuses.iter().take_while(|s| *s == "Overdue" || *s == "Threshold crossed").count();
    assert_eq!(urgent, before.len(), "every outstanding event first, one line each: {statuses:?}");
    let marked = browser
        .execute("var f = document.querySelector('form[action=\"/ukvi/reported\"]'); return [f.student_id.value, f.event.value, f.trigger_date.value];");
    browser.click("form[action='/ukvi/reported'] button");
    browser.wait_until("the event to be marked", |_, text| text.contains("Marked as reported"));
    let after = cli_return("after");
    assert_eq!(after.len(), before.len() - 1, "the marked event is no longer outstanding");
    let (student, event) = (marked[0].as_str().unwrap(), marked[1].as_str().unwrap());
    let reports = sql(&format!(
        "SELECT event, CAST(trigger_date AS VARCHAR), recorded_by FROM ukvi_reports WHERE student_id = '{student}'"
    ));
    assert_eq!(reports, vec![format!("{event},{},C0001", marked[2].as_str().unwrap())], "{reports:?}");
    let disclosed = sql(&format!(
        "SELECT recipient, source FROM disclosures WHERE student_id = '{student}' AND source = 'console ukvi reported'"
    ));
    assert_eq!(disclosed, vec!["Home Office (UKVI),console ukvi reported".to_string()]);
    let cookie = browser.call("GET", &browser.s("/cookie/rollcall_session"), json!({}))["value"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, head, _) = console.request_from(
        "127.0.0.1",
        &format!("/ukvi/return.xlsx?as_of={as_of}"),
        &[("Cookie", &format!("rollcall_session={cookie}"))],
    );
    assert_eq!(status, 200, "{head}");
    let workbook = console.download(&format!("/ukvi/return.xlsx?as_of={as_of}"), &cookie);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(workbook)).unwrap();
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut sheet).unwrap();
    assert_eq!(sheet.matches("<row").count(), after.len() + 1, "a header and each outstanding line");
    // The funding body's return, as `rollcall return funder` gives it.
    let out = rollcall_command()
        .arg("--warehouse")
        .arg(&warehouse)
        .args(["--format", "csv", "return", "funder", "--body", "SFE", "--as-of", &as_of])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let funder_lines = String::from_utf8_lossy(&out.stdout).lines().count() - 1;
    assert!(funder_lines > 0, "the demo has SFE-funded students");
    let workbook = console.download(&format!("/ukvi/funder.xlsx?body=SFE&as_of={as_of}"), &cookie);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(workbook)).unwrap();
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut sheet).unwrap();
    assert_eq!(sheet.matches("<row").count(), funder_lines + 1, "a header and each line of the funder return");
    browser.sign_out();

    // Progress team: open cases by stage; an outcome recorded on a student's page.
    browser.sign_in(&base, "progress", &password);
    assert!(browser.url().ends_with("/cases"), "{}", browser.url());
    assert!(browser.text().contains("Open cases"), "{}", browser.text());
    check_page("cases");
    browser.screenshot(&shots.join("progress-cases.png"));
    let open = "SELECT count(*) FROM cases WHERE case_id NOT IN (SELECT case_id FROM case_events \
                WHERE outcome IN ('withdrawn', 'intermitted', 'no-further-action'))";
    let open_cases = sql(open)[0].clone();
    assert!(browser.text().contains(&format!("{open_cases} case(s)")), "{}", browser.text());
    let stage = sql("SELECT stage FROM cases GROUP BY stage ORDER BY count(*), stage LIMIT 1")[0].clone();
    let in_stage = sql(&format!("{open} AND stage = {stage}"))[0].clone();
    browser.execute(&format!("document.querySelector('#stage').value = '{stage}';"));
    browser.click("form.filters button");
    browser.wait_until("the filter", |url, _| url.contains("stage="));
    assert!(browser.text().contains(&format!("{in_stage} case(s)")), "{}", browser.text());
    let empty_stage = sql("SELECT max(stage) + 1 FROM cases")[0].clone();
    browser.goto(&format!("{base}/cases?stage={empty_stage}"));
    assert!(browser.text().contains("0 case(s)"), "a stage without cases lists none: {}", browser.text());
    browser.goto(&format!("{base}/cases?stage={stage}"));
    browser.click("td a");
    browser.wait_until("the student's page", |url, _| url.contains("/students/"));
    check_page("student (progress, with forms)");
    browser.execute("document.getElementById('record').scrollIntoView();");
    browser.screenshot(&shots.join("progress-record.png"));
    let case = browser.execute("return document.querySelector('#case_id').value;").as_str().unwrap().to_string();
    browser.execute("document.querySelector('#outcome').value = 'no-further-action';");
    browser.type_into("#note", "Spoke on the phone; back on track.");
    browser.click("section.record button[type=submit]");
    browser.wait_until("the outcome to be saved", |_, text| text.contains("Saved."));
    assert_eq!(
        sql(&format!(
            "SELECT outcome, note, recorded_by FROM case_events WHERE case_id = '{case}' AND recorded_by = 'P0001'"
        )),
        vec!["no-further-action,Spoke on the phone; back on track.,P0001".to_string()]
    );
    browser.goto(&format!("{base}/cases"));
    let open_now: usize = open_cases.parse::<usize>().unwrap() - 1;
    assert!(browser.text().contains(&format!("{open_now} case(s)")), "the closed case has left the open list");

    // The progress team schedules a faculty meeting at three days' notice (flagged: the
    // step needs seven), records a decision and an appeal, then the meeting's attendance.
    let list = rollcall_command()
        .arg("--warehouse")
        .arg(&warehouse)
        .args(["--format", "csv", "case", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).to_string();
    let mut reader = csv::Reader::from_reader(list.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let at_faculty = reader
        .records()
        .map(|r| r.unwrap())
        .find(|r| &r[col("step")] == "faculty" && &r[col("status")] == "open")
        .expect("the demo has an open case at the faculty step");
    let (faculty_case, faculty_student) =
        (at_faculty[col("case_id")].to_string(), at_faculty[col("student_id")].to_string());
    let today = chrono::Utc::now().date_naive();
    let meeting_day = today + chrono::Duration::days(3);
    browser.goto(&format!("{base}/students/{faculty_student}"));
    let set = |css: &str, value: &str| {
        browser.execute(&format!("document.querySelector('{css}').value = '{value}';"));
    };
    set("#meeting-case", &faculty_case);
    set("#meeting-on", &meeting_day.to_string());
    set("#meeting-at", "14:00");
    set("#meeting-attendees", "student, deputy dean (education), progress team");
    set("#meeting-notified", &today.to_string());
    browser.click("section[aria-labelledby=schedule] button[type=submit]");
    browser.wait_until("the meeting to be saved", |_, text| text.contains("Saved."));
    let meeting = sql(&format!(
        "SELECT meeting_id, notice_days, notice_required, recorded_by FROM case_meetings WHERE case_id = '{faculty_case}'"
    ));
    assert_eq!(meeting, [format!("{faculty_case}-M1,3,7,P0001")]);
    assert!(browser.text().contains("SHORT NOTICE: 4 day(s) less than required"), "{}", browser.text());
    check_page("student (progress, case procedure)");
    browser.execute("document.getElementById('cases').scrollIntoView();");
    browser.screenshot(&shots.join("progress-case-procedure.png"));
    set("#decision-case", &faculty_case);
    set("#decision-value", "intermit");
    browser.click("section[aria-labelledby=decide] form:first-of-type button[type=submit]");
    browser.wait_until("the decision to be saved", |_, text| text.contains("Saved."));
    let appeal_by = sql(&format!("SELECT CAST(add_working_days(DATE '{today}', 10) AS VARCHAR)"))[0].clone();
    assert_eq!(
        sql(&format!(
            "SELECT value, CAST(due AS VARCHAR), recorded_by FROM case_decisions WHERE case_id = '{faculty_case}' AND step = 'decision'"
        )),
        [format!("intermit,{appeal_by},P0001")]
    );
    set("#appeal-case", &faculty_case);
    browser.click("section[aria-labelledby=decide] form:last-of-type button[type=submit]");
    browser.wait_until("the appeal to be saved", |_, text| text.contains("Saved."));
    set("#attendance-meeting", &format!("{faculty_case}-M1"));
    set("#attendance-value", "attended");
    browser.click("section[aria-labelledby=attendance] button[type=submit]");
    browser.wait_until("the attendance to be saved", |_, text| text.contains("Saved."));
    assert_eq!(
        sql(&format!(
            "SELECT step, value FROM case_decisions WHERE case_id = '{faculty_case}' AND step IN ('decision', 'appeal') ORDER BY recorded_at"
        )),
        ["decision,intermit", "appeal,lodged"]
    );
    assert_eq!(
        sql(&format!("SELECT event FROM case_meetings WHERE case_id = '{faculty_case}' ORDER BY recorded_at")),
        ["scheduled", "attended"]
    );
    // A case of a student outside the page is refused, and nothing is written.
    let csrf =
        browser.execute("return document.querySelector('section[aria-labelledby=decide] input[name=csrf]').value;");
    let cookie = browser.call("GET", &browser.s("/cookie/rollcall_session"), json!({}))["value"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let decisions_before = sql("SELECT count(*) FROM case_decisions")[0].clone();
    let (status, _) = console.post(
        &format!("/students/{faculty_student}/case"),
        &cookie,
        &format!("csrf={}&kind=decision&case_id=C999999&value=withdraw&notified={today}", csrf.as_str().unwrap()),
    );
    assert_eq!(status, 400, "another student's case");
    assert_eq!(sql("SELECT count(*) FROM case_decisions")[0], decisions_before);
    browser.sign_out();

    // A tutor is not a compliance officer: the dashboard and its form are refused.
    browser.sign_in(&base, "tutor", &password);
    browser.goto(&format!("{base}/ukvi"));
    assert!(browser.text().contains("for the compliance officer"), "{}", browser.text());
    browser.sign_out();

    // While a batch job holds the warehouse lock, a student reports an absence: the page
    // answers at once and keeps it; it reaches the table once the lock is free, and the
    // tutor authorises it.
    let lock = std::fs::OpenOptions::new().write(true).open(warehouse.join(".rollcall.lock")).unwrap();
    lock.lock().unwrap();
    browser.sign_in(&base, "student", &password);
    // The form as the browser would send it, timed from the request to the whole answer.
    let csrf = browser.execute("return document.querySelector('form[action=\"/me/absence\"] input[name=csrf]').value;");
    let student_cookie = browser.call("GET", &browser.s("/cookie/rollcall_session"), json!({}))["value"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let form = format!("csrf={}&starts_on=2026-02-01&ends_on=2026-02-03", csrf.as_str().unwrap());
    let asked = Instant::now();
    let (status, head) = console.post("/me/absence", &student_cookie, &form);
    let answered = asked.elapsed();
    assert_eq!(status, 303, "{head}");
    assert!(answered < Duration::from_secs(1), "answered in {answered:?} while the lock was held");
    browser.goto(&format!("{base}/me"));
    browser.wait_until("the absence to be kept", |_, text| text.contains("kept safe until a running batch job"));
    assert!(
        browser.text().contains("2026-02-01") && browser.text().contains("waiting for staff"),
        "{}",
        browser.text()
    );
    let reported = "SELECT CAST(starts_on AS VARCHAR), CAST(ends_on AS VARCHAR), kind FROM absences WHERE reference LIKE 'ABS-%' ORDER BY kind";
    assert!(sql(reported).is_empty(), "nothing written while the lock is held");
    lock.unlock().unwrap();
    let started = Instant::now();
    while sql(reported).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "the queued absence never reached its table");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(sql(reported), vec![format!("2026-02-01,2026-02-03,reported")]);
    browser.sign_out();
    browser.sign_in(&base, "tutor", &password);
    browser.goto(&format!("{base}/students/{tutee}"));
    browser.click("button[value=authorised]");
    browser.wait_until("the decision to be saved", |_, text| text.contains("Saved."));
    assert_eq!(
        sql(reported),
        vec!["2026-02-01,2026-02-03,authorised".to_string(), "2026-02-01,2026-02-03,reported".to_string()]
    );
    browser.sign_out();

    // Data-protection officer: a request received on 31 January is due on the last day of
    // February, a Saturday, so on Monday 2 March; the export is run and downloaded from the
    // page; answered, its copy is deleted; the audit trail verifies.
    browser.sign_in(&base, "dpo", &password);
    assert!(browser.url().ends_with("/dpo"), "{}", browser.url());
    check_page("data protection");
    browser.type_into("#student_id", tutee);
    browser.execute("document.querySelector('#received_on').value = '2026-01-31';");
    browser.click("form[action='/dpo/requests'] button");
    browser.wait_until("the request to be registered", |_, text| text.contains("Recorded: received"));
    let register = browser.text();
    assert!(register.contains("2026-01-31 2026-03-02 overdue"), "{register}");
    check_page("data protection, with a request");
    browser.screenshot(&shots.join("dpo-register.png"));
    browser.click("button[value=exported]");
    browser.wait_until("the export", |_, text| text.contains("Recorded: exported"));
    let dpo_cookie = browser.call("GET", &browser.s("/cookie/rollcall_session"), json!({}))["value"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let href = browser
        .execute("return document.querySelector('a[href$=\"/export.zip\"]').getAttribute('href');")
        .as_str()
        .unwrap()
        .to_string();
    let names = |bytes: Vec<u8>| -> Vec<String> {
        let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
        zip.file_names().map(|n| n.expect("a file name").into_owned()).collect()
    };
    let exported = names(console.download(&href, &dpo_cookie));
    assert!(
        exported.iter().any(|n| n == "index.html") && exported.iter().any(|n| n == "data/students.csv"),
        "{exported:?}"
    );
    let kept = std::fs::read_dir(warehouse.join("console/sar")).unwrap().count();
    assert_eq!(kept, 1, "the export is kept until the request is answered");
    browser.click("button[value=answered]");
    browser.wait_until("the answer", |_, text| text.contains("Recorded: answered"));
    assert_eq!(std::fs::read_dir(warehouse.join("console/sar")).unwrap().count(), 0, "answered: the copy is deleted");
    let answered = browser.text();
    assert!(answered.contains("2026-01-31 2026-03-02 answered"), "{answered}");
    assert!(sql("SELECT * FROM sar_log").is_empty(), "the register is not open to analysts");
    browser.click("form[action='/dpo/verify'] button");
    browser.wait_until("the verification", |_, text| text.contains("Intact:"));
    browser.sign_out();
    // A tutor is not the data-protection officer.
    browser.sign_in(&base, "tutor", &password);
    browser.goto(&format!("{base}/dpo"));
    assert!(browser.text().contains("for the data-protection officer"), "{}", browser.text());
    browser.sign_out();
    // A student downloads their own data, including who viewed their record.
    browser.sign_in(&base, "student", &password);
    let own_cookie = browser.call("GET", &browser.s("/cookie/rollcall_session"), json!({}))["value"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let own = names(console.download("/me/data.zip", &own_cookie));
    assert!(own.iter().any(|n| n == "data/console_views.csv") && own.iter().any(|n| n == "index.html"), "{own:?}");
    assert_eq!(std::fs::read_dir(warehouse.join("console/sar")).unwrap().count(), 0, "no copy kept on the server");
    browser.sign_out();

    // Single sign-on: the header is honoured from the trusted proxy only.
    let email = format!("{}@staff.example.ac.uk", tutor.to_lowercase());
    let (status, head, _) = console.request_from("127.0.0.2", "/", &[("X-Remote-User", &email)]);
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /students") || head.contains("Location: /students"), "{head}");
    assert!(head.to_lowercase().contains("content-security-policy: default-src 'none'"), "{head}");
    let (status, _, body) = console.request_from("127.0.0.1", "/", &[("X-Remote-User", &email)]);
    assert_eq!(status, 401, "{body}");

    // Each refusal and each view is in the audit trail, and each view in the view log.
    let entries = audit_entries(&warehouse);
    let refused: Vec<String> = entries
        .iter()
        .filter(|e| e.command == "console refused")
        .map(|e| e.details["reason"].as_str().unwrap_or("").to_string())
        .collect();
    for reason in [
        "outside the user's scope",
        "form without its CSRF token",
        "role sees no student",
        "another student's page",
        "sign-in header from an untrusted address",
        "not a compliance officer",
        "not the data-protection officer",
    ] {
        assert!(refused.iter().any(|r| r == reason), "no refusal logged for {reason}: {refused:?}");
    }
    let views = std::fs::read_to_string(warehouse.join("console/views.jsonl")).unwrap();
    assert!(
        views.lines().any(|l| l.contains(&format!("\"student_id\":\"{tutee}\"")) && l.contains("\"role\":\"tutor\"")),
        "{views}"
    );
    assert!(entries.iter().any(|e| e.command == "console view"), "views are audited");
    for command in [
        "console ukvi reported",
        "console download",
        "console case outcome",
        "console absence reported",
        "console absence decided",
        "console subject-access request",
        "console audit verify",
    ] {
        assert!(entries.iter().any(|e| e.command == command), "no audit entry {command}");
    }
    // The student's subject-access export says who viewed their record.
    let sar = dir.path().join("sar-viewed");
    let run =
        rollcall_command().arg("--warehouse").arg(&warehouse).args(["sar", tutee, "--out"]).arg(&sar).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let viewed = std::fs::read_to_string(sar.join("data/console_views.csv")).unwrap();
    assert!(
        viewed.starts_with("viewed_at,viewer,role,page,view") && viewed.contains(",tutor,tutor,student,V-"),
        "{viewed}"
    );
    assert!(
        !entries.iter().any(|e| serde_json::to_string(e).unwrap().contains(tutee)),
        "no student id in the audit trail"
    );
    // The console's log: its background work with timings, nothing of the libraries' reads,
    // no personal data.
    let log = std::fs::read_to_string(&console.log).unwrap();
    assert!(log.contains("console: index of students ready ("), "{log}");
    assert!(log.contains("console: UKVI dashboard's figures ready ("), "{log}");
    assert!(!log.contains("snapshot") && !log.contains(tutee) && !log.contains('@'), "{log}");
    rollcall_command()
        .arg("--warehouse")
        .arg(&warehouse)
        .args(["audit", "verify"])
        .status()
        .unwrap()
        .success()
        .then_some(())
        .expect("audit verify");
    crate::common::report(&format!(
        "console: 7 roles' journeys (tutor, department lead, progress, compliance, data protection, planner, student), 8 escapes refused and logged, {pages_checked} pages checked by axe-core: 0 serious or critical"
    ));
}
