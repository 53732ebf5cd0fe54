//! `rollcall report senate`: the annual report to Senate as one self-contained HTML page
//! (inline CSS and SVG charts, no external fetches, printable) plus one CSV per table.
//!
//! Sections, their queries and charts come from `WAREHOUSE/reports/senate.toml` (copied
//! from the shipped `reports/senate.toml` at init, for planners to add, remove or reword
//! sections without a new build), else the shipped file. A section names a catalog query
//! under `report/`: those publish aggregates only, with HESA's rounding and suppression
//! applied in the query, so no edit of the file can publish a row about one student.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use datafusion::scalar::ScalarValue;
use serde::Deserialize;

use super::chart::{self, ChartKind};
use crate::domain::html::{STYLE, escape};
use crate::domain::year::AcademicYear;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::{Warehouse, write_atomically};

const SPEC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/senate.toml"));

/// The report specification.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Page title.
    pub title: String,
    /// Opening paragraph.
    pub intro: String,
    /// Sections in order.
    pub sections: Vec<Section>,
}

/// One section: a table and its chart.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// File name of its CSV and anchor on the page.
    pub id: String,
    /// Heading.
    pub title: String,
    /// What the table shows.
    pub about: String,
    /// Catalog query.
    pub query: String,
    /// Columns used for ordering only, not published.
    #[serde(default)]
    pub hide: Vec<String>,
    /// The chart, if any.
    pub chart: Option<ChartSpec>,
}

/// A chart of a section's table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSpec {
    /// `bars` or `lines`.
    pub kind: String,
    /// Column giving the categories.
    pub label: String,
    /// Columns plotted.
    pub values: Vec<String>,
    /// Axis title.
    pub y: String,
}

/// Where a warehouse keeps its editable copy of the report's specification.
pub const SPEC_FILE: &str = "reports/senate.toml";

/// The shipped specification.
pub fn spec() -> Result<Spec> {
    parse(SPEC, Path::new(SPEC_FILE))
}

/// The warehouse's specification (its copy, else the shipped one), checked.
pub fn spec_of(root: &Path) -> Result<Spec> {
    let path = root.join(SPEC_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => spec(),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Writes the shipped specification into a new warehouse (owner-only), for planners to
/// edit; an existing copy is kept.
pub fn copy_spec(root: &Path) -> Result<()> {
    let path = root.join(SPEC_FILE);
    if path.exists() {
        return Ok(());
    }
    crate::warehouse::create_private_dir(&root.join("reports"))?;
    write_atomically(&path, SPEC.as_bytes())
}

fn parse(text: &str, path: &Path) -> Result<Spec> {
    let spec: Spec = toml::from_str(text).map_err(|e| Error::config_syntax(path, text, e))?;
    let fail = |message: String| Error::Config { path: path.to_path_buf(), message };
    if spec.sections.is_empty() {
        return Err(fail("sections: name at least one section".into()));
    }
    for (i, section) in spec.sections.iter().enumerate() {
        let key = format!("sections[{}] ({})", i + 1, section.id);
        if section.id.is_empty() || !section.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(fail(format!("{key}: id must be letters, digits, '-' and '_' only (it names a CSV file)")));
        }
        if spec.sections.iter().filter(|s| s.id == section.id).count() > 1 {
            return Err(fail(format!("{key}: another section has the same id")));
        }
        // Only the report queries: aggregates, rounded and suppressed.
        if !section.query.starts_with("report/") || queries::sql(&section.query).is_err() {
            let names: Vec<&str> =
                queries::CATALOG.iter().map(|(n, _)| *n).filter(|n| n.starts_with("report/senate")).collect();
            return Err(fail(format!("{key}: query must name a report query, one of {}", names.join(", "))));
        }
        if let Some(chart) = &section.chart
            && chart.kind != "bars"
            && chart.kind != "lines"
        {
            return Err(fail(format!("{key}: chart kind must be \"bars\" or \"lines\"")));
        }
    }
    Ok(spec)
}

/// A table as text cells.
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn to_table(batches: &[RecordBatch], hide: &[String]) -> Result<Table> {
    let Some(first) = batches.first() else { return Ok(Table { columns: vec![], rows: vec![] }) };
    let keep: Vec<usize> =
        (0..first.num_columns()).filter(|i| !hide.contains(first.schema().field(*i).name())).collect();
    let columns = keep.iter().map(|i| first.schema().field(*i).name().clone()).collect();
    let mut rows = Vec::new();
    for batch in batches {
        let cells: Vec<StringArray> = keep
            .iter()
            .map(|i| {
                let cast = arrow::compute::cast(batch.column(*i), &DataType::Utf8)?;
                Ok(cast.as_any().downcast_ref::<StringArray>().expect("text").clone())
            })
            .collect::<Result<_>>()?;
        for r in 0..batch.num_rows() {
            rows.push(
                cells.iter().map(|c| if c.is_valid(r) { c.value(r).to_string() } else { String::new() }).collect(),
            );
        }
    }
    Ok(Table { columns, rows })
}

/// Writes `DIR/index.html` and `DIR/<section>.csv` for an academic year; returns the files.
pub async fn render(warehouse: &Warehouse, year: AcademicYear, dir: &Path) -> Result<Vec<PathBuf>> {
    let spec = spec_of(warehouse.root())?;
    let ctx = session::build(warehouse, Access::Internal { with_equality: false }).await?;
    // Each case's step and the ladder's labels, for the sections on the procedure.
    let today = crate::domain::time::date_to_days(warehouse.clock().today());
    crate::review::procedure::register(&ctx, &warehouse.config().review, today).await?;
    crate::warehouse::create_private_dir(dir)?;
    let mut files = Vec::new();
    let mut body = String::new();
    let mut provenance = Vec::new();
    for section in &spec.sections {
        let params: Vec<(&str, ScalarValue)> = if queries::sql(&section.query)?.contains("$year") {
            vec![("year", ScalarValue::from(year.to_string()))]
        } else {
            vec![]
        };
        let frame = queries::plan(&ctx, &section.query, &params).await?;
        let schema = std::sync::Arc::new(frame.schema().as_arrow().clone());
        let mut batches = frame.collect().await.map_err(|e| Error::query(&section.query, e))?;
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(schema));
        }
        let table = to_table(&batches, &section.hide)?;
        let csv = dir.join(format!("{}.csv", section.id));
        write_atomically(&csv, &table_csv(&table, &csv)?)?;
        files.push(csv);
        provenance.push((section.query.clone(), queries::digest(&section.query)?));

        let _ = write!(
            body,
            "<section id=\"{}\"><h2>{}</h2><p>{}</p>",
            escape(&section.id),
            escape(&section.title),
            escape(&section.about)
        );
        if let Some(c) = &section.chart {
            // Totals ("All ...") are in the table, not drawn as a category.
            let all_labels = column(&table, &c.label);
            let rows: Vec<usize> = (0..all_labels.len()).filter(|r| !all_labels[*r].starts_with("All ")).collect();
            let labels: Vec<String> = rows.iter().map(|r| all_labels[*r].clone()).collect();
            let series: Vec<(String, Vec<Option<f64>>)> = c
                .values
                .iter()
                .map(|v| {
                    let values = column(&table, v);
                    (v.replace("_pct", "").replace('_', " "), rows.iter().map(|r| values[*r].parse().ok()).collect())
                })
                .collect();
            let anything = series.iter().flat_map(|(_, v)| v.iter().flatten()).any(|v| *v > 0.0);
            let kind = if c.kind == "lines" { ChartKind::Lines } else { ChartKind::Bars };
            if anything {
                body.push_str(&chart::svg(kind, &labels, &series, &c.y)?);
            }
        }
        body.push_str(&table_html(&table));
        body.push_str("</section>\n");
    }
    let html = page(&spec, &year.to_string(), &body, &provenance);
    let index = dir.join("index.html");
    write_atomically(&index, html.as_bytes())?;
    files.insert(0, index);
    Ok(files)
}

fn column(table: &Table, name: &str) -> Vec<String> {
    match table.columns.iter().position(|c| c == name) {
        Some(i) => table.rows.iter().map(|r| r[i].clone()).collect(),
        None => vec![],
    }
}

fn table_csv(table: &Table, path: &Path) -> Result<Vec<u8>> {
    let fail = |e: csv::Error| Error::io(path, std::io::Error::other(e.to_string()));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&table.columns).map_err(fail)?;
    for row in &table.rows {
        out.write_record(row).map_err(fail)?;
    }
    out.into_inner().map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))
}

fn table_html(table: &Table) -> String {
    let mut html = String::from("<table><thead><tr>");
    for c in &table.columns {
        let _ = write!(html, "<th>{}</th>", escape(&c.replace('_', " ")));
    }
    html.push_str("</tr></thead><tbody>");
    if table.rows.is_empty() {
        let _ =
            write!(html, "<tr><td colspan=\"{}\">No data held for this year.</td></tr>", table.columns.len().max(1));
    }
    for row in &table.rows {
        html.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i > 0 { " class=\"num\"" } else { "" };
            let _ = write!(html, "<td{class}>{}</td>", escape(cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

fn page(spec: &Spec, year: &str, body: &str, provenance: &[(String, String)]) -> String {
    let mut queries = String::new();
    for (name, sha) in provenance {
        let _ = write!(queries, "<li><code>{}</code> sha256 <code>{}</code></li>", escape(name), &sha[..16]);
    }
    format!(
        "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>{title} {year}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>\
         <h1>{title}: {year}</h1><p>{intro}</p>{body}\
         <div class=\"note\"><p><strong>Rounding and suppression.</strong> Figures follow HESA's rounding methodology: \
         counts are rounded to the nearest multiple of 5, with 0, 1 and 2 shown as 0 and halves rounded up; percentages \
         are not shown where the population is below 22.5, nor averages where it is 7 or fewer; totals are rounded on \
         their own from unrounded data, so they may differ from the sum of the rounded figures. Suppressed cells are shown \
         as <code>..</code>. Ratings highlight where staff should look; no decision about a student rests on a rating alone.</p>\
         <p>Generated by Rollcall from these queries:</p><ul>{queries}</ul></div></body></html>\n",
        title = escape(&spec.title),
        year = escape(year),
        intro = escape(&spec.intro),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_spec_names_catalog_queries() {
        let spec = spec().unwrap();
        assert!(spec.sections.len() >= 5);
        for section in &spec.sections {
            assert!(queries::sql(&section.query).is_ok(), "{}", section.query);
        }
    }
}
