//! `rollcall mail send`: the ladder's e-mails, sent with STARTTLS to a real SMTP server
//! (Python's aiosmtpd, `tests/smtp/server.py`) that the test starts on 127.0.0.1, and
//! checked by what arrived there.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::common::{Env, rollcall_command, spawn_until_first_line};
use crate::fixtures::{TERMS, days, swipes, timetable, weekday};

/// A Python with aiosmtpd: the one `.ci/run` prepares, else one made here (from PyPI).
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("smtp-venv");
    let python = venv.join("bin/python");
    let ready = |p: &Path| Command::new(p).args(["-c", "import aiosmtpd"]).output().is_ok_and(|o| o.status.success());
    if !ready(&python) {
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().unwrap();
        assert!(made.success(), "python3 -m venv");
        let pip = Command::new(venv.join("bin/pip")).args(["install", "--quiet", "aiosmtpd==1.4.6"]).status().unwrap();
        assert!(pip.success(), "pip install aiosmtpd");
    }
    python
}

/// A certificate authority and a server certificate for 127.0.0.1 signed by it.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Test mail CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

/// The SMTP server, running until dropped.
struct Smtp {
    child: Child,
    port: u16,
    inbox: PathBuf,
    ca: PathBuf,
}

/// One message as the server received it.
struct Received {
    to: Vec<String>,
    tls: bool,
    text: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_lowercase());
        self.text.lines().find(|l| l.to_lowercase().starts_with(&prefix)).map(|l| l[prefix.len()..].trim().to_string())
    }
}

impl Smtp {
    fn start(dir: &Path) -> Smtp {
        let inbox = dir.join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let (ca, cert, key) = certificates(dir);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
        let mut server = Command::new(python());
        server.arg(script).arg(port.to_string()).arg(&inbox).arg(&cert).arg(&key);
        let (child, line) = spawn_until_first_line(server);
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Smtp { child, port, inbox, ca }
    }

    fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.inbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|eml| {
                let meta: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(eml.with_extension("json")).unwrap()).unwrap();
                Received {
                    to: meta["to"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect(),
                    tls: meta["tls"].as_bool().unwrap(),
                    text: std::fs::read_to_string(&eml).unwrap(),
                }
            })
            .collect()
    }

    /// Forgets what arrived so far.
    fn clear(&self) {
        for entry in std::fs::read_dir(&self.inbox).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }

    /// How many times each Message-ID arrived.
    fn counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for message in self.received() {
            *counts.entry(message.header("Message-ID").unwrap_or_default()).or_insert(0) += 1;
        }
        counts
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The consecutive-weeks ladder (an e-mail after one and after three weeks without
/// attendance) on two students who attend the first week only, and the mail server;
/// `quiet` is the `[mail] quiet` setting.
fn university(smtp: &Smtp, emails: [&str; 2], quiet: &str, max_attempts: u32) -> Env {
    let env = Env::new();
    let path = env.warehouse.join("rollcall.toml");
    let text = rollcall::config::Config::template("consecutive-weeks")
        .replace("# host = \"smtp.example.ac.uk\"", "host = \"127.0.0.1\"")
        .replace(
            "# from = \"Student Engagement <engagement@example.ac.uk>\"",
            "from = \"Student Engagement <engagement@example.ac.uk>\"",
        )
        .replace("# ca_file = \"/etc/ssl/university-ca.pem\"", &format!("ca_file = \"{}\"", smtp.ca.display()))
        .replace("port = 587", &format!("port = {}", smtp.port))
        .replace("quiet = [{ from = \"12-20\", to = \"01-04\" }]", &format!("quiet = {quiet}"))
        .replace("max_attempts = 5", &format!("max_attempts = {max_attempts}"));
    assert!(text.contains("host = \"127.0.0.1\"") && text.contains("ca_file = "), "the template's [mail] lines");
    std::fs::write(&path, text).unwrap();
    env.ingest("terms", &[&env.file("terms.csv", TERMS)]);
    let students = format!(
        "student_id,programme_code,department,level,stage,mode,start_date,status,personal_tutor,given_name,email\n\
         W1,P1,Dept P1,5,1,full-time,2025-09-22,active,T01,Ada,{}\n\
         W2,P1,Dept P1,5,1,full-time,2025-09-22,active,T01,Grace,{}\n",
        emails[0], emails[1]
    );
    env.ingest("students", &[&env.file("students.csv", &students)]);
    timetable(&env, &days("2025-09-29", "2025-12-12", weekday), &["W1", "W2"]);
    swipes(&env, "s1.csv", "W1", &days("2025-09-29", "2025-10-03", weekday));
    swipes(&env, "s2.csv", "W2", &days("2025-09-29", "2025-10-03", weekday));
    env
}

/// One value from the tables analysts cannot query (`outbox`, `mail_log`), read through
/// the library as Rollcall's own jobs read them.
fn internal(env: &Env, query: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let warehouse = rollcall::warehouse::Warehouse::open(&env.warehouse, None).unwrap();
        let ctx = rollcall::engine::session::build(
            &warehouse,
            rollcall::engine::session::Access::Internal { with_equality: false },
        )
        .await
        .unwrap();
        let batches = ctx.sql(query).await.unwrap().collect().await.unwrap();
        arrow::util::display::array_value_to_string(batches[0].column(0), 0).unwrap()
    })
}

fn mail_send(warehouse: &Path, kill_at: Option<u32>) -> (Option<i32>, String) {
    let mut cmd = rollcall_command();
    cmd.arg("--warehouse").arg(warehouse).args(["mail", "send"]);
    if let Some(n) = kill_at {
        cmd.env("ROLLCALL_FAULT_KILL_AT", n.to_string());
    }
    let out = cmd.output().unwrap();
    let killed = out.status.signal().is_some();
    (if killed { None } else { out.status.code() }, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `mail send` until nothing is left: messages listed as unknown (an attempt without
/// its result) are checked not to have arrived, then released, as staff would.
fn send_the_rest(smtp: &Smtp, warehouse: &Path) {
    for _ in 0..3 {
        let (code, stdout) = mail_send(warehouse, None);
        let unknown: Vec<&str> =
            stdout.lines().filter_map(|l| l.strip_prefix("unknown: ")).filter_map(|l| l.split(':').next()).collect();
        if unknown.is_empty() {
            assert_eq!(code, Some(0), "{stdout}");
            return;
        }
        let arrived = smtp.counts();
        for id in unknown {
            assert!(!arrived.keys().any(|k| k.contains(id)), "{id} arrived, yet is listed as unknown");
            let out =
                rollcall_command().arg("--warehouse").arg(warehouse).args(["mail", "release", id]).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    panic!("mail send did not finish");
}

#[test]
fn each_email_arrives_once_over_starttls_even_when_mail_send_is_killed_at_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(dir.path());
    let env = university(&smtp, ["ada@example.ac.uk", "grace@example.ac.uk"], "[]", 5);
    // One week without attendance: both get the first e-mail; three weeks: Ada the second
    // (Grace's third week is covered by nothing, so she gets hers too).
    env.run(&["review", "--as-of", "2025-10-13"]).ok();
    env.run(&["review", "--as-of", "2025-10-27"]).ok();
    let cases: usize =
        env.scalar("SELECT count(*) FROM cases WHERE action IN ('first-email', 'second-email')").parse().unwrap();
    assert!(cases >= 3, "{cases} cases");

    // For each durable step of a run in turn (the outbox written, an attempt recorded, a
    // message recorded sent, the audit entry), a copy of the warehouse whose run is killed
    // right after that step, then run again: every message arrives, and none twice.
    let prepared = dir.path().join("prepared");
    let copy = |from: &Path, to: &Path| {
        let _ = std::fs::remove_dir_all(to);
        assert!(Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap().success());
    };
    copy(&env.warehouse, &prepared);
    let mut kill_at = 1;
    loop {
        let warehouse = dir.path().join("killed");
        copy(&prepared, &warehouse);
        smtp.clear();
        let (code, stdout) = mail_send(&warehouse, Some(kill_at));
        if code.is_some() {
            assert_eq!(code, Some(0), "{stdout}");
            break;
        }
        assert!(smtp.counts().values().all(|n| *n == 1), "killed after step {kill_at}: {:?}", smtp.counts());
        send_the_rest(&smtp, &warehouse);
        let counts = smtp.counts();
        assert_eq!(counts.len(), cases, "killed after step {kill_at}: every message arrives: {counts:?}");
        assert!(counts.values().all(|n| *n == 1), "killed after step {kill_at}: {counts:?}");
        kill_at += 1;
        assert!(kill_at < 100, "mail send never finished");
    }
    assert!(
        kill_at as usize > 2 * cases,
        "a run makes at least two durable steps per message; it finished after {kill_at}"
    );
    eprintln!("mail send killed after each of its {} steps in turn, each time completed by the next run", kill_at - 1);

    // The same on the warehouse itself, uninterrupted.
    smtp.clear();
    let (code, stdout) = mail_send(&env.warehouse, None);
    assert_eq!(code, Some(0), "{stdout}");
    let received = smtp.received();
    assert_eq!(received.len(), cases, "one message per case");
    assert!(smtp.counts().values().all(|n| *n == 1), "{:?}", smtp.counts());
    for message in &received {
        assert!(message.tls, "sent after STARTTLS");
        let from = message.header("From").unwrap_or_default();
        assert!(from.contains("Student Engagement") && from.ends_with("<engagement@example.ac.uk>"), "{from}");
    }
    let to_ada: Vec<&Received> = received.iter().filter(|m| m.to == ["ada@example.ac.uk"]).collect();
    let subjects: Vec<String> = to_ada.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert!(subjects.contains(&"We have missed you at your classes".to_string()), "{subjects:?}");
    assert!(subjects.contains(&"Your attendance: please get in touch".to_string()), "{subjects:?}");
    assert!(to_ada.iter().all(|m| m.text.contains("Dear Ada,")), "the template's names filled in");
    assert!(received.iter().any(|m| m.to == ["grace@example.ac.uk"] && m.text.contains("Dear Grace,")));

    // Once sent, never again; `mail list` shows each message sent, with no address or text.
    let (code, stdout) = mail_send(&env.warehouse, None);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("0 made, 0 sent"), "{stdout}");
    assert_eq!(smtp.received().len(), cases);
    let list = env.run(&["--format", "csv", "mail", "list"]).ok().stdout;
    assert_eq!(list.lines().count(), cases + 1, "{list}");
    assert!(!list.contains("example.ac.uk") && !list.contains("Dear"), "{list}");
    // The student's subject-access export includes the e-mails sent to them.
    let out = dir.path().join("sar");
    env.run(&["sar", "W1", "--out", out.to_str().unwrap()]).ok();
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("E-mails sent to you about your engagement"), "the SAR page lists the e-mails");
}

#[test]
fn quiet_days_and_dry_runs_hold_messages_and_a_refused_address_is_given_up() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(dir.path());
    let today = chrono::Local::now().date_naive();
    let quiet = format!("[{{ from = \"{0}\", to = \"{0}\" }}]", today.format("%m-%d"));
    let env = university(&smtp, ["ada@example.ac.uk", "refused@example.ac.uk"], &quiet, 2);
    env.run(&["review", "--as-of", "2025-10-13"]).ok();

    let dry = env.run(&["mail", "send", "--dry-run"]).ok();
    assert!(dry.stdout.contains("2 message(s) would be made and 2 sent"), "{}", dry.stdout);
    assert_eq!(internal(&env, "SELECT count(*) FROM outbox"), "0", "a dry run writes nothing");
    let held = env.run(&["mail", "send"]).ok();
    assert!(held.stdout.contains("2 made, 0 sent, 0 failed (tried again next run), 2 held"), "{}", held.stdout);
    assert!(held.stdout.contains("quiet period"), "{}", held.stdout);
    assert!(smtp.received().is_empty(), "nothing leaves on a quiet day");

    // The quiet period over: Ada's message goes; the server refuses the other address.
    let path = env.warehouse.join("rollcall.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(&format!("quiet = {quiet}"), "quiet = []")).unwrap();
    let first = env.run(&["mail", "send"]).code(1);
    assert!(first.stdout.contains("1 sent, 1 failed"), "{}", first.stdout);
    assert!(first.stderr.contains("not sent") && !first.stderr.contains("example.ac.uk"), "{}", first.stderr);
    let second = env.run(&["mail", "send"]).code(1);
    assert!(second.stdout.contains("0 sent, 1 failed"), "{}", second.stdout);
    let third = env.run(&["mail", "send"]).code(1);
    assert!(third.stdout.contains("given up: rollcall-"), "{}", third.stdout);
    assert!(!third.stdout.contains("example.ac.uk"), "no address in the output: {}", third.stdout);
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["ada@example.ac.uk"]);
    let failures = internal(&env, "SELECT count(*) FROM mail_log WHERE event = 'failed' AND detail = '550'");
    assert_eq!(failures, "2", "each refusal recorded with the server's reply code");
}

/// Every message that reached the server for `to`, by subject, with how often each arrived.
fn subjects_to(smtp: &Smtp, to: &str) -> Vec<String> {
    let mut subjects: Vec<String> = smtp
        .received()
        .iter()
        .filter(|m| m.to == [to.to_string()])
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect();
    subjects.sort();
    subjects
}

#[test]
fn an_ljmu_case_from_first_email_to_a_second_agreement_to_withdrawal_review_with_each_email_once() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(dir.path());
    let env = university(&smtp, ["ada@example.ac.uk", "grace@example.ac.uk"], "[]", 5);
    // Spring teaching too; Ada attends weeks 1, 6 (3 November) and 11 (8 December) only.
    timetable(&env, &days("2026-01-12", "2026-03-27", weekday), &["W1", "W2"]);
    let back = [days("2025-11-03", "2025-11-07", weekday), days("2025-12-08", "2025-12-12", weekday)].concat();
    swipes(&env, "s3.csv", "W1", &back);
    let ada = "ada@example.ac.uk";
    let case_of = |action: &str| {
        env.scalar(&format!("SELECT max(case_id) FROM cases WHERE student_id = 'W1' AND action = '{action}'"))
    };

    // One week without attendance: the first e-mail. The run is killed mid-way (after its
    // second durable step) and run again: it arrives once.
    env.run(&["review", "--as-of", "2025-10-13"]).ok();
    let (code, _) = mail_send(&env.warehouse, Some(2));
    assert_eq!(code, None, "killed");
    send_the_rest(&smtp, &env.warehouse);
    assert_eq!(subjects_to(&smtp, ada), ["We have missed you at your classes"]);
    // Three weeks: the second e-mail, killed after its third step this time.
    env.run(&["review", "--as-of", "2025-10-27"]).ok();
    let (code, _) = mail_send(&env.warehouse, Some(3));
    assert_eq!(code, None, "killed");
    send_the_rest(&smtp, &env.warehouse);
    assert_eq!(subjects_to(&smtp, ada), ["We have missed you at your classes", "Your attendance: please get in touch"]);

    // Four weeks: the attendance interview, with the school; at it, an agreement (one).
    env.run(&["review", "--as-of", "2025-11-03"]).ok();
    let first = case_of("attendance-interview");
    env.run(&["case", "record", &first, "agreement", "--on", "2025-11-04"]).ok();
    // Back in week 6, then four weeks missed again: a second interview and agreement (two).
    env.run(&["review", "--as-of", "2025-12-08"]).ok();
    let second = case_of("attendance-interview");
    assert_ne!(first, second);
    env.run(&["case", "record", &second, "agreement", "--on", "2025-12-09"]).ok();
    // Spring: four more weeks without attendance. Two agreements this year: withdrawal review.
    env.run(&["review", "--as-of", "2026-02-09"]).ok();
    let review = case_of("withdrawal-review");
    assert!(!review.is_empty(), "a withdrawal review is raised");
    send_the_rest(&smtp, &env.warehouse);

    let list = env.run(&["--format", "csv", "case", "list", "--as-of", "2026-02-09"]).ok().stdout;
    let mut reader = csv::Reader::from_reader(list.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let row = |case: &str| rows.iter().find(|r| &r[col("case_id")] == case).unwrap().clone();
    for case in [&first, &second] {
        let r = row(case);
        assert_eq!((&r[col("step")], &r[col("status")]), ("school", "closed"), "{r:?}");
        assert!(r[col("step_rule")].contains("agreement recorded on"), "{r:?}");
    }
    let r = row(&review);
    assert_eq!((&r[col("step")], &r[col("owner")], &r[col("status")]), ("faculty", "faculty", "open"), "{r:?}");

    // Every message arrived exactly once: Ada's two e-mails and an interview e-mail per
    // interview (the highest rung met is the only one raised when several are met at once).
    assert!(smtp.counts().values().all(|n| *n == 1), "{:?}", smtp.counts());
    assert_eq!(
        subjects_to(&smtp, ada),
        [
            "We have missed you at your classes",
            "Your attendance: an interview with your Programme Leader",
            "Your attendance: an interview with your Programme Leader",
            "Your attendance: please get in touch",
        ]
    );
}
