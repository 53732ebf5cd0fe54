//! The demo's activity written the way universities' systems export it, for
//! `rollcall demo --formats real`: VLE events and submissions as Moodle
//! `logstore_standard_log` rows, lecture-capture views as a Panopto-style export, library,
//! PC and student-records logins as xAPI statements, and online meetings as Teams
//! attendance reports (UTF-16, tab-separated), one per meeting. The same events as the
//! interchange files, so both routes must give the same ratings.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::DemoFiles;
use crate::domain::time::parse_timestamp;
use crate::error::{Error, Result};

/// The files written, by export format.
#[derive(Debug, Default)]
pub struct RealFiles {
    /// `moodle-log` parts.
    pub moodle_log: Vec<PathBuf>,
    /// `lecture-capture`.
    pub lecture_capture: Vec<PathBuf>,
    /// `xapi`.
    pub xapi: Vec<PathBuf>,
    /// `teams-attendance`, one report per meeting.
    pub teams: Vec<PathBuf>,
}

impl RealFiles {
    /// (format, files) in ingest order.
    pub fn by_format(&self) -> Vec<(&'static str, &[PathBuf])> {
        vec![
            ("moodle-log", &self.moodle_log),
            ("lecture-capture", &self.lecture_capture),
            ("xapi", &self.xapi),
            ("teams-attendance", &self.teams),
        ]
    }
}

const LOG_HEADER: &str = "id,eventname,component,action,target,objecttable,objectid,crud,edulevel,contextid,\
contextlevel,contextinstanceid,userid,courseid,relateduserid,anonymous,other,timecreated,origin,ip,realuserid";

struct Meeting {
    student: String,
    joined: NaiveDateTime,
    seconds: i64,
}

/// Reads a generated CSV, handing each row (by header name) to `row`.
fn each_row(path: &Path, mut row: impl FnMut(&HashMap<&str, &str>) -> Result<()>) -> Result<()> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    let header: Vec<String> =
        reader.headers().map_err(|e| Error::io(path, std::io::Error::other(e)))?.iter().map(String::from).collect();
    for record in reader.records() {
        let record = record.map_err(|e| Error::io(path, std::io::Error::other(e)))?;
        let fields: HashMap<&str, &str> = header.iter().map(String::as_str).zip(record.iter()).collect();
        row(&fields)?;
    }
    Ok(())
}

/// Converts a generated university's activity files into export formats under `dir/real`.
pub fn convert(files: &DemoFiles, tz: Tz) -> Result<RealFiles> {
    let out = files.dir.join("real");
    let teams_dir = out.join("teams");
    std::fs::create_dir_all(&teams_dir).map_err(|e| Error::io(&teams_dir, e))?;
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| Error::io(&p, e)
    };
    let mut vle_ids: HashMap<String, String> = HashMap::new();
    each_row(&files.dir.join("student-id-map.csv"), |r| {
        if r["domain"] == "vle" {
            vle_ids.insert(r["student_id"].to_string(), r["identifier"].to_string());
        }
        Ok(())
    })?;
    let mut emails: HashMap<String, String> = HashMap::new();
    each_row(&files.dir.join("students.csv"), |r| {
        emails.insert(r["student_id"].to_string(), r["email"].to_string());
        Ok(())
    })?;

    let mut real = RealFiles::default();
    let capture_path = out.join("lecture-capture.csv");
    let mut capture = BufWriter::new(File::create(&capture_path).map_err(io(&capture_path))?);
    writeln!(capture, "Timestamp,UserName,Session Name,Minutes Watched").map_err(io(&capture_path))?;
    let xapi_path = out.join("statements.jsonl");
    let mut xapi = BufWriter::new(File::create(&xapi_path).map_err(io(&xapi_path))?);
    let mut meetings: Vec<Meeting> = Vec::new();
    let mut event_id = 0u64;
    for (part, path) in files.files("activity").iter().enumerate() {
        let log_path = out.join(format!("moodle-log-{:03}.csv", part + 1));
        let mut log = BufWriter::with_capacity(1 << 20, File::create(&log_path).map_err(io(&log_path))?);
        writeln!(log, "{LOG_HEADER}").map_err(io(&log_path))?;
        let reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io(path))?);
        for line in reader.lines().skip(1) {
            let line = line.map_err(io(path))?;
            let f: Vec<&str> = line.split(',').collect();
            let [student, at, source, count, duration] = f[..] else {
                return Err(Error::Internal(format!("{}: unexpected demo activity row", path.display())));
            };
            let local = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S")
                .map_err(|_| Error::Internal(format!("{}: unexpected demo timestamp", path.display())))?;
            let utc = parse_timestamp(at, tz).map_err(Error::Internal)?;
            // A student without a VLE account (graduates of earlier years) is reported by the
            // learning-record store instead.
            let source = match (source, vle_ids.get(student)) {
                ("vle", None) => "xapi-vle",
                ("submission", None) => "xapi-submission",
                _ => source,
            };
            match source {
                "vle" | "submission" => {
                    let user = &vle_ids[student];
                    let seconds = utc / 1_000_000;
                    let n: u32 = count.parse().unwrap_or(1);
                    for i in 0..n {
                        event_id += 1;
                        let (event, component, crud) = match (source, i % 2) {
                            ("submission", _) => ("\\mod_assign\\event\\assessable_submitted", "mod_assign", "u"),
                            (_, 0) => ("\\core\\event\\course_viewed", "core", "r"),
                            _ => ("\\mod_resource\\event\\course_module_viewed", "mod_resource", "r"),
                        };
                        writeln!(
                            log,
                            "{event_id},{event},{component},viewed,course,\\N,\\N,{crud},2,{ctx},50,{ctx},{user},{ctx},\\N,0,[],{seconds},web,192.0.2.{ip},\\N",
                            ctx = 100 + event_id % 40,
                            ip = event_id % 250,
                        )
                        .map_err(io(&log_path))?;
                    }
                }
                "lecture-capture" => {
                    let seconds: f64 = duration.parse().unwrap_or(0.0);
                    writeln!(
                        capture,
                        "{},{},\"Lecture recording, week {}\",{:.4}",
                        local.format("%-m/%-d/%Y %-I:%M:%S %p"),
                        emails[student],
                        local.format("%V"),
                        seconds / 60.0
                    )
                    .map_err(io(&capture_path))?;
                }
                "online-meeting" => meetings.push(Meeting {
                    student: student.to_string(),
                    joined: local,
                    seconds: duration.parse().unwrap_or(0),
                }),
                other => {
                    let n: u32 = if other == "xapi-vle" { count.parse().unwrap_or(1) } else { 1 };
                    let (verb, object) = match other {
                        "xapi-vle" => ("http://id.tincanapi.com/verb/viewed", "https://vle.example.ac.uk/course/1"),
                        "xapi-submission" => {
                            ("http://adlnet.gov/expapi/verbs/completed", "https://vle.example.ac.uk/assign/1")
                        }
                        "library" => {
                            ("http://activitystrea.ms/schema/1.0/access", "https://library.example.ac.uk/gate")
                        }
                        "pc-login" => (
                            "https://brindlewaye.com/xAPITerms/verbs/loggedin",
                            "https://it.example.ac.uk/computer/open-access",
                        ),
                        _ => {
                            ("https://brindlewaye.com/xAPITerms/verbs/loggedin", "https://records.example.ac.uk/portal")
                        }
                    };
                    let stamp: DateTime<Utc> = DateTime::from_timestamp_micros(utc).expect("in range");
                    for _ in 0..n {
                        writeln!(
                            xapi,
                            "{}",
                            serde_json::json!({
                                "actor": {"account": {"homePage": "https://sso.example.ac.uk", "name": student}},
                                "verb": {"id": verb},
                                "object": {"id": object},
                                "timestamp": stamp.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                            })
                        )
                        .map_err(io(&xapi_path))?;
                    }
                }
            }
        }
        log.flush().map_err(io(&log_path))?;
        real.moodle_log.push(log_path);
    }
    capture.flush().map_err(io(&capture_path))?;
    xapi.flush().map_err(io(&xapi_path))?;
    real.lecture_capture.push(capture_path);
    real.xapi.push(xapi_path);

    // One Teams meeting per day and sitting: a student's k-th meeting of a day is in the
    // day's k-th report.
    let mut nth: HashMap<(String, chrono::NaiveDate), usize> = HashMap::new();
    let mut reports: std::collections::BTreeMap<(chrono::NaiveDate, usize), Vec<Meeting>> = Default::default();
    for m in meetings {
        let k = nth.entry((m.student.clone(), m.joined.date())).or_default();
        *k += 1;
        reports.entry((m.joined.date(), *k)).or_default().push(m);
    }
    let stamp = |t: NaiveDateTime| t.format("%d/%m/%Y, %H:%M:%S").to_string();
    for ((day, k), people) in reports {
        let start = people.iter().map(|p| p.joined).min().expect("a participant");
        let end = people.iter().map(|p| p.joined + Duration::seconds(p.seconds)).max().expect("a participant");
        let mut text = format!(
            "1. Summary\r\nMeeting title\tStudy group {day} ({k})\r\nAttended participants\t{}\r\nStart time\t{}\r\nEnd time\t{}\r\n\r\n2. Participants\r\nName\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole\r\n",
            people.len(),
            stamp(start),
            stamp(end)
        );
        for p in &people {
            let email = &emails[&p.student];
            text.push_str(&format!(
                "Student {}\t{}\t{}\t{}m {}s\t{email}\t{email}\tAttendee\r\n",
                p.student,
                stamp(p.joined),
                stamp(p.joined + Duration::seconds(p.seconds)),
                p.seconds / 60,
                p.seconds % 60
            ));
        }
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let path = teams_dir.join(format!("meeting-{day}-{k}.csv"));
        std::fs::write(&path, bytes).map_err(io(&path))?;
        real.teams.push(path);
    }
    Ok(real)
}
