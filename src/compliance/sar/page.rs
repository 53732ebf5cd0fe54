//! The subject-access pages a student can read: the data held, table by table, with the
//! supplementary information the ICO requires (purposes, sources, recipients, retention,
//! how the rating is worked out). Times are local (the warehouse's time zone), scores
//! rounded, rows newest first, columns under plain names; the rating over time is a chart
//! and in-person attendance is summed by module. Every row is shown: a table longer than a
//! page continues on pages of its own (`pages/TABLE-N.html`), linked from the first. Who
//! recorded or viewed something is named only where the configuration allows
//! (`[privacy] sar_staff_names`); the machine-readable files (`data/`, and
//! `subject-access.json`) hold every value as stored.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, TimeUnit};
use chrono_tz::Tz;

use super::{rows_in, strings};
use crate::domain::html::{STYLE, escape};

/// Rows per page.
const PAGE_ROWS: usize = 100;

/// Where each category of data comes from, and why it is held.
fn source_of(table: &str) -> (&'static str, &'static str) {
    match table {
        "students" => ("the student records system", "administering your studies"),
        "equality_populations" => (
            "Rollcall (which equality releases and extracts counted the student, under the pseudonym)",
            "preventing one release or extract from being subtracted from another",
        ),
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
        "cases" | "case_events" | "case_decisions" | "case_meetings" => {
            ("raised by Rollcall's review and recorded by staff", "contacting and supporting you")
        }
        "outbox" | "mail_log" => ("e-mails Rollcall sent you", "contacting and supporting you"),
        "ukvi_reports" => ("Rollcall's Home Office return", "the university's duties as a visa sponsor"),
        "disclosures" => ("the disclosure log", "accountability for what was shared"),
        "consents" => ("your written authorisations", "sharing your data as you asked"),
        "legal_holds" => ("the data-protection office", "keeping data needed for legal claims"),
        "sar_requests" | "sar_log" => ("earlier subject-access requests", "accountability"),
        "console_views" => ("the web console's log of who opened your page", "accountability"),
        "waiting_rows" => ("entries made in the web console, waiting to be written", "as for their table"),
        "audit" => ("Rollcall's audit trail", "accountability"),
        _ => ("Rollcall", "engagement monitoring"),
    }
}

/// Plain names for the tables.
fn table_title(table: &str) -> String {
    let title = match table {
        "students" => "Your student record",
        "class_lists" => "Your class lists",
        "timetable" => "Sessions you were timetabled for",
        "swipes" => "Card swipes",
        "swipe_outcomes" => "What each card swipe counted as",
        "activity" => "Online activity",
        "absences" => "Absences",
        "status_periods" => "Periods of a different status (placement, abroad, intermission)",
        "daily_activity" => "Online activity per day",
        "daily_attendance" => "Attendance per day",
        "ratings" => "Engagement ratings",
        "cases" => "Cases raised for staff to contact you",
        "case_events" => "What staff recorded on your cases",
        "case_decisions" => "Decisions on your cases and appeals",
        "case_meetings" => "Meetings about your cases",
        "outbox" => "E-mails sent to you about your engagement",
        "mail_log" => "When each e-mail was sent",
        "ukvi_reports" => "Events reported to the Home Office",
        "disclosures" => "Your data shared with others",
        "consents" => "Your consents to share",
        "legal_holds" => "Legal holds",
        "sar_requests" => "Earlier subject-access exports",
        "sar_log" => "Your subject-access requests",
        "equality" => "Ethnicity (for equality monitoring only)",
        "equality_populations" => "Equality releases that counted you",
        "console_views" => "Who viewed your record in the web console",
        "waiting_rows" => "Entries waiting to be written",
        "student_id_map" => "Your identifiers in other systems",
        other => return sentence(other),
    };
    title.to_string()
}

/// Plain names for columns; any other is its name as words.
const COLUMNS: &[(&str, &str)] = &[
    ("student_id", "Student number"),
    ("day", "Day"),
    ("rating", "Rating"),
    ("score", "Score"),
    ("window_days", "Days looked at"),
    ("attended", "Sessions attended"),
    ("expected", "Sessions expected"),
    ("vle", "VLE events"),
    ("lecture_capture", "Lecture recordings watched"),
    ("library", "Library visits"),
    ("pc_login", "PC log-ins"),
    ("online_meeting", "Online meetings"),
    ("submission", "Submissions"),
    ("records_login", "Student-records log-ins"),
    ("events", "Events"),
    ("session_id", "Session"),
    ("module_code", "Module"),
    ("starts_at", "Starts"),
    ("ends_at", "Ends"),
    ("swiped_at", "Swiped at"),
    ("occurred_at", "When"),
    ("ingested_at", "Received by Rollcall"),
    ("recorded_at", "Recorded at"),
    ("recorded_by", "Recorded by"),
    ("recorded_on", "On"),
    ("raised_on", "Raised on"),
    ("made_at", "Made at"),
    ("made_by", "Made by"),
    ("viewed_at", "Viewed at"),
    ("viewer", "Viewed by"),
    ("case_id", "Case"),
    ("action", "Step"),
    ("reason", "Why"),
    ("outcome", "Outcome"),
    ("note", "Note"),
    ("starts_on", "From"),
    ("ends_on", "To"),
    ("kind", "Kind"),
    ("academic_year", "Academic year"),
    ("disclosed_on", "Shared on"),
    ("recipient", "Shared with"),
    ("legal_basis", "Legal basis"),
    ("fields", "What was shared"),
    ("trigger_date", "Event date"),
    ("reported_on", "Reported on"),
    ("priority_flags", "Priority"),
    ("personal_tutor", "Personal tutor"),
];

/// A column's plain name.
fn column_title(name: &str) -> String {
    COLUMNS.iter().find(|(n, _)| *n == name).map(|(_, t)| t.to_string()).unwrap_or_else(|| sentence(name))
}

/// `some_name` as `Some name`.
fn sentence(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

/// Columns naming who recorded or viewed something.
const STAFF_COLUMNS: &[&str] = &["recorded_by", "made_by", "viewer"];

/// How the pages show values.
pub(super) struct Shown {
    /// The warehouse's time zone.
    pub tz: Tz,
    /// Whether staff are named.
    pub staff_names: bool,
}

impl Shown {
    /// A column of a page's rows made ready to show: cast once (the pages show times in
    /// the warehouse's zone, numbers rounded, the rest as text), then read row by row.
    fn column(&self, name: &str, column: &ArrayRef) -> ShownColumn {
        let hidden = STAFF_COLUMNS.contains(&name) && !self.staff_names;
        let (kind, to) = match column.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, _) => (Kind::Time, DataType::Int64),
            DataType::Float64 | DataType::Float32 => (Kind::Number, DataType::Float64),
            _ => (Kind::Text, DataType::Utf8),
        };
        let values = arrow::compute::cast(column, &to).ok();
        ShownColumn { hidden, kind, values, tz: self.tz }
    }
}

/// How a column's values are shown.
enum Kind {
    Time,
    Number,
    Text,
}

/// A column of a page's rows, cast once for showing.
struct ShownColumn {
    /// A staff column shown without names.
    hidden: bool,
    kind: Kind,
    /// The values cast for `kind` (`None` if they could not be: shown empty).
    values: Option<ArrayRef>,
    tz: Tz,
}

impl ShownColumn {
    /// Row `row`'s value as the pages show it.
    fn cell(&self, row: usize) -> String {
        let Some(values) = self.values.as_ref().filter(|v| v.is_valid(row)) else { return String::new() };
        if self.hidden {
            return "a member of staff".into();
        }
        match self.kind {
            Kind::Time => values
                .as_primitive_opt::<arrow::datatypes::Int64Type>()
                .and_then(|a| chrono::DateTime::from_timestamp_micros(a.value(row)))
                .map(|t| t.with_timezone(&self.tz).format("%Y-%m-%d %H:%M %Z").to_string())
                .unwrap_or_default(),
            Kind::Number => {
                let value =
                    values.as_primitive_opt::<arrow::datatypes::Float64Type>().map_or(f64::NAN, |a| a.value(row));
                let text = format!("{value:.2}");
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            }
            Kind::Text => values.as_string_opt::<i32>().map(|a| a.value(row).to_string()).unwrap_or_default(),
        }
    }
}

/// A table's rows in one batch, newest first (by its first date or time column).
fn newest_first(batches: &[RecordBatch]) -> Option<RecordBatch> {
    let schema = batches.first()?.schema();
    let batch = arrow::compute::concat_batches(&schema, batches).ok()?;
    let by = schema.fields().iter().position(|f| matches!(f.data_type(), DataType::Date32 | DataType::Timestamp(_, _)));
    let Some(by) = by else { return Some(batch) };
    let order = SortOptions { descending: true, nulls_first: false };
    let indices = arrow::compute::sort_to_indices(batch.column(by), Some(order), None).ok()?;
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c, &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .ok()?;
    RecordBatch::try_new(schema, columns).ok()
}

/// Rows `from..to` of a table as an HTML table.
fn table_html(shown: &Shown, batch: &RecordBatch, from: usize, to: usize) -> String {
    let mut html = String::from("<table><thead><tr>");
    let schema = batch.schema();
    for f in schema.fields() {
        let _ = write!(html, "<th scope=\"col\">{}</th>", escape(&column_title(f.name())));
    }
    html.push_str("</tr></thead><tbody>");
    // Each column of the page's rows is cast once, not once a cell.
    let to = to.min(batch.num_rows());
    let page = batch.slice(from.min(to), to - from.min(to));
    let columns: Vec<(bool, ShownColumn)> = schema
        .fields()
        .iter()
        .zip(page.columns())
        .map(|(f, column)| (f.data_type().is_numeric(), shown.column(f.name(), column)))
        .collect();
    for r in 0..page.num_rows() {
        html.push_str("<tr>");
        for (numeric, column) in &columns {
            let class = if *numeric { " class=\"num\"" } else { "" };
            let _ = write!(html, "<td{class}>{}</td>", escape(&column.cell(r)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}{chart}\
         dt{{font-weight:bold;margin-top:.5rem}}section{{overflow-x:auto}}nav.pages a{{margin-right:1rem}}</style></head>\
         <body>{body}</body></html>\n",
        title = escape(title),
        chart = crate::report::rating_chart::STYLE,
    )
}

/// What the pages are made from.
pub(super) struct Held<'a> {
    /// The student.
    pub student_id: &'a str,
    /// The request.
    pub request_id: &'a str,
    /// The day of the export.
    pub produced: chrono::NaiveDate,
    /// The lawful basis in the privacy notice.
    pub basis: crate::domain::terms::LawfulBasis,
    /// Rows by table.
    pub found: &'a [(String, Vec<RecordBatch>)],
    /// Audit entries about the student.
    pub audit: &'a [serde_json::Value],
    /// In-person attendance by module (module_code, timetabled, attended, percent).
    pub modules: &'a [BTreeMap<String, String>],
}

/// The pages: `index.html` first, then any further pages of long tables, as (path inside
/// the export, HTML).
pub(super) fn pages(held: &Held<'_>, shown: &Shown) -> Vec<(String, String)> {
    let mut body = String::new();
    let mut more = Vec::new();
    if held.found.is_empty() {
        body.push_str(
            "<p><strong>No personal data is held about this identifier.</strong> Rollcall searched every table it keeps \
             and found no record. Either no data was ever held, or it was erased under the retention schedule.</p>",
        );
    } else {
        about(&mut body, held);
        chart_and_modules(&mut body, held);
        for (name, batches) in held.found {
            let Some(batch) = newest_first(batches) else { continue };
            let rows = batch.num_rows();
            let (source, purpose) = source_of(name);
            let title = table_title(name);
            let page_count = rows.div_ceil(PAGE_ROWS).max(1);
            let _ = write!(
                body,
                "<section><h2 id=\"{id}\">{title} ({rows} row{s})</h2><p>Source: {source}. Purpose: {purpose}. \
                 Newest first. As stored: <code>data/{id}.csv</code> and <code>data/{id}.json</code>.</p>{table}",
                id = escape(name),
                title = escape(&title),
                s = if rows == 1 { "" } else { "s" },
                source = escape(source),
                purpose = escape(purpose),
                table = table_html(shown, &batch, 0, PAGE_ROWS),
            );
            if page_count > 1 {
                body.push_str("<nav class=\"pages\" aria-label=\"More rows\"><p>");
                for n in 2..=page_count {
                    let _ = write!(
                        body,
                        "<a href=\"pages/{}-{n}.html\">Rows {} to {}</a>",
                        escape(name),
                        (n - 1) * PAGE_ROWS + 1,
                        (n * PAGE_ROWS).min(rows)
                    );
                }
                body.push_str("</p></nav>");
                for n in 2..=page_count {
                    more.push((
                        format!("pages/{name}-{n}.html"),
                        table_page(shown, name, &title, &batch, n, page_count),
                    ));
                }
            }
            body.push_str("</section>");
        }
        if !held.audit.is_empty() {
            let _ = write!(
                body,
                "<section><h2>Audit trail ({} entries)</h2><p>Jobs that concerned you by name: <code>data/audit.json</code>.</p></section>",
                held.audit.len()
            );
        }
    }
    let index = format!(
        "<h1>Your data held in Rollcall</h1><p>Student {id}; request {request}; produced {date}. Times are {tz} time. \
         A machine-readable copy is in <code>subject-access.json</code> and <code>data/</code> (CSV and JSON per \
         table, every value as stored).</p>{body}",
        id = escape(held.student_id),
        request = escape(held.request_id),
        date = held.produced,
        tz = escape(shown.tz.name()),
    );
    let mut out = vec![("index.html".to_string(), document(&format!("Subject access {}", held.request_id), &index))];
    out.extend(more);
    out
}

fn table_page(shown: &Shown, name: &str, title: &str, batch: &RecordBatch, n: usize, pages: usize) -> String {
    let mut nav =
        String::from("<nav class=\"pages\" aria-label=\"Pages\"><p><a href=\"../index.html\">Back to the summary</a>");
    if n > 2 {
        let _ = write!(nav, "<a href=\"{}-{}.html\">Newer rows</a>", escape(name), n - 1);
    }
    if n < pages {
        let _ = write!(nav, "<a href=\"{}-{}.html\">Older rows</a>", escape(name), n + 1);
    }
    nav.push_str("</p></nav>");
    let body = format!(
        "<h1>{title}</h1><p>Page {n} of {pages}: rows {} to {} of {}, newest first.</p>{nav}{}{nav}",
        (n - 1) * PAGE_ROWS + 1,
        (n * PAGE_ROWS).min(batch.num_rows()),
        batch.num_rows(),
        table_html(shown, batch, (n - 1) * PAGE_ROWS, n * PAGE_ROWS),
        title = escape(title),
    );
    document(title, &body)
}

fn about(body: &mut String, held: &Held<'_>) {
    let schedule = crate::compliance::retention::Schedule::shipped().ok();
    let years = schedule.as_ref().map(|s| s.default_years).unwrap_or(6);
    let recipients: Vec<String> = rows_in(held.found, "disclosures")
        .map(|b| {
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
         contacted early, on the basis of {basis}; and to meet the university's legal obligations as a Student-visa \
         sponsor and to funding bodies. Ethnicity is held only for equality monitoring in aggregate, under the \
         Equality Act 2010 (substantial public interest); it is never used for any decision about you.</dd>\
         <dt>Categories</dt><dd>{categories}</dd>\
         <dt>Recipients</dt><dd>{recipients}</dd>\
         <dt>How long we keep it</dt><dd>{years} years after your studies end (the completion date, or the date a \
         withdrawal took effect); then it is erased from every table, physically.</dd>\
         <dt>Your rights</dt><dd>You may ask for it to be corrected, object to its use, or complain to the \
         Information Commissioner's Office (ico.org.uk).</dd>\
         </dl>\
         <h2>How your engagement rating was worked out</h2>\
         <p>Each teaching day, Rollcall looks back over a window of days (the \"days looked at\" of each rating). \
         Where sessions were timetabled for you, part of the score is the share you attended (card swipes at the \
         room, within the session's window; authorised absences excused). The rest comes from activity points (VLE, \
         lecture capture, library, PC logins, online meetings, submissions) against a daily expectation. The score \
         places the day in a band from Very Low to High. Ratings only highlight where staff should look: \
         <strong>no decision about you rests on a rating alone</strong>; a member of staff reviews every case and \
         talks to you first.</p>",
        basis = escape(held.basis.to_student()),
        categories = escape(&held.found.iter().map(|(n, _)| table_title(n)).collect::<Vec<_>>().join("; ")),
        recipients = if recipients.is_empty() { "none recorded".to_string() } else { escape(&recipients.join("; ")) },
    );
}

/// The rating over time, as a chart, and attendance by module.
fn chart_and_modules(body: &mut String, held: &Held<'_>) {
    if let Some(batches) = rows_in(held.found, "ratings")
        && let Some(batch) = newest_first(batches)
    {
        let days = arrow::compute::cast(batch.column_by_name("day").expect("ratings have days"), &DataType::Utf8);
        let ratings = batch.column_by_name("rating").map(|c| arrow::compute::cast(c, &DataType::Utf8));
        if let (Ok(days), Some(Ok(ratings))) = (days, ratings) {
            let (days, ratings) = (
                days.as_any().downcast_ref::<StringArray>().expect("text"),
                ratings.as_any().downcast_ref::<StringArray>().expect("text"),
            );
            let rows: Vec<BTreeMap<String, String>> = (0..batch.num_rows())
                .map(|r| {
                    BTreeMap::from([
                        ("day".to_string(), days.value(r).to_string()),
                        ("rating".to_string(), ratings.value(r).to_string()),
                    ])
                })
                .collect();
            let svg = crate::report::rating_chart::ratings_svg(&rows);
            if !svg.is_empty() {
                let _ = write!(body, "<h2>Your rating over time</h2><figure class=\"chart\">{svg}</figure>");
            }
        }
    }
    if !held.modules.is_empty() {
        body.push_str(
            "<h2>Your attendance by module</h2><table><thead><tr><th scope=\"col\">Module</th>\
             <th scope=\"col\">Sessions so far</th><th scope=\"col\">Attended</th><th scope=\"col\">Per cent</th></tr></thead><tbody>",
        );
        for m in held.modules {
            let get = |k: &str| escape(m.get(k).map(String::as_str).unwrap_or(""));
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}%</td></tr>",
                get("module_code"),
                get("timetabled"),
                get("attended"),
                get("percent")
            );
        }
        body.push_str("</tbody></table>");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, TimestampMicrosecondArray};

    use super::*;

    #[test]
    fn values_are_shown_local_rounded_newest_first_and_staff_unnamed() {
        let at =
            TimestampMicrosecondArray::from(vec![1_751_364_000_000_000, 1_735_725_600_000_000]).with_timezone("UTC");
        let batch = RecordBatch::try_from_iter([
            ("recorded_at", Arc::new(at) as ArrayRef),
            ("score", Arc::new(Float64Array::from(vec![0.8200000000000001, 0.5])) as ArrayRef),
            ("recorded_by", Arc::new(StringArray::from(vec!["T0001", "T0002"])) as ArrayRef),
        ])
        .unwrap();
        let sorted = newest_first(&[batch]).unwrap();
        let shown = Shown { tz: "Europe/London".parse().unwrap(), staff_names: false };
        let html = table_html(&shown, &sorted, 0, 10);
        // 2025-07-01 10:00 UTC is 11:00 BST; 2025-01-01 10:00 UTC is 10:00 GMT.
        assert!(
            html.contains("<td>2025-07-01 11:00 BST</td><td class=\"num\">0.82</td><td>a member of staff</td>"),
            "{html}"
        );
        assert!(html.find("BST").unwrap() < html.find("GMT").unwrap(), "newest first: {html}");
        assert!(html.contains("<th scope=\"col\">Recorded at</th>") && !html.contains("T0001"), "{html}");
        let named = Shown { staff_names: true, ..shown };
        assert!(table_html(&named, &sorted, 0, 10).contains("T0001"));
    }
}
