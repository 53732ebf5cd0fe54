//! Subject access: `rollcall sar STUDENT_ID --out DIR` gathers everything held about one
//! student (or former student) from every table, their ethnicity through the keyed
//! pseudonym, the sessions they were timetabled for, and the audit entries that concern
//! them, as JSON and CSV per table and one human-readable page with the supplementary
//! information the ICO requires. Nothing about any other student is included: rows are
//! selected by the student's own id, and sessions carry no one else's data.

mod page;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use datafusion::prelude::{DataFrame, SessionContext, col, lit};
use datafusion::scalar::ScalarValue;

use crate::engine::cells::int_at;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::privacy::pseudonym::{EQUALITY_PURPOSE, PseudonymKey};
use crate::queries;
use crate::warehouse::row::{self, Cell, Row};
use crate::warehouse::tables::TableDef;
use crate::warehouse::{Warehouse, os_user, tables, write_all_atomically};

/// What was found and written.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The request's id.
    pub request_id: String,
    /// Rows per table, in table order (tables with none left out).
    pub tables: Vec<(String, usize)>,
    /// Files written, index.html first.
    pub files: Vec<PathBuf>,
}

impl Report {
    /// Whether anything is held.
    pub fn held(&self) -> bool {
        !self.tables.is_empty()
    }
}

fn non_empty(batches: Vec<RecordBatch>) -> Vec<RecordBatch> {
    batches.into_iter().filter(|b| b.num_rows() > 0).collect()
}

async fn rows_of(frame: DataFrame, name: &str) -> Result<Vec<RecordBatch>> {
    Ok(non_empty(frame.collect().await.map_err(|e| Error::query(name, e))?))
}

async fn own_rows(ctx: &SessionContext, table: &str, column: &str, value: &str) -> Result<Vec<RecordBatch>> {
    let frame = ctx.table(table).await.map_err(|e| Error::query(table, e))?;
    let frame = frame.filter(col(column).eq(lit(value))).map_err(|e| Error::query(table, e))?;
    rows_of(frame, table).await
}

/// Puts the student's own rows of `table` (already read) in the table's place in `ctx`, so
/// the queries that follow read them from memory instead of the whole table.
async fn own_table(ctx: &SessionContext, table: &str, batches: Vec<RecordBatch>) -> Result<()> {
    let schema = match batches.first() {
        Some(batch) => batch.schema(),
        None => {
            let frame = ctx.table(table).await.map_err(|e| Error::query(table, e))?;
            std::sync::Arc::new(frame.schema().as_arrow().clone())
        }
    };
    session::register_batches(ctx, table, schema, batches)
}

/// The text values of a column across batches.
pub(super) fn strings(batches: &[RecordBatch], column: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for batch in batches {
        if let Some(c) = batch.column_by_name(column) {
            let cast = arrow::compute::cast(c, &DataType::Utf8)?;
            let cast = cast.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
            out.extend(cast.iter().flatten().map(str::to_string));
        }
    }
    Ok(out)
}

/// Rows held about one student, by table (tables with none left out).
type Found = Vec<(String, Vec<RecordBatch>)>;

/// The rows found in one table, if it held any.
fn rows_in<'a>(found: &'a [(String, Vec<RecordBatch>)], table: &str) -> Option<&'a [RecordBatch]> {
    found.iter().find(|(name, _)| name == table).map(|(_, batches)| batches.as_slice())
}

/// Writes the subject-access export of `student_id` to `dir`.
pub async fn export(warehouse: &Warehouse, student_id: &str, dir: &Path) -> Result<Report> {
    let (found, modules) = gather(warehouse, student_id).await?;
    let request_id = format!("SAR-{}", &crate::compliance::disclosure::new_id()[..12]);
    crate::compliance::audit::note("request_id", request_id.clone());
    let audit = audit_entries(warehouse.root(), &audit_refs(&request_id, &found)?)?;
    let report = write_export(warehouse, student_id, dir, &request_id, &found, &audit, &modules)?;
    if !found.is_empty() {
        record_request(warehouse, student_id, &request_id, report.files.len()).await?;
    }
    crate::compliance::audit::note("tables", report.tables.len());
    crate::compliance::audit::note("rows", report.tables.iter().map(|(_, n)| *n as u64).sum::<u64>());
    Ok(report)
}

/// Every row held about the student: their rows in every table with a `student_id`, their
/// ethnicity through the pseudonym, and the sessions they were timetabled for.
async fn gather(warehouse: &Warehouse, student_id: &str) -> Result<(Found, Vec<BTreeMap<String, String>>)> {
    // Rows recorded in the console go to their tables first, unless a job holds the lock
    // (then they are listed as waiting, below).
    if let Some(lock) = warehouse.try_lock()? {
        warehouse.apply_queue(&lock).await?;
    }
    let ctx = session::build(warehouse, Access::Internal { with_equality: true }).await?;
    // Every table with a student_id is read for their rows, side by side on the runtime's
    // threads (each read is a few pages of one table), and listed in table order.
    let reading: Vec<_> = tables::ALL
        .iter()
        .filter(|def| def.column_names().any(|c| c == "student_id"))
        .map(|def| {
            let (ctx, id) = (ctx.clone(), student_id.to_string());
            (def.name, tokio::spawn(async move { own_rows(&ctx, def.name, "student_id", &id).await }))
        })
        .collect();
    let mut found: Found = Vec::new();
    for (name, task) in reading {
        let batches = task.await.map_err(|e| Error::stopped("reading a table for the export", &e))??;
        if !batches.is_empty() {
            found.push((name.to_string(), batches));
        }
    }
    // Ethnicity, through the keyed pseudonym.
    let equality_rows = int_at(&queries::collect(&ctx, "compliance/equality_held", &[]).await?, "n")?.unwrap_or(0);
    if equality_rows > 0 && !found.is_empty() {
        let key = PseudonymKey::load(warehouse).map_err(|e| match e {
            Error::Key(m) => {
                Error::Key(format!("a subject-access export includes ethnicity, which needs the key: {m}"))
            }
            other => other,
        })?;
        let pseudonym = key.pseudonym(EQUALITY_PURPOSE, student_id);
        // Their ethnicity, and which equality releases and extracts counted them.
        for table in ["equality", "equality_populations"] {
            let batches = own_rows(&ctx, table, "pseudonym", &pseudonym).await?;
            if !batches.is_empty() {
                found.push((table.into(), batches));
            }
        }
    }
    // Who viewed their record in the web console.
    let views = crate::compliance::views::of_student(warehouse.root(), student_id)?;
    if !views.is_empty() {
        let column = |f: fn(&crate::compliance::views::View) -> &str| -> arrow::array::ArrayRef {
            std::sync::Arc::new(views.iter().map(|v| Some(f(v))).collect::<StringArray>())
        };
        let batch = RecordBatch::try_from_iter([
            ("viewed_at", column(|v| &v.at)),
            ("viewer", column(|v| &v.viewer)),
            ("role", column(|v| &v.role)),
            ("page", column(|v| &v.page)),
            ("view", column(|v| &v.view)),
        ])
        .map_err(Error::from)?;
        found.push(("console_views".into(), vec![batch]));
    }
    // Rows about them recorded in the console, still waiting for their tables.
    let waiting: Vec<_> = crate::warehouse::queue::pending(warehouse.root())?
        .into_iter()
        .filter(|e| e.text("student_id") == Some(student_id))
        .collect();
    if !waiting.is_empty() {
        let tables: StringArray = waiting.iter().map(|e| Some(e.table.as_str())).collect();
        let cells: StringArray =
            waiting.iter().map(|e| Some(serde_json::to_string(&e.cells).unwrap_or_default())).collect();
        let batch = RecordBatch::try_from_iter([
            ("table", std::sync::Arc::new(tables) as arrow::array::ArrayRef),
            ("row", std::sync::Arc::new(cells) as arrow::array::ArrayRef),
        ])
        .map_err(Error::from)?;
        found.push(("waiting_rows".into(), vec![batch]));
    }
    // The sessions they were timetabled for (sessions hold no one else's data), and their
    // in-person attendance by module for the page, from the rows already gathered: only
    // sessions is read again.
    let mut modules = Vec::new();
    if let Some(class_lists) = rows_in(&found, "class_lists") {
        own_table(&ctx, "class_lists", class_lists.to_vec()).await?;
        let params = [("student_id", ScalarValue::from(student_id))];
        let timetable = non_empty(queries::collect(&ctx, "compliance/sar_timetable", &params).await?);
        own_table(&ctx, "sessions", timetable.clone()).await?;
        let swipe_outcomes = rows_in(&found, "swipe_outcomes").map(<[RecordBatch]>::to_vec);
        own_table(&ctx, "swipe_outcomes", swipe_outcomes.unwrap_or_default()).await?;
        session::register_view(&ctx, "views/attendance", &[]).await?;
        let params = [
            ("student_id", ScalarValue::from(student_id)),
            ("until", crate::engine::cells::date(crate::domain::time::date_to_days(warehouse.clock().today()))),
        ];
        for batch in queries::collect(&ctx, "console/student_modules", &params).await? {
            let schema = batch.schema();
            for r in 0..batch.num_rows() {
                let row = schema
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .map(|(f, c)| {
                        let text = arrow::util::display::array_value_to_string(c, r).unwrap_or_default();
                        (f.name().clone(), text)
                    })
                    .collect();
                modules.push(row);
            }
        }
        if !timetable.is_empty() {
            found.push(("timetable".into(), timetable));
        }
    }
    Ok((found, modules))
}

/// The ids audit entries about the student carry: this request's, and those of their
/// earlier requests, disclosures, consents and holds.
fn audit_refs(request_id: &str, found: &Found) -> Result<Vec<String>> {
    let mut refs: Vec<String> = vec![request_id.to_string()];
    for (table, column) in [
        ("disclosures", "disclosure_id"),
        ("consents", "consent_id"),
        ("legal_holds", "hold_id"),
        ("sar_requests", "request_id"),
    ] {
        if let Some(batches) = rows_in(found, table) {
            refs.extend(strings(batches, column)?);
        }
    }
    Ok(refs)
}

/// Writes `subject-access.json`, `index.html` and a CSV and JSON file per table.
fn write_export(
    warehouse: &Warehouse,
    student_id: &str,
    dir: &Path,
    request_id: &str,
    found: &Found,
    audit: &[serde_json::Value],
    modules: &[BTreeMap<String, String>],
) -> Result<Report> {
    let data = dir.join("data");
    crate::warehouse::create_private_dir(&data)?;
    // Every file is written, then all are synced together and put in place.
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut report = Report { request_id: request_id.to_string(), ..Report::default() };
    // subject-access.json is assembled from the tables' JSON as written, not parsed again.
    let mut everything: Vec<(String, String)> = Vec::new();
    for (name, batches) in found {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        report.tables.push((name.clone(), rows));
        let csv_path = data.join(format!("{name}.csv"));
        let mut csv = arrow::csv::WriterBuilder::new().with_header(true).build(Vec::new());
        for b in batches {
            // Values from other systems never run as formulas when the file is opened.
            csv.write(&crate::engine::cells::neutralise(b)?)?;
        }
        files.push((csv_path.clone(), csv.into_inner()));
        let json = json_array(batches)?;
        let json_path = data.join(format!("{name}.json"));
        files.push((json_path.clone(), format!("{json}\n").into_bytes()));
        everything.push((name.clone(), json));
        report.files.push(csv_path);
        report.files.push(json_path);
    }
    if !audit.is_empty() {
        report.tables.push(("audit".into(), audit.len()));
        let path = data.join("audit.json");
        let value = serde_json::to_string_pretty(audit).expect("json");
        files.push((path.clone(), value.clone().into_bytes()));
        everything.push(("audit".into(), value));
        report.files.push(path);
    }
    let text = |value: &str| serde_json::to_string(value).expect("json");
    let mut document = format!(
        "{{\n\"request_id\": {},\n\"generated_at\": {},\n\"data_held\": {},\n\"tables\": {{",
        text(request_id),
        text(&warehouse.clock().now().to_rfc3339()),
        !found.is_empty()
    );
    for (i, (name, json)) in everything.iter().enumerate() {
        let comma = if i > 0 { "," } else { "" };
        let _ = write!(document, "{comma}\n{}: {json}", text(name));
    }
    document.push_str("\n}\n}\n");
    let all = dir.join("subject-access.json");
    files.push((all.clone(), document.into_bytes()));
    report.files.insert(0, all);
    let held = page::Held {
        student_id,
        request_id,
        produced: warehouse.clock().today(),
        basis: warehouse.config().privacy.lawful_basis,
        found,
        audit,
        modules,
    };
    let shown = page::Shown {
        tz: warehouse.config().tz().map_err(Error::Usage)?,
        staff_names: warehouse.config().privacy.sar_staff_names,
    };
    for (i, (name, html)) in page::pages(&held, &shown).into_iter().enumerate() {
        let path = dir.join(&name);
        files.push((path.clone(), html.into_bytes()));
        // The summary page first, the further pages after the data files.
        if i == 0 { report.files.insert(0, path) } else { report.files.push(path) }
    }
    write_all_atomically(&files)?;
    Ok(report)
}

/// A table's rows as a JSON array, one row to a line (JSON text never holds a raw line
/// break, so each row's line is whole).
fn json_array(batches: &[RecordBatch]) -> Result<String> {
    let mut lines = arrow::json::LineDelimitedWriter::new(Vec::new());
    for b in batches {
        lines.write(b)?;
    }
    lines.finish()?;
    let text =
        String::from_utf8(lines.into_inner()).map_err(|_| Error::Internal("a table's JSON was not UTF-8".into()))?;
    let rows: Vec<&str> = text.lines().collect();
    Ok(if rows.is_empty() { "[]".into() } else { format!("[\n{}\n]", rows.join(",\n")) })
}

/// One `sar_requests` row.
struct Request<'a> {
    request_id: &'a str,
    student_id: &'a str,
    made_at: i64,
    files: usize,
}

impl Row for Request<'_> {
    const TABLE: TableDef = tables::SAR_REQUESTS;

    fn cells(&self) -> Vec<Cell> {
        vec![
            ("request_id", row::text(self.request_id)),
            ("student_id", row::text(self.student_id)),
            ("made_at", row::instant(Some(self.made_at))),
            ("made_by", row::text(os_user())),
            ("files", row::int(self.files as i64)),
        ]
    }
}

/// Records the request in `sar_requests`: at once if no job holds the warehouse lock, else
/// through the queue the next job applies (an export never waits for a batch job).
async fn record_request(warehouse: &Warehouse, student_id: &str, request_id: &str, files: usize) -> Result<()> {
    let made_at = warehouse.clock().now_micros();
    let request = Request { request_id, student_id, made_at, files };
    warehouse.enqueue(&tables::SAR_REQUESTS, &crate::warehouse::row::Row::cells(&request))?;
    if let Some(lock) = warehouse.try_lock()? {
        warehouse.create_missing_tables().await?;
        warehouse.apply_queue(&lock).await?;
    }
    Ok(())
}

fn audit_entries(root: &Path, refs: &[String]) -> Result<Vec<serde_json::Value>> {
    let log = root.join(crate::compliance::audit::LOG_FILE);
    let Ok(text) = std::fs::read_to_string(&log) else { return Ok(vec![]) };
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let details = entry.get("details").map(|d| d.to_string()).unwrap_or_default();
        if refs.iter().any(|r| details.contains(r.as_str())) {
            out.push(entry);
        }
    }
    Ok(out)
}
