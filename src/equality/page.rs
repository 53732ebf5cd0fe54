//! The equality release as published: `DIR/index.html` (charts, tables, what the noise
//! means), one CSV per table and `release.json`.
//!
//! Post-processing only (free under differential privacy): each group's noisy counts are
//! projected onto the closest non-negative counts with the same (noisy) total, totals are
//! sums of the projected cells, then every figure is rounded as HESA publishes. Nothing
//! published is a function of the unrounded values but the rounded counts themselves:
//! intervals are worked out from the rounded count (widened by the rounding's 2.5) and
//! percentages from rounded counts, so the unrounded value cannot be recovered from them.
//! What is stored for re-serving is exactly what is published.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::dp::{self, Plan};
use super::ledger::{Entry, Published};
use super::{Question, TABLES};
use crate::config::Config;
use crate::domain::html::{STYLE, escape};
use crate::engine::udf::hesa;
use crate::error::{Error, Result};
use crate::report::chart::{self, ChartKind};
use crate::warehouse::write_atomically;

/// How far a HESA-rounded count can be from the count it rounds.
const ROUNDING: f64 = 2.5;

fn round_down5(x: f64) -> i64 {
    ((x / 5.0).floor() * 5.0).max(0.0) as i64
}

fn round_up5(x: f64) -> i64 {
    ((x / 5.0).ceil() * 5.0).max(0.0) as i64
}

const ALL_GROUPS: &str = "All groups";
const ALL: &str = "All";

/// The margins of a release's figures: (what, plus or minus) before rounding.
fn margins(question: &Question, plan: &Plan, scale: f64, confidence: f64) -> Result<Vec<(String, f64)>> {
    let categories = question.categories("rating").len();
    let groups = question.groups.len();
    Ok(vec![
        ("each count".into(), plan.accuracy(scale, confidence)?),
        ("a group's total".into(), plan.sum_accuracy(scale, confidence, categories)?),
        ("a band's total over all groups".into(), plan.sum_accuracy(scale, confidence, groups)?),
        ("the grand total".into(), plan.sum_accuracy(scale, confidence, groups * categories)?),
    ])
}

/// The figures to publish from the noisy tables (in the plan's order): post-processed,
/// rounded, with intervals and percentages worked out from the rounded counts only.
pub fn publish(question: &Question, scale: f64, confidence: f64, noisy: &[Vec<i64>]) -> Result<Vec<Published>> {
    let plan: Plan = question.plan();
    let cell_margin = plan.accuracy(scale, confidence)?;
    let mut out = Vec::new();
    let mut tables = noisy.iter();
    for census in &question.census {
        let day = super::census_day(&census.date).unwrap_or_default();
        for table in TABLES {
            let categories = question.categories(table);
            let drawn = tables.next().ok_or_else(|| Error::Internal("fewer noisy tables than planned".into()))?;
            if drawn.len() != question.groups.len() * categories.len() {
                return Err(Error::Internal("a noisy table has the wrong number of cells".into()));
            }
            let group_margin = plan.sum_accuracy(scale, confidence, categories.len())?;
            let category_margin = plan.sum_accuracy(scale, confidence, question.groups.len())?;
            let total_margin = plan.sum_accuracy(scale, confidence, question.groups.len() * categories.len())?;
            let matrix: Vec<Vec<i64>> = drawn.chunks(categories.len()).map(dp::project).collect();
            let mut push = |group: &str, category: &str, value: i64, margin: f64, population: i64| {
                let count = hesa::round_count(value as f64);
                let rounded_population = hesa::round_count(population as f64);
                out.push(Published {
                    census_day: day,
                    table: table.to_string(),
                    group: group.to_string(),
                    category: category.to_string(),
                    count,
                    low: round_down5(count as f64 - margin - ROUNDING),
                    high: round_up5(count as f64 + margin + ROUNDING),
                    percent: hesa::percent(count as f64, rounded_population as f64),
                });
            };
            for (g, group) in question.groups.iter().enumerate() {
                let total: i64 = matrix[g].iter().sum();
                for (c, category) in categories.iter().enumerate() {
                    push(group, category, matrix[g][c], cell_margin, total);
                }
                push(group, ALL, total, group_margin, total);
            }
            let grand: i64 = matrix.iter().flatten().sum();
            for (c, category) in categories.iter().enumerate() {
                let total: i64 = matrix.iter().map(|row| row[c]).sum();
                push(ALL_GROUPS, category, total, category_margin, grand);
            }
            push(ALL_GROUPS, ALL, grand, total_margin, grand);
        }
    }
    Ok(out)
}

/// Writes the release's files from its published figures; returns them, index.html first.
pub fn write(
    question: &Question,
    entry: &Entry,
    published: &[Published],
    config: &Config,
    dir: &Path,
    reserved: bool,
) -> Result<Vec<PathBuf>> {
    crate::warehouse::create_private_dir(dir)?;
    let plan: Plan = question.plan();
    let confidence = config.equality.confidence;
    let margins = margins(question, &plan, entry.scale, confidence)?;
    let mut files = Vec::new();
    let mut body = String::new();
    for table in TABLES {
        let categories = question.categories(table);
        let mut lines: Vec<&Published> = Vec::new();
        for census in &question.census {
            let day = super::census_day(&census.date).unwrap_or_default();
            let of = |g: &str, c: &str| {
                published.iter().find(|p| p.census_day == day && p.table == table && p.group == g && p.category == c)
            };
            for group in question.groups.iter().map(String::as_str).chain([ALL_GROUPS]) {
                for category in categories.iter().map(String::as_str).chain([ALL]) {
                    lines.extend(of(group, category));
                }
            }
            // Chart: share of each group in each category, from the published counts.
            let labels: Vec<String> = question.groups.clone();
            let series: Vec<(String, Vec<Option<f64>>)> = categories
                .iter()
                .map(|category| {
                    let values = question
                        .groups
                        .iter()
                        .map(|g| {
                            let total = of(g, ALL).map_or(0, |p| p.count);
                            let part = of(g, category).map_or(0, |p| p.count);
                            (total as f64 >= 22.5).then(|| 100.0 * part as f64 / total as f64)
                        })
                        .collect();
                    (category.clone(), values)
                })
                .collect();
            let title =
                if table == "rating" { "Rating on the census date" } else { "Highest escalation by the census date" };
            let _ = write!(
                body,
                "<section><h2>{} — {} ({})</h2><p>Share of each ethnicity group's students in each category, \
                 per cent.</p>",
                escape(title),
                escape(&census.date),
                escape(&census.configured)
            );
            if series.iter().flat_map(|(_, v)| v.iter().flatten()).any(|v| *v > 0.0) {
                body.push_str(&chart::svg(ChartKind::Bars, &labels, &series, "% of group")?);
            }
            let of_census: Vec<&Published> = lines.iter().copied().filter(|p| p.census_day == day).collect();
            body.push_str(&wide_table(&of_census, &question.groups, categories, confidence));
            body.push_str("</section>\n");
        }
        let csv_path = dir.join(format!("{table}-by-ethnicity-group.csv"));
        write_atomically(&csv_path, &lines_csv(&lines, &csv_path, table)?)?;
        files.push(csv_path);
    }

    let json_path = dir.join("release.json");
    let meta = serde_json::json!({
        "release_id": entry.release_id,
        "re_served": reserved,
        "academic_year": question.academic_year,
        "census_dates": question.census,
        "mechanism": entry.mechanism,
        "neighbours": question.neighbours,
        "input_distance": question.neighbours.distance(),
        "epsilon": entry.epsilon,
        "rho": entry.rho,
        "delta": entry.delta,
        "noise_scale": entry.scale,
        "tables_composed": question.census.len() * TABLES.len(),
        "charged_to_cohorts": entry.cohorts,
        "students": entry.students,
        "confidence": confidence,
        "margins": margins.iter().map(|(what, m)| serde_json::json!({"of": what, "plus_minus": m})).collect::<Vec<_>>(),
        "groups": question.groups,
        "groups_mapping_sha256": question.groups_digest,
    });
    write_atomically(&json_path, serde_json::to_string_pretty(&meta).expect("json").as_bytes())?;
    files.push(json_path);

    let index = dir.join("index.html");
    write_atomically(&index, page(question, entry, &margins, confidence, reserved, &body).as_bytes())?;
    files.insert(0, index);
    Ok(files)
}

fn lines_csv(lines: &[&Published], path: &Path, table: &str) -> Result<Vec<u8>> {
    let fail = |e: csv::Error| Error::io(path, std::io::Error::other(e.to_string()));
    let mut out = csv::Writer::from_writer(Vec::new());
    let category = if table == "rating" { "rating" } else { "escalation" };
    out.write_record(["census_date", "ethnicity_group", category, "count", "low", "high", "percent_of_group"])
        .map_err(fail)?;
    for l in lines {
        out.write_record([
            crate::domain::time::days_to_date(l.census_day).to_string().as_str(),
            l.group.as_str(),
            l.category.as_str(),
            &l.count.to_string(),
            &l.low.to_string(),
            &l.high.to_string(),
            l.percent.as_str(),
        ])
        .map_err(fail)?;
    }
    out.into_inner().map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))
}

fn wide_table(lines: &[&Published], groups: &[String], categories: &[String], confidence: f64) -> String {
    let pct = (confidence * 100.0).round();
    let mut html = String::from("<table><thead><tr><th>ethnicity group</th>");
    for c in categories.iter().map(String::as_str).chain([ALL]) {
        let _ = write!(html, "<th>{}</th>", escape(c));
    }
    html.push_str("</tr></thead><tbody>");
    for g in groups.iter().map(String::as_str).chain([ALL_GROUPS]) {
        let _ = write!(html, "<tr><td>{}</td>", escape(g));
        for c in categories.iter().map(String::as_str).chain([ALL]) {
            let cell = lines.iter().find(|l| l.group == g && l.category == c);
            match cell {
                Some(l) => {
                    let _ = write!(
                        html,
                        "<td class=\"num\" title=\"{pct}% interval {}–{}\">{}</td>",
                        l.low, l.high, l.count
                    );
                }
                None => html.push_str("<td></td>"),
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

fn page(
    question: &Question,
    entry: &Entry,
    margins: &[(String, f64)],
    confidence: f64,
    reserved: bool,
    body: &str,
) -> String {
    let pct = (confidence * 100.0).round();
    let mut margin_list = String::new();
    for (what, m) in margins {
        let _ = write!(margin_list, "<li>{}: within ±{:.0}</li>", escape(what), m.ceil());
    }
    let mechanism = if entry.mechanism == "gaussian" {
        format!(
            "discrete Gaussian noise (zero-concentrated differential privacy, rho {:.4}), that is epsilon {:.3} at \
             delta {}",
            entry.rho, entry.epsilon, entry.delta
        )
    } else {
        format!("discrete Laplace noise (pure differential privacy, epsilon {:.3})", entry.epsilon)
    };
    let neighbours = match question.neighbours {
        crate::config::Neighbours::AddRemove => {
            "adding or removing any one student (each student counts once in each table, so each table moves by at most 1)"
        }
        crate::config::Neighbours::Replace => "changing any one student's data (each table moves by at most 2)",
    };
    let served = if reserved {
        "<p><strong>This is a stored release.</strong> The same question was answered before; its answer is shown again \
         rather than drawing new noise, which would let averaging undo the protection. Nothing more was spent.</p>"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Engagement by ethnicity {year}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>\
         <h1>Engagement by ethnicity group: {year}</h1>{served}\
         <p>Counts of students by ethnicity group, with their engagement rating and the highest escalation action \
         raised by each census date. This analysis exists to monitor outcomes under the Equality Act; it is aggregate \
         only, and no individual can be identified or acted on from it.</p>\
         <h2>What the noise means</h2>\
         <p>Every count has had random noise added before publication ({mechanism}), so that no one can tell from these \
         tables whether any particular student is in the data: the tables would look almost the same after {neighbours}. \
         All {tables} tables on this page were released together and their privacy cost is counted together.</p>\
         <p>The figures are therefore approximate. With {pct}% confidence the true number is:</p><ul>{margin_list}</ul>\
         <p>of the unrounded figure. Each cell's interval is given in the CSV files (and when hovering over a cell); \
         it is worked out from the rounded count, so it also allows for the rounding. Each group's noisy counts were \
         replaced by the closest counts that are not negative and keep the group's noisy total, and totals are the sums \
         of those counts, so small groups are not made to look larger than they are. Finally, as HESA publishes, counts \
         are rounded to the nearest 5 (0, 1 and 2 shown as 0) and percentages, worked out from the rounded counts, are \
         not shown for groups under 22.5; rounded figures may not add up to rounded totals.</p>\
         <p>Read differences between groups only where they are larger than these margins.</p>\
         {body}\
         <div class=\"note\"><p>Release {id}; ethnicity groups from a mapping with SHA-256 {digest}. Ratings \
         highlight where staff should look; no decision about a student rests on a rating alone.</p></div>\
         </body></html>\n",
        year = escape(&question.academic_year.to_string()),
        tables = question.census.len() * TABLES.len(),
        id = escape(&entry.release_id),
        digest = &question.groups_digest[..16],
    )
}
