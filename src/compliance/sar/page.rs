//! The subject-access page: the data held, table by table, with the supplementary
//! information the ICO requires (purposes, sources, recipients, retention, how the rating
//! is worked out).

use std::fmt::Write as _;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;

use super::strings;
use crate::domain::html::{STYLE, escape};

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

pub(super) fn page(
    student_id: &str,
    request_id: &str,
    produced: chrono::NaiveDate,
    basis: crate::domain::terms::LawfulBasis,
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
             <p>Each teaching day, Rollcall looks back over a window of days (see <code>window_days</code> in each \
             rating row). Where sessions were timetabled for you, part of the score is the share you attended (card \
             swipes at the room, within the session's window; authorised absences excused). The rest comes from \
             activity points (VLE, lecture capture, library, PC logins, online meetings, submissions) against a \
             daily expectation. The score places the day in a band from Very Low to High. Ratings only highlight where \
             staff should look: <strong>no decision about you rests on a rating alone</strong>; a member of staff \
             reviews every case and talks to you first.</p>",
            basis = escape(basis.to_student()),
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
        date = produced,
    )
}
