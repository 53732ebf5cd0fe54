//! Retention: `rollcall retention purge --as-of DATE [--dry-run]` erases every row of every
//! student past their retention date from every table named in `retention/schedule.toml`,
//! physically: rows are deleted (files holding them rewritten), files no longer used are
//! vacuumed, and the transaction log is checkpointed and its older entries (which hold
//! file statistics, min/max values included) removed.
//!
//! Safe from cron: it takes the warehouse lock, each table is one commit, the students table
//! is erased last (so a run stopped part way still finds who is due), and every run
//! vacuums and cleans every table, completing whatever an interrupted run left.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use datafusion::prelude::{Expr, SessionContext, col, lit};
use datafusion::scalar::ScalarValue;
use serde::{Deserialize, Serialize};

use crate::domain::time::{date_to_days, days_to_date};
use crate::engine::cells::int_at;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::privacy::pseudonym::{EQUALITY_PURPOSE, PseudonymKey};
use crate::queries;
use crate::warehouse::row;
use crate::warehouse::{Warehouse, os_user, tables};

/// Present while a purge is under way (relative to the warehouse).
pub const PENDING_FILE: &str = "retention-purge.pending";

/// The shipped schedule.
pub const SCHEDULE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/retention/schedule.toml"));

/// The retention schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Years after the end of studies.
    pub default_years: u32,
    /// Tables holding students.
    pub tables: BTreeMap<String, TableRule>,
}

/// How long one table keeps a student's rows, and how they are found.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRule {
    /// Years, if not the default.
    pub years: Option<u32>,
    /// `student_id` (default) or `pseudonym`.
    #[serde(rename = "match")]
    pub by: Option<String>,
}

impl Schedule {
    /// The shipped schedule, checked against the warehouse's tables.
    pub fn shipped() -> Result<Schedule> {
        Schedule::parse(SCHEDULE)
    }

    /// Parses and checks a schedule: every table holding students is named, names exist,
    /// and students are kept at least as long as anything else.
    pub fn parse(text: &str) -> Result<Schedule> {
        let fail = |message: String| Error::Config { path: "retention/schedule.toml".into(), message };
        let schedule: Schedule =
            toml::from_str(text).map_err(|e| Error::config_syntax("retention/schedule.toml", text, e))?;
        for def in tables::ALL {
            let holds_students = def.column_names().any(|c| c == "student_id") || def.name == tables::EQUALITY.name;
            if holds_students && !schedule.tables.contains_key(def.name) {
                return Err(fail(format!("table '{}' holds students but has no retention rule", def.name)));
            }
        }
        for (name, rule) in &schedule.tables {
            let def = tables::ALL
                .iter()
                .find(|d| d.name == name)
                .ok_or_else(|| fail(format!("tables.{name}: no such table")))?;
            let by = rule.by.as_deref().unwrap_or("student_id");
            if !def.column_names().any(|c| c == by) {
                return Err(fail(format!("tables.{name}: the table has no column '{by}' to match students by")));
            }
        }
        let students = schedule.years("students");
        if let Some((name, _)) = schedule.tables.iter().find(|(n, _)| schedule.years(n) > students) {
            return Err(fail(format!("tables.{name}: keeps rows longer than the students table; students go last")));
        }
        Ok(schedule)
    }

    /// Years a table keeps a student's rows.
    pub fn years(&self, table: &str) -> u32 {
        self.tables.get(table).and_then(|r| r.years).unwrap_or(self.default_years)
    }

    /// Tables in erasure order: the equality table before students, students last.
    pub fn order(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tables.keys().map(String::as_str).filter(|n| *n != "students").collect();
        names.sort_by_key(|n| *n == tables::EQUALITY.name);
        names.push("students");
        names
    }

    /// A one-line description of the rule applied, for the audit record.
    pub fn describe(&self) -> String {
        let own: Vec<String> =
            self.tables.iter().filter_map(|(n, r)| r.years.map(|y| format!("{n} {y} years"))).collect();
        let mut text = format!("{} years after the end of studies", self.default_years);
        if !own.is_empty() {
            text.push_str(&format!(" ({})", own.join(", ")));
        }
        text
    }
}

/// The day `years` years before `day` (29 February falls back to the 28th).
pub fn years_before(day: NaiveDate, years: u32) -> NaiveDate {
    let year = day.year() - years as i32;
    day.with_year(year).unwrap_or_else(|| NaiveDate::from_ymd_opt(year, day.month(), 28).expect("valid date"))
}

/// A student past their retention date.
#[derive(Debug, Clone)]
pub struct Due {
    /// The student.
    pub student_id: String,
    /// The end of their studies.
    pub ended_on: NaiveDate,
    /// Whether a legal hold keeps them.
    pub held: bool,
}

/// What a purge did (or, dry, would do).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Students erased (or to be).
    pub students: Vec<Due>,
    /// Students kept by a legal hold.
    pub held: usize,
    /// Rows erased (or to be) per table.
    pub rows: BTreeMap<String, u64>,
    /// Files removed by vacuum.
    pub files_removed: usize,
    /// The rule applied.
    pub rule: String,
    /// Students whose studies ended with no end date held: their retention date cannot be
    /// computed, so they are kept (and reported) until one is ingested.
    pub undetermined: Vec<String>,
}

/// Students whose studies ended on or before `cutoff`, with their legal-hold status.
async fn candidates(ctx: &SessionContext, cutoff: NaiveDate) -> Result<Vec<Due>> {
    let batches =
        queries::collect(ctx, "retention/due", &[("cutoff", crate::engine::cells::date(date_to_days(cutoff)))]).await?;
    let mut out = Vec::new();
    for batch in &batches {
        use crate::engine::cells::{days, ints, texts};
        let (ids, ended, held) = (texts(batch, "student_id")?, days(batch, "ended_on")?, ints(batch, "held")?);
        for r in 0..batch.num_rows() {
            out.push(Due {
                student_id: ids.value(r).to_string(),
                ended_on: days_to_date(ended.value(r)),
                held: held.value(r) > 0,
            });
        }
    }
    Ok(out)
}

fn matching(column: &str, values: &[String]) -> Expr {
    col(column).in_list(values.iter().map(|v| lit(v.as_str())).collect(), false)
}

/// A purge run under way, kept in [`PENDING_FILE`] from before its first erasure until it
/// is recorded: counts only, never a student's id. A run that finds one left by a run that
/// was stopped finishes the erasure and records the stopped run too, once, so every erased
/// row is counted exactly once in `retention_runs` and the audit trail.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    /// Opaque id, carried by each of the run's erasing commits (`rollcall.purge_run`).
    run: String,
    /// When it started (microseconds since 1970, UTC): its `run_at`.
    started_at: i64,
    as_of: NaiveDate,
    rule: String,
    /// Students it set out to erase, and those kept by a legal hold.
    students: usize,
    held: usize,
    /// Rows erased per table, once every erasing commit is made.
    erased: Option<BTreeMap<String, u64>>,
}

/// The commit metadata key naming the purge run that made an erasing commit.
const RUN_KEY: &str = "rollcall.purge_run";

impl Run {
    fn read(warehouse: &Warehouse) -> Result<Option<Run>> {
        let path = warehouse.root().join(PENDING_FILE);
        match std::fs::read_to_string(&path) {
            // A marker from an earlier release of Rollcall holds no record: nothing to add.
            Ok(text) => Ok(serde_json::from_str(&text).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn write(&self, warehouse: &Warehouse) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a run record serialises");
        crate::warehouse::write_atomically(&warehouse.root().join(PENDING_FILE), text.as_bytes())
    }

    /// What a stopped run erased: its own count once it had made every erasing commit,
    /// else the rows its commits record.
    async fn erased(&self, warehouse: &Warehouse, schedule: &Schedule) -> Result<BTreeMap<String, u64>> {
        if let Some(erased) = &self.erased {
            return Ok(erased.clone());
        }
        let mut erased = BTreeMap::new();
        for table in schedule.order() {
            let def = tables::by_name(table).expect("schedule tables exist");
            erased.insert(table.to_string(), warehouse.rows_deleted_by(&def, RUN_KEY, &self.run).await?);
        }
        Ok(erased)
    }

    /// Records the run in `retention_runs` and the audit trail, each unless already there.
    async fn record(
        &self,
        warehouse: &Warehouse,
        ctx: &SessionContext,
        rows: &BTreeMap<String, u64>,
        outcome: &str,
    ) -> Result<()> {
        // The students table is erased last: a stopped run that did not reach it erased no student whole.
        let students =
            if outcome == "ok" || rows.get("students").copied().unwrap_or(0) > 0 { self.students } else { 0 };
        let rows_json = serde_json::to_string(rows).expect("counts serialise");
        let at = crate::engine::cells::utc(self.started_at);
        let recorded = int_at(&queries::collect(ctx, "retention/run_recorded", &[("run_at", at)]).await?, "n")?;
        if recorded.unwrap_or(0) == 0 {
            let rule = if outcome == "ok" {
                self.rule.clone()
            } else {
                format!("{} (stopped part way; finished by a later run)", self.rule)
            };
            let run = vec![
                ("run_at", row::instant(Some(self.started_at))),
                ("as_of", row::day(Some(date_to_days(self.as_of)))),
                ("rule", row::text(rule)),
                ("students", row::int(students as i64)),
                ("held", row::int(self.held as i64)),
                ("rows", row::text(rows_json)),
                ("os_user", row::text(os_user())),
            ];
            warehouse.append_named(&tables::RETENTION_RUNS, &[run], "retention purge").await?;
        }
        let root = warehouse.root();
        let audited = crate::compliance::audit::entries(root)?
            .iter()
            .any(|e| e.command == RUN_COMMAND && e.details.get("run").and_then(|r| r.as_str()) == Some(&self.run));
        if !audited {
            let details = serde_json::Map::from_iter([
                ("run".to_string(), serde_json::Value::from(self.run.clone())),
                ("as_of".to_string(), serde_json::Value::from(self.as_of.to_string())),
                ("students_erased".to_string(), serde_json::Value::from(students)),
                ("students_held".to_string(), serde_json::Value::from(self.held)),
                ("rows".to_string(), serde_json::to_value(rows).expect("counts serialise")),
            ]);
            crate::compliance::audit::append(root, RUN_COMMAND, outcome, details, vec![])?;
        }
        Ok(())
    }
}

/// The audit entry recording what one purge run erased (each run has exactly one; the
/// command's own entry names the run).
pub const RUN_COMMAND: &str = "retention purge run";

/// What a purge as of a day would do, in counts: read from a session, without the lock
/// (the console's preview for the data-protection officer; `purge --dry-run` adds the
/// rows per table).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Preview {
    /// Students whose rows would be erased from at least one table.
    pub due: usize,
    /// Students kept by a legal hold.
    pub held: usize,
    /// Students whose end of studies is not held (kept until it is).
    pub undetermined: usize,
    /// The rule applied.
    pub rule: String,
}

/// A purge's preview as of `as_of`.
pub async fn preview(ctx: &SessionContext, as_of: NaiveDate) -> Result<Preview> {
    let schedule = Schedule::shipped()?;
    let min_years = schedule.tables.keys().map(|n| schedule.years(n)).min().unwrap_or(schedule.default_years);
    let candidates = candidates(ctx, years_before(as_of, min_years)).await?;
    let undetermined = crate::engine::cells::row_count(&queries::collect(ctx, "retention/undetermined", &[]).await?);
    Ok(Preview {
        due: candidates.iter().filter(|c| !c.held).count(),
        held: candidates.iter().filter(|c| c.held).count(),
        undetermined,
        rule: schedule.describe(),
    })
}

/// Runs the purge as of `as_of`; `dry_run` changes nothing.
pub async fn purge(warehouse: &Warehouse, as_of: NaiveDate, dry_run: bool) -> Result<Report> {
    let schedule = Schedule::shipped()?;
    let lock = warehouse.lock()?;
    // Rows recorded in the console meanwhile are erased with the rest.
    warehouse.apply_queue(&lock).await?;
    let ctx = session::build(warehouse, Access::Internal { with_equality: true }).await?;
    let min_years = schedule.tables.keys().map(|n| schedule.years(n)).min().unwrap_or(schedule.default_years);
    let candidates = candidates(&ctx, years_before(as_of, min_years)).await?;
    let held = candidates.iter().filter(|c| c.held).count();
    let due: Vec<&Due> = candidates.iter().filter(|c| !c.held).collect();
    let mut report = Report { held, rule: schedule.describe(), ..Report::default() };
    for batch in queries::collect(&ctx, "retention/undetermined", &[]).await? {
        let ids = crate::engine::cells::texts(&batch, "student_id")?;
        report.undetermined.extend(ids.iter().flatten().map(str::to_string));
    }
    let students_cutoff = years_before(as_of, schedule.years("students"));
    let planned = due.iter().filter(|d| d.ended_on <= students_cutoff).count();

    // A run that was stopped: what it erased is recorded now (once), and every table is
    // cleaned below, not only those this run erases from.
    let stopped = if dry_run { None } else { Run::read(warehouse)? };
    let resuming = warehouse.root().join(PENDING_FILE).exists();
    if let Some(stopped) = &stopped {
        let erased = stopped.erased(warehouse, &schedule).await?;
        stopped.record(warehouse, &ctx, &erased, "stopped").await?;
        crate::compliance::audit::note("finished_stopped_run", stopped.run.clone());
    }
    let run = Run {
        run: crate::compliance::disclosure::new_id(),
        started_at: warehouse.clock().now_micros(),
        as_of,
        rule: report.rule.clone(),
        students: planned,
        held,
        erased: None,
    };
    if !dry_run {
        run.write(warehouse)?;
    }
    let key = if due.is_empty() { None } else { equality_key(warehouse, &ctx).await? };
    for table in schedule.order() {
        let cutoff = years_before(as_of, schedule.years(table));
        let ids: Vec<String> = due.iter().filter(|d| d.ended_on <= cutoff).map(|d| d.student_id.clone()).collect();
        if ids.is_empty() {
            report.rows.insert(table.to_string(), 0);
            continue;
        }
        let by = schedule.tables[table].by.as_deref().unwrap_or("student_id");
        let values: Vec<String> = if by == "pseudonym" {
            match &key {
                Some(key) => ids.iter().map(|id| key.pseudonym(EQUALITY_PURPOSE, id)).collect(),
                None => vec![],
            }
        } else {
            ids.clone()
        };
        if values.is_empty() {
            report.rows.insert(table.to_string(), 0);
            continue;
        }
        let def = tables::by_name(table).expect("schedule tables exist");
        let rows = if dry_run {
            let frame = ctx.table(table).await.map_err(|e| Error::query(table, e))?;
            frame
                .filter(matching(by, &values))
                .map_err(|e| Error::query(table, e))?
                .count()
                .await
                .map_err(|e| Error::query(table, e))? as u64
        } else {
            let tag = HashMap::from([
                ("rollcall.operation".to_string(), serde_json::Value::from("retention purge")),
                (RUN_KEY.to_string(), serde_json::Value::from(run.run.clone())),
            ]);
            warehouse.delete_tagged(&def, matching(by, &values), tag).await?
        };
        report.rows.insert(table.to_string(), rows);
    }
    report.students = due.into_iter().filter(|d| d.ended_on <= students_cutoff).cloned().collect();
    // Who viewed their pages in the web console goes with them.
    let erased_students: std::collections::HashSet<String> =
        report.students.iter().map(|d| d.student_id.clone()).collect();
    let views = if dry_run {
        erased_students
            .iter()
            .map(|id| crate::compliance::views::of_student(warehouse.root(), id).map(|v| v.len() as u64))
            .sum::<Result<u64>>()?
    } else {
        crate::compliance::views::erase(warehouse.root(), &erased_students)?
    };
    if views > 0 {
        report.rows.insert("console_views".to_string(), views);
    }
    crate::compliance::audit::note("students_undetermined", report.undetermined.len());
    if dry_run {
        return Ok(report);
    }
    // Every erasing commit is made: the counts are kept with the run before the log
    // entries that also hold them are cleaned away.
    let run = Run { erased: Some(report.rows.clone()), ..run };
    run.write(warehouse)?;
    // Physical erasure: superseded files and old log entries go too.
    for table in schedule.order() {
        if !resuming && report.rows.get(table).copied().unwrap_or(0) == 0 {
            continue;
        }
        let def = tables::by_name(table).expect("schedule tables exist");
        report.files_removed += warehouse.vacuum(&def).await?;
        warehouse.clean_log(&def).await?;
    }
    run.record(warehouse, &ctx, &report.rows, "ok").await?;
    let marker = warehouse.root().join(PENDING_FILE);
    std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
    crate::compliance::audit::note("run", run.run.clone());
    crate::compliance::audit::note("students_erased", report.students.len());
    crate::compliance::audit::note("students_held", held);
    crate::compliance::audit::note("rule", report.rule.clone());
    Ok(report)
}

/// The pseudonym key, when the equality table holds anything (erasing it needs the key).
async fn equality_key(warehouse: &Warehouse, ctx: &SessionContext) -> Result<Option<PseudonymKey>> {
    let held = int_at(&queries::collect(ctx, "compliance/equality_held", &[]).await?, "n")?.unwrap_or(0);
    if held == 0 {
        return Ok(None);
    }
    PseudonymKey::load(warehouse).map(Some).map_err(|e| match e {
        Error::Key(message) => Error::Key(format!("erasing the equality table's rows needs the key: {message}")),
        other => other,
    })
}

/// Places or releases a legal hold.
pub async fn hold(warehouse: &Warehouse, student_id: &str, reason: Option<&str>, release: bool) -> Result<String> {
    let _lock = warehouse.lock()?;
    let today = warehouse.clock().today();
    let def = tables::LEGAL_HOLDS;
    if release {
        let predicate = col("student_id").eq(lit(student_id)).and(col("released_on").is_null());
        let released = lit(ScalarValue::Date32(Some(date_to_days(today))));
        let updated = warehouse.update_where(&def, predicate, "released_on", released).await?;
        if updated == 0 {
            return Err(Error::Usage("no legal hold is in force for that student".into()));
        }
        crate::compliance::audit::note("holds_released", updated);
        return Ok(String::new());
    }
    let hold_id = format!("H-{}", &crate::compliance::disclosure::new_id()[..10]);
    let mut hold = vec![
        ("hold_id", row::text(hold_id.clone())),
        ("student_id", row::text(student_id)),
        ("placed_on", row::day(Some(date_to_days(today)))),
        ("recorded_by", row::text(os_user())),
        ("recorded_at", row::instant(Some(warehouse.clock().now_micros()))),
    ];
    hold.extend(reason.map(|r| ("reason", row::text(r))));
    warehouse.append_named(&def, &[hold], "legal hold placed").await?;
    crate::compliance::audit::note("hold_id", hold_id.clone());
    Ok(hold_id)
}

/// Counts, per table, of the rows a set of students has (for dry runs and tests).
pub fn total_rows(report: &Report) -> u64 {
    report.rows.values().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_schedule_covers_every_table_holding_students() {
        let s = Schedule::shipped().unwrap();
        assert_eq!(s.years("ratings"), 6);
        assert_eq!(*s.order().last().unwrap(), "students");
        assert_eq!(s.order()[s.order().len() - 2], "equality");
        let missing = SCHEDULE.replace("ratings = {}\n", "");
        assert!(Schedule::parse(&missing).unwrap_err().to_string().contains("'ratings' holds students"));
        let longer = SCHEDULE.replace("cases = {}", "cases = { years = 10 }");
        assert!(Schedule::parse(&longer).unwrap_err().to_string().contains("students go last"));
    }

    #[test]
    fn retention_dates_count_whole_years() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(years_before(d(2026, 11, 24), 6), d(2020, 11, 24));
        assert_eq!(years_before(d(2028, 2, 29), 6), d(2022, 2, 28));
    }
}
