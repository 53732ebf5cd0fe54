//! Fault injection: each writing command is killed (SIGKILL) after each of its durable
//! steps in turn (every Delta commit, vacuum, log clean-up, file replaced whole and audit
//! entry; see `warehouse::fault`), on a copy of one warehouse. After every kill: every table
//! opens, `audit verify` passes, and running the command again finishes the job to the
//! same tables an uninterrupted run leaves: no row lost, none duplicated, nothing charged
//! or counted twice.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{Env, Run, files_below, rollcall_command, set_mode};
use crate::equality::{parquet_text, pseudonym};
use crate::fixtures::{TERMS, activity, days, weekday};

const KILL_AT: &str = "ROLLCALL_FAULT_KILL_AT";

/// A university with everything the writing commands touch: students with ethnicity
/// (two finished in June 2026), a term of activity, ratings, an equality release.
fn university() -> Env {
    let env = Env::new();
    env.configure_key();
    env.ingest("terms", &[&env.file("terms.csv", TERMS)]);
    let mut csv = String::from(
        "student_id,programme_code,department,level,stage,mode,start_date,status,completion_date,ethnicity\n",
    );
    for i in 0..24 {
        let (status, completion) = if i < 2 { ("completed", "2026-06-30") } else { ("active", "") };
        let ethnicity = ["22", "White", "31"][i % 3];
        csv.push_str(&format!("S{i:02},CS4,Computing,4,1,full-time,2025-09-22,{status},{completion},{ethnicity}\n"));
    }
    env.ingest("students", &[&env.file("students.csv", &csv)]);
    let teaching = days("2025-10-06", "2025-10-31", weekday);
    let ids: Vec<String> = (0..24).map(|i| format!("S{i:02}")).collect();
    let rows: Vec<(&str, chrono::NaiveDate, &str, u32)> =
        teaching.iter().flat_map(|day| ids.iter().map(|id| (id.as_str(), *day, "vle", 3))).collect();
    activity(&env, "activity.csv", &rows);
    env.run(&["rate", "--as-of", "2025-11-01"]).ok();
    let out = env.dir.path().join("release");
    env.run(&["equality", "--year", "2025-26", "--epsilon", "0.5", "--out", out.to_str().unwrap()]).ok();
    let new_key = env.dir.path().join("new.key");
    std::fs::write(&new_key, [8u8; 32]).unwrap();
    set_mode(&new_key, 0o600);
    env
}

/// A copy of `base`'s warehouse in a directory of its own (the key files stay with `base`).
fn copy_of(base: &Env) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("warehouse");
    for file in files_below(&base.warehouse) {
        let to = warehouse.join(file.strip_prefix(&base.warehouse).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    Env { dir, warehouse }
}

fn run_env(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut cmd = rollcall_command();
    cmd.arg("--warehouse").arg(&env.warehouse).args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every table's rows (the equality data included) as the library reads them: a count for
/// tables whose rows carry the time they were written, the sorted rows for the others.
fn tables(warehouse: &Path) -> BTreeMap<String, String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use rollcall::engine::session::{self, Access};
        let w = rollcall::warehouse::Warehouse::open(warehouse, None).unwrap();
        let ctx = session::build(&w, Access::Internal { with_equality: true }).await.unwrap();
        let mut out = BTreeMap::new();
        for def in rollcall::warehouse::tables::ALL {
            let query = match def.name {
                "equality" => {
                    format!("SELECT * FROM {} ORDER BY 1, 2, 3", def.name)
                }
                name => format!("SELECT count(*) AS n FROM {name}"),
            };
            let batches = ctx.sql(&query).await.unwrap().collect().await.unwrap_or_else(|e| {
                panic!("table {} cannot be read: {e}", def.name);
            });
            let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
            out.insert(def.name.to_string(), text);
        }
        out
    })
}

/// Kills `args` after each of its steps on a fresh copy of `base`; after each kill runs
/// `after_kill` (checks of the interrupted state) and then `finish` (which must complete the
/// job), and compares the tables with an uninterrupted run's. Returns the number of kills.
fn kill_after_each_step(
    base: &Env,
    args: &[&str],
    out: Option<&str>,
    after_kill: impl Fn(&Env, u64),
    finish: impl Fn(&Env, u64),
    same: impl Fn(&Env, &Env),
) -> u64 {
    // A command's output directory, if it has one, is the copy's own.
    let with_out = |env: &Env| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if let Some(flag) = out {
            all.push(flag.to_string());
            all.push(env.dir.path().join("out").to_string_lossy().into_owned());
        }
        all
    };
    let reference = copy_of(base);
    let reference_args = with_out(&reference);
    run_env(&reference, &reference_args.iter().map(String::as_str).collect::<Vec<_>>(), &[]).ok();
    let expected = tables(&reference.warehouse);
    for k in 1.. {
        let env = copy_of(base);
        let env_args = with_out(&env);
        let killed =
            run_env(&env, &env_args.iter().map(String::as_str).collect::<Vec<_>>(), &[(KILL_AT, &k.to_string())]);
        if killed.code != -1 {
            assert_eq!(killed.code, 0, "{args:?} unkilled at step {k}: {}", killed.stderr);
            return k - 1;
        }
        assert!(!killed.stderr.contains("panicked"), "{}", killed.stderr);
        tables(&env.warehouse); // every table opens
        let verify = run_env(&env, &["audit", "verify"], &[]);
        assert_eq!(verify.code, 0, "{args:?} killed after step {k}: audit verify: {}", verify.stderr);
        after_kill(&env, k);
        finish(&env, k);
        let now = tables(&env.warehouse);
        for (name, text) in &expected {
            // Logs of runs hold one row per run, the killed one included when it got that far.
            if !name.ends_with("_log") && !name.ends_with("_runs") {
                assert_eq!(&now[name], text, "{args:?} killed after step {k}: table {name} differs");
            }
        }
        same(&reference, &env);
        run_env(&env, &["audit", "verify"], &[]).ok();
    }
    unreachable!()
}

/// Finding 1: a rotation killed after any step is exclusive until finished (other jobs
/// refuse), finishes with the old key or (once the equality rows are re-keyed) the new one,
/// and keeps every held student's row; no file holds an old-key pseudonym afterwards.
#[test]
fn a_key_rotation_killed_after_any_step_is_exclusive_and_finishes_with_every_row() {
    let base = university();
    let new_key = base.dir.path().join("new.key");
    let new_key = new_key.to_str().unwrap().to_string();
    let rotate = ["keys", "rotate", "--new-key", new_key.as_str()];
    let ethnicity = base.file(
        "late.csv",
        "student_id,programme_code,department,level,stage,mode,start_date,status,ethnicity\n\
         LATE,CS4,Computing,4,1,full-time,2025-09-22,active,22\n",
    );
    let kills = kill_after_each_step(
        &base,
        &rotate,
        None,
        |env, k| {
            if !env.warehouse.join("pseudonym-key.rotation").exists() {
                return; // killed after the last step
            }
            for args in [
                vec!["ingest", "students", ethnicity.as_str()],
                vec!["equality", "--year", "2025-26", "--epsilon", "0.1", "--out", "/nonexistent/x"],
                vec!["retention", "purge", "--as-of", "2032-07-01"],
            ] {
                let run = run_env(env, &args, &[]);
                assert_eq!(run.code, 1, "step {k}: {args:?} ran during a rotation: {}", run.stdout);
                assert!(run.stderr.contains("rotation is under way"), "step {k}: {}", run.stderr);
            }
        },
        |env, k| {
            // Half the time the operator has already pointed the configuration at the new
            // key: the rotation finishes, or says the old key is still needed.
            if k % 2 == 0 {
                let run = run_env(env, &rotate, &[("ROLLCALL_PSEUDONYM_KEY_FILE", new_key.as_str())]);
                if run.code == 0 {
                    return;
                }
                assert!(run.stderr.contains("configure the old key"), "step {k}: {}", run.stderr);
            }
            let run = run_env(env, &rotate, &[]);
            assert_eq!(run.code, 0, "step {k}: {}", run.stderr);
        },
        |_, env| {
            assert!(!env.warehouse.join("pseudonym-key.rotation").exists());
            let text = parquet_text(&env.warehouse.join("tables/equality"))
                + &parquet_text(&env.warehouse.join("tables/equality_populations"));
            assert!(!text.contains(&pseudonym(&[7u8; 32], "S05")), "an old-key pseudonym is left on disk");
            assert!(text.contains(&pseudonym(&[8u8; 32], "S05")));
        },
    );
    assert!(kills >= 6, "{kills} kill points");
    crate::common::report(&format!("fault injection: keys rotate killed at {kills} points; losses: 0, panics: 0"));
}

/// Finding 11: a purge killed after any step is finished by the next run, and the trail
/// (retention_runs and the audit log) counts every erased row exactly once.
#[test]
fn a_purge_killed_after_any_step_is_recorded_once_in_full() {
    let base = university();
    let purge = ["retention", "purge", "--as-of", "2032-07-01"];
    let erased = |env: &Env| -> (u64, u64) {
        let runs: u64 = env
            .sql("SELECT rows FROM retention_runs")
            .iter()
            .skip(1)
            .map(|json| {
                let json = json.trim_matches('"').replace("\"\"", "\"");
                let counts: BTreeMap<String, u64> = serde_json::from_str(&json).unwrap();
                counts.values().sum::<u64>()
            })
            .sum();
        let audited: u64 = rollcall::compliance::audit::entries(&env.warehouse)
            .unwrap()
            .iter()
            .filter(|e| e.command == "retention purge run")
            .filter_map(|e| e.details.get("rows"))
            .map(|rows| rows.as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>())
            .sum();
        (runs, audited)
    };
    let kills = kill_after_each_step(
        &base,
        &purge,
        None,
        |_, _| {},
        |env, k| {
            let run = run_env(env, &purge, &[]);
            assert_eq!(run.code, 0, "step {k}: {}", run.stderr);
        },
        |reference, env| {
            let (runs, audited) = erased(reference);
            assert!(runs > 0 && audited == runs, "{runs} rows in retention_runs, {audited} in the audit trail");
            assert_eq!(erased(env), (runs, audited), "erasures counted once each");
        },
    );
    assert!(kills >= 10, "{kills} kill points");
    crate::common::report(&format!(
        "fault injection: retention purge killed at {kills} points; losses: 0, erasures counted twice or not at all: 0"
    ));
}

/// Ingest, the full rate and an equality release, each killed after every step: the re-run
/// leaves the same tables and charges the budget once.
#[test]
fn ingest_rate_and_release_killed_after_any_step_leave_the_same_tables() {
    let base = university();
    let more = base.file(
        "more.csv",
        "student_id,programme_code,department,level,stage,mode,start_date,status,ethnicity\n\
         N1,CS4,Computing,4,1,full-time,2025-09-22,active,22\nN2,CS4,Computing,4,1,full-time,2025-09-22,active,\n",
    );
    let mut total = 0;
    let commands: [(Vec<&str>, Option<&str>); 3] = [
        (vec!["ingest", "students", more.as_str()], None),
        (vec!["rate", "--as-of", "2025-11-01", "--full"], None),
        (vec!["equality", "--year", "2025-26", "--epsilon", "0.25", "--new-release"], Some("--out")),
    ];
    for (args, out) in &commands {
        let kills = kill_after_each_step(
            &base,
            args,
            *out,
            |_, _| {},
            |env, k| {
                // A release stopped after its files were written (before its audit entry) is
                // done: running the command again asks for another release.
                let written = env.dir.path().join("out").exists();
                if out.is_some() && written && !env.warehouse.join("equality-release.pending").exists() {
                    return;
                }
                let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                if let Some(flag) = out {
                    args.push(flag.to_string());
                    args.push(env.dir.path().join("out").to_string_lossy().into_owned());
                }
                let run = run_env(env, &args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
                assert_eq!(run.code, 0, "{args:?} step {k}: {}", run.stderr);
            },
            |_, _| {},
        );
        assert!(kills >= 1, "{args:?}");
        total += kills;
    }
    crate::common::report(&format!(
        "fault injection: ingest, rate and release killed at {total} points; rows lost or duplicated: 0, charges repeated: 0"
    ));
}

/// Finding 12: a read that loaded the tables before a purge removed their files reads
/// again from the new versions instead of failing.
#[test]
fn a_read_overtaken_by_a_purge_reads_again() {
    let env = university();
    let before: u64 = env.scalar("SELECT count(*) FROM activity").parse().unwrap();
    let mut reader = rollcall_command();
    reader
        .arg("--warehouse")
        .arg(&env.warehouse)
        // A count the tables' statistics cannot answer: the files are read.
        .args(["--format", "csv", "sql", "SELECT count(*) AS n FROM activity WHERE student_id <> ''"])
        .env("ROLLCALL_FAULT_PAUSE_READ_MS", "10000")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let reader = reader.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let started = std::time::Instant::now();
    run_env(&env, &["retention", "purge", "--as-of", "2032-07-01"], &[]).ok();
    assert!(started.elapsed().as_millis() < 7000, "the purge finished while the reader waited");
    let output = reader.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("reading again"), "the first read did not meet the purge: {stderr}");
    let after: u64 = stdout.lines().nth(1).unwrap().parse().unwrap();
    assert!(after < before, "read from the new version: {after} of {before}");
}
