//! Subject access: `rollcall sar STUDENT_ID --out DIR` gathers everything held about one
//! student (or former student) from every table, their ethnicity through the keyed
//! pseudonym, the sessions they were timetabled for, and the audit entries that concern
//! them, as JSON and CSV per table and one human-readable page with the supplementary
//! information the ICO requires. Nothing about any other student is included: rows are
//! selected by the student's own id, and sessions carry no one else's data.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::DataType;
use datafusion::prelude::{DataFrame, SessionContext, col, lit};

use crate::domain::html::{STYLE, escape};
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::privacy::pseudonym::{EQUALITY_PURPOSE, PseudonymKey};
use crate::warehouse::{Warehouse, os_user, tables, write_atomically};

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

/// Where each category of data comes from, and why it is held.
fn source_of(table: &str) -> (&'static str, &'static str) {
    match table {
        "students" => ("the student records system", "administering your studies"),
        "equality" => {
            ("the student records system (ethnicity, held under a pseudonym)", "equality monitoring in aggregate")
        }
        "class_lists" | "timetable" => ("the timetabling system", "knowing which sessions you were expected at"),
        "swipes" | "swipe_outcomes" => ("card readers at teaching rooms", "recording attendance"),
        "activity" => ("the VLE, lecture capture, library, PC and online-meeting systems", "measuring engagement"),
        "absences" => ("absences you or staff reported", "excusing sessions"),
        "daily_activity" | "daily_attendance" | "ratings" => {
            ("worked out by Rollcall from the above", "engagement monitoring and support")
        }
        "cases" | "case_events" => {
            ("raised by Rollcall's review and recorded by staff", "contacting and supporting you")
        }
        "ukvi_reports" => ("Rollcall's Home Office return", "the university's duties as a visa sponsor"),
        "disclosures" => ("the disclosure log", "accountability for what was shared"),
        "consents" => ("your written authorisations", "sharing your data as you asked"),
        "legal_holds" => ("the data-protection office", "keeping data needed for legal claims"),
        "sar_requests" => ("earlier subject-access requests", "accountability"),
        "audit" => ("Rollcall's audit trail", "accountability"),
        _ => ("Rollcall", "engagement monitoring"),
    }
}

async fn rows_of(frame: DataFrame, name: &str) -> Result<Vec<RecordBatch>> {
    let batches = frame.collect().await.map_err(|e| Error::query(name, e))?;
    Ok(batches.into_iter().filter(|b| b.num_rows() > 0).collect())
}

async fn own_rows(ctx: &SessionContext, table: &str, column: &str, value: &str) -> Result<Vec<RecordBatch>> {
    let frame = ctx.table(table).await.map_err(|e| Error::query(table, e))?;
    let frame = frame.filter(col(column).eq(lit(value))).map_err(|e| Error::query(table, e))?;
    rows_of(frame, table).await
}

fn strings(batches: &[RecordBatch], column: &str) -> Result<Vec<String>> {
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

/// Writes the subject-access export of `student_id` to `dir`.
pub async fn export(warehouse: &Warehouse, student_id: &str, dir: &Path) -> Result<Report> {
    let ctx = session::build(warehouse, Access::Internal { with_equality: true }).await?;
    let mut found: Vec<(String, Vec<RecordBatch>)> = Vec::new();
    for def in tables::ALL {
        if def.column_names().any(|c| c == "student_id") {
            let batches = own_rows(&ctx, def.name, "student_id", student_id).await?;
            if !batches.is_empty() {
                found.push((def.name.to_string(), batches));
            }
        }
    }
    // Ethnicity, through the keyed pseudonym.
    let equality_rows = ctx
        .table("equality")
        .await
        .map_err(|e| Error::query("equality", e))?
        .count()
        .await
        .map_err(|e| Error::query("equality", e))?;
    if equality_rows > 0 && !found.is_empty() {
        let key = PseudonymKey::load(warehouse).map_err(|e| match e {
            Error::Key(m) => {
                Error::Key(format!("a subject-access export includes ethnicity, which needs the key: {m}"))
            }
            other => other,
        })?;
        let batches = own_rows(&ctx, "equality", "pseudonym", &key.pseudonym(EQUALITY_PURPOSE, student_id)).await?;
        if !batches.is_empty() {
            found.push(("equality".into(), batches));
        }
    }
    // The sessions they were timetabled for (sessions hold no one else's data).
    if let Some((_, lists)) = found.iter().find(|(n, _)| n == "class_lists") {
        let sessions = strings(lists, "session_id")?;
        let frame = ctx.table("sessions").await.map_err(|e| Error::query("sessions", e))?;
        let frame = frame
            .filter(col("session_id").in_list(sessions.iter().map(|s| lit(s.as_str())).collect(), false))
            .map_err(|e| Error::query("sessions", e))?;
        let batches = rows_of(frame, "sessions").await?;
        if !batches.is_empty() {
            found.push(("timetable".into(), batches));
        }
    }

    let request_id = format!("SAR-{}", &crate::compliance::disclosure::new_id()[..12]);
    crate::compliance::audit::note("request_id", request_id.clone());
    // Audit entries that concern them: those naming their requests, disclosures, consents, holds.
    let mut refs: Vec<String> = vec![request_id.clone()];
    for (table, column) in [
        ("disclosures", "disclosure_id"),
        ("consents", "consent_id"),
        ("legal_holds", "hold_id"),
        ("sar_requests", "request_id"),
    ] {
        if let Some((_, batches)) = found.iter().find(|(n, _)| n == table) {
            refs.extend(strings(batches, column)?);
        }
    }
    let audit = audit_entries(warehouse.root(), &refs)?;

    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|e| Error::io(&data, e))?;
    let mut report = Report { request_id: request_id.clone(), ..Report::default() };
    let mut everything = serde_json::Map::new();
    for (name, batches) in &found {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        report.tables.push((name.clone(), rows));
        let csv_path = data.join(format!("{name}.csv"));
        let mut csv = arrow::csv::WriterBuilder::new().with_header(true).build(Vec::new());
        for b in batches {
            csv.write(b)?;
        }
        write_atomically(&csv_path, &csv.into_inner())?;
        let mut json = arrow::json::ArrayWriter::new(Vec::new());
        for b in batches {
            json.write(b)?;
        }
        json.finish()?;
        let bytes = json.into_inner();
        let bytes = if bytes.is_empty() { b"[]".to_vec() } else { bytes };
        everything.insert(name.clone(), serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null));
        let json_path = data.join(format!("{name}.json"));
        write_atomically(&json_path, &bytes)?;
        report.files.push(csv_path);
        report.files.push(json_path);
    }
    if !audit.is_empty() {
        report.tables.push(("audit".into(), audit.len()));
        let path = data.join("audit.json");
        let value = serde_json::Value::Array(audit.clone());
        write_atomically(&path, serde_json::to_string_pretty(&value).expect("json").as_bytes())?;
        everything.insert("audit".into(), value);
        report.files.push(path);
    }
    let held = !found.is_empty();
    let document = serde_json::json!({
        "request_id": request_id,
        "generated_at": warehouse.clock().now().to_rfc3339(),
        "data_held": held,
        "tables": everything,
    });
    let all = dir.join("subject-access.json");
    write_atomically(&all, serde_json::to_string_pretty(&document).expect("json").as_bytes())?;
    report.files.insert(0, all);
    let index = dir.join("index.html");
    write_atomically(&index, page(student_id, &request_id, &found, &audit).as_bytes())?;
    report.files.insert(0, index);

    if held {
        let _lock = warehouse.lock()?;
        let def = tables::SAR_REQUESTS;
        let batch = RecordBatch::try_new(
            def.schema(),
            vec![
                Arc::new(StringArray::from(vec![request_id])),
                Arc::new(StringArray::from(vec![student_id.to_string()])),
                Arc::new(TimestampMicrosecondArray::from(vec![warehouse.clock().now_micros()]).with_timezone("UTC")),
                Arc::new(StringArray::from(vec![os_user()])),
                Arc::new(Int64Array::from(vec![report.files.len() as i64])),
            ],
        )?;
        warehouse.append(&def, vec![batch], "subject-access export").await?;
    }
    crate::compliance::audit::note("tables", report.tables.len());
    crate::compliance::audit::note("rows", report.tables.iter().map(|(_, n)| *n as u64).sum::<u64>());
    Ok(report)
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

fn cell_text(batch: &RecordBatch, column: usize, row: usize) -> String {
    arrow::compute::cast(batch.column(column), &DataType::Utf8)
        .ok()
        .and_then(|a| {
            let a = a.as_any().downcast_ref::<StringArray>()?.clone();
            a.is_valid(row).then(|| a.value(row).to_string())
        })
        .unwrap_or_default()
}

const SHOWN_ROWS: usize = 200;

fn page(
    student_id: &str,
    request_id: &str,
    found: &[(String, Vec<RecordBatch>)],
    audit: &[serde_json::Value],
) -> String {
    let mut body = String::new();
    if found.is_empty() {
        body.push_str(
            "<p><strong>No personal data is held about this identifier.</strong> Rollcall searched every table it keeps \
             and found no record. Either no data was ever held, or it was erased under the retention schedule.</p>",
        );
    } else {
        let schedule = crate::compliance::retention::Schedule::shipped().ok();
        let years = schedule.as_ref().map(|s| s.default_years).unwrap_or(6);
        let recipients: Vec<String> = found
            .iter()
            .find(|(n, _)| n == "disclosures")
            .map(|(_, b)| {
                let mut r = strings(b, "recipient").unwrap_or_default();
                r.sort();
                r.dedup();
                r
            })
            .unwrap_or_default();
        let _ = write!(
            body,
            "<h2>About this information</h2>\
             <dl>\
             <dt>Why we hold it</dt><dd>To monitor attendance and engagement so that students who may need support are \
             contacted early (the university's public task of education, and its legal obligations as a Student-visa \
             sponsor and to funding bodies). Ethnicity is held only for equality monitoring in aggregate, under the \
             Equality Act 2010 (substantial public interest); it is never used for any decision about you.</dd>\
             <dt>Categories</dt><dd>{categories}</dd>\
             <dt>Recipients</dt><dd>{recipients}</dd>\
             <dt>How long we keep it</dt><dd>{years} years after your studies end (the completion date, or the date a \
             withdrawal took effect); then it is erased from every table, physically.</dd>\
             <dt>Your rights</dt><dd>You may ask for it to be corrected, object to its use, or complain to the \
             Information Commissioner's Office (ico.org.uk).</dd>\
             </dl>\
             <h2>How your engagement rating was worked out</h2>\
             <p>Each teaching day, Rollcall looks back over a window of days (see <code>window_days</code> in each \
             rating row). Where sessions were timetabled for you, part of the score is the share you attended (card \
             swipes at the room, within the session's window; authorised absences excused). The rest comes from \
             activity points (VLE, lecture capture, library, PC logins, online meetings, submissions) against a \
             daily expectation. The score places the day in a band from Very Low to High. Ratings only highlight where \
             staff should look: <strong>no decision about you rests on a rating alone</strong>; a member of staff \
             reviews every case and talks to you first.</p>",
            categories = escape(&found.iter().map(|(n, _)| n.replace('_', " ")).collect::<Vec<_>>().join(", ")),
            recipients =
                if recipients.is_empty() { "none recorded".to_string() } else { escape(&recipients.join("; ")) },
        );
        for (name, batches) in found {
            let (source, purpose) = source_of(name);
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let _ = write!(
                body,
                "<section><h2>{} ({rows} row{})</h2><p>Source: {}. Purpose: {}. All rows: <code>data/{}.csv</code> and \
                 <code>data/{}.json</code>.</p>",
                escape(&name.replace('_', " ")),
                if rows == 1 { "" } else { "s" },
                escape(source),
                escape(purpose),
                escape(name),
                escape(name)
            );
            let schema = batches[0].schema();
            body.push_str("<table><thead><tr>");
            for f in schema.fields() {
                let _ = write!(body, "<th>{}</th>", escape(&f.name().replace('_', " ")));
            }
            body.push_str("</tr></thead><tbody>");
            let mut shown = 0;
            'rows: for b in batches {
                for r in 0..b.num_rows() {
                    if shown == SHOWN_ROWS {
                        break 'rows;
                    }
                    body.push_str("<tr>");
                    for c in 0..b.num_columns() {
                        let _ = write!(body, "<td>{}</td>", escape(&cell_text(b, c, r)));
                    }
                    body.push_str("</tr>");
                    shown += 1;
                }
            }
            body.push_str("</tbody></table>");
            if rows > SHOWN_ROWS {
                let _ =
                    write!(body, "<p>The first {SHOWN_ROWS} of {rows} rows are shown; the files hold them all.</p>");
            }
            body.push_str("</section>");
        }
        if !audit.is_empty() {
            let _ = write!(
                body,
                "<section><h2>Audit trail ({} entries)</h2><p>Jobs that concerned you by name: <code>data/audit.json</code>.</p></section>",
                audit.len()
            );
        }
    }
    format!(
        "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Subject access {request}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}dt{{font-weight:bold;margin-top:.5rem}}section{{overflow-x:auto}}</style></head><body>\
         <h1>Your data held in Rollcall</h1><p>Student {id}; request {request}; produced {date}. A machine-readable copy \
         is in <code>subject-access.json</code> and <code>data/</code> (CSV and JSON per table).</p>{body}\
         </body></html>\n",
        id = escape(student_id),
        request = escape(request_id),
        date = chrono::Local::now().format("%Y-%m-%d"),
    )
}
