//! Ingest throughput: CSV to committed warehouse, end to end through the library's ingest
//! path (validation, dedupe against held rows, Delta commit).
//!
//! Run with `cargo bench --bench ingest`; `ROWS=N` sets the number of activity rows
//! (default 1,000,000). Prints wall time, rows per second and peak memory.

use std::io::Write;
use std::time::Instant;

use rollcall::ingest::{self, IngestOptions, kinds};
use rollcall::warehouse::Warehouse;

mod common;
use common::peak_rss_mib;

fn main() {
    common::set_arenas_as(&["ingest", "activity", "activity.csv"]);
    // `cargo test --benches` runs this binary with --bench absent; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("ingest benchmark: run with `cargo bench --bench ingest`");
        return;
    }
    let rows: u64 = std::env::var("ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("activity.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
        writeln!(w, "student_id,occurred_at,source,count,duration_s").unwrap();
        let sources = ["vle", "vle", "vle", "lecture-capture", "library", "pc-login", "online-meeting", "submission"];
        for i in 0..rows {
            // 30,000 students over one academic year (263 days from 22 September 2025).
            let student = i % 30_000;
            let second = (i / 30_000) * 997 % (263 * 86_400);
            let (day, sec) = (second / 86_400, second % 86_400);
            let date = chrono::NaiveDate::from_ymd_opt(2025, 9, 22).unwrap() + chrono::Duration::days(day as i64);
            writeln!(
                w,
                "S{student:06},{}T{:02}:{:02}:{:02},{},{},",
                date,
                sec / 3600,
                (sec / 60) % 60,
                sec % 60,
                sources[(i % 8) as usize],
                1 + i % 5
            )
            .unwrap();
        }
    }
    let size = std::fs::metadata(&file).unwrap().len();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let root = dir.path().join("warehouse");
        let (warehouse, _) = ingest::init_warehouse(&root, "staged-review").await.expect("init");
        let warehouse = Warehouse::open(warehouse.root(), None).expect("open");
        let started = Instant::now();
        let report =
            ingest::ingest(&warehouse, &kinds::ACTIVITY, std::slice::from_ref(&file), &IngestOptions::default())
                .await
                .expect("ingest");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(report.refused(), 0);
        println!(
            "ingest activity: {} rows ({:.0} MiB CSV) in {:.2} s = {:.0} rows/s; peak RSS {:.0} MiB",
            rows,
            size as f64 / 1048576.0,
            secs,
            rows as f64 / secs,
            peak_rss_mib()
        );
        let started = Instant::now();
        ingest::ingest(&warehouse, &kinds::ACTIVITY, std::slice::from_ref(&file), &IngestOptions::default())
            .await
            .expect("re-ingest");
        println!("re-ingest of the identical file (skipped by hash): {:.2} s", started.elapsed().as_secs_f64());
    });
}
