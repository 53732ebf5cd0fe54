//! Streaming a long Moodle log: `logstore_standard_log` rows to committed activity, end to
//! end through the `moodle-log` adapter (identity mapping, filtering, per-second
//! aggregation, chunked Parquet writes, one commit).
//!
//! Run with `cargo bench --bench moodle`; `ROWS=N` sets the log's rows (default
//! 20,000,000: 30,000 students over a year, a third of rows not a student's own
//! participation). Prints wall time, rows per second and peak memory, which should stay
//! flat as ROWS grows.

use std::io::Write;
use std::time::Instant;

use rollcall::ingest::{self, IngestOptions, adapters, kinds};
use rollcall::warehouse::Warehouse;

mod common;
use common::peak_rss_mib;

const HEADER: &str = "id,eventname,component,action,target,objecttable,objectid,crud,edulevel,contextid,\
contextlevel,contextinstanceid,userid,courseid,relateduserid,anonymous,other,timecreated,origin,ip,realuserid";

fn main() {
    common::set_arenas_as(&["ingest", "moodle-log", "logstore_standard_log.csv"]);
    if !std::env::args().any(|a| a == "--bench") {
        println!("moodle benchmark: run with `cargo bench --bench moodle`");
        return;
    }
    let rows: u64 = std::env::var("ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000_000);
    let students = 30_000u64;
    let dir = tempfile::tempdir().expect("temp dir");
    let map = dir.path().join("map.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&map).unwrap());
        writeln!(w, "student_id,domain,identifier").unwrap();
        for s in 0..students {
            writeln!(w, "S{s:06},vle,{}", 20_000 + s).unwrap();
        }
    }
    let log = dir.path().join("logstore_standard_log.csv");
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&log).unwrap());
        writeln!(w, "{HEADER}").unwrap();
        // From 22 September 2025 over 263 days, in id (time) order.
        let start = 1_758_528_000u64;
        let span = 263 * 86_400u64;
        for i in 0..rows {
            let time = start + i * span / rows;
            let user = 20_000 + (i * 7919) % students;
            let edulevel = if i % 3 == 0 { 1 } else { 2 };
            let event =
                if i % 97 == 0 { "\\mod_assign\\event\\assessable_submitted" } else { "\\core\\event\\course_viewed" };
            writeln!(
                w,
                "{i},{event},core,viewed,course,\\N,\\N,r,{edulevel},{c},50,{c},{user},{c},\\N,0,[],{time},web,192.0.2.{ip},\\N",
                c = 100 + i % 400,
                ip = i % 250
            )
            .unwrap();
        }
    }
    let size = std::fs::metadata(&log).unwrap().len();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let root = dir.path().join("warehouse");
        let (warehouse, _) = ingest::init_warehouse(&root, "staged-review").await.expect("init");
        let warehouse = Warehouse::open(warehouse.root(), None).expect("open");
        ingest::ingest(&warehouse, &kinds::STUDENT_ID_MAP, std::slice::from_ref(&map), &IngestOptions::default())
            .await
            .expect("map");
        let before = peak_rss_mib();
        let format = adapters::by_name("moodle-log").unwrap();
        let started = Instant::now();
        let report = adapters::ingest(&warehouse, &format, std::slice::from_ref(&log), &IngestOptions::default())
            .await
            .expect("ingest");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(report.refused(), 0);
        let file = report.files[0].export.clone().unwrap_or_default();
        println!(
            "moodle-log: {} rows ({:.0} MiB) in {:.1} s = {:.0} rows/s; {} kept, {} activity rows added; peak RSS {:.0} MiB (before the ingest {:.0} MiB)",
            rows,
            size as f64 / 1048576.0,
            secs,
            rows as f64 / secs,
            file.kept,
            file.activity_added,
            peak_rss_mib(),
            before
        );
    });
}
