//! A student's rating over time as an inline SVG (no script), for the console's student
//! pages and the subject-access page: one
//! point per rated day, bands on the vertical axis by name, so the chart is read by its
//! labels and shape, never by colour alone; the table under it gives the same figures.

use std::collections::BTreeMap;

use crate::config::RATINGS;
use crate::domain::html::escape;

/// Styles for the chart's classes, for pages that do not carry the console's stylesheet.
pub const STYLE: &str = ".chart .grid{stroke:#d0d0d0;stroke-width:1}.chart .axis{font-size:12px;fill:#1a1a1a}\
                         .chart .rating{fill:none;stroke:#1d3557;stroke-width:2}.chart .point{fill:#1d3557}";

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 80.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// The chart of `ratings` (rows with `day` and `rating`, newest first); empty when there
/// are none.
pub fn ratings_svg(ratings: &[BTreeMap<String, String>]) -> String {
    let points: Vec<(&str, usize)> = ratings
        .iter()
        .rev()
        .filter_map(|r| {
            let band = RATINGS.iter().position(|b| Some(*b) == r.get("rating").map(String::as_str))?;
            Some((r.get("day").map(String::as_str).unwrap_or(""), band))
        })
        .collect();
    svg(&points)
}

/// The chart of `points`: (day, band: the rating's position in [`RATINGS`]), oldest first;
/// empty when there are none.
pub fn svg<D: AsRef<str>>(points: &[(D, usize)]) -> String {
    if points.is_empty() {
        return String::new();
    }
    let bands = RATINGS.len() as f64;
    let y = |band: usize| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - band as f64 / (bands - 1.0));
    let step = if points.len() > 1 { (WIDTH - LEFT - 10.0) / (points.len() - 1) as f64 } else { 0.0 };
    let x = |i: usize| LEFT + step * i as f64;
    let (first, last) = (points[0].0.as_ref(), points[points.len() - 1].0.as_ref());
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"chart-title\"><title id=\"chart-title\">Engagement rating from {} to {}, {} rated days</title>",
        escape(first),
        escape(last),
        points.len()
    );
    for (band, name) in RATINGS.iter().enumerate() {
        svg.push_str(&format!(
            "<line x1=\"{LEFT}\" x2=\"{WIDTH}\" y1=\"{0:.1}\" y2=\"{0:.1}\" class=\"grid\"/>\
             <text x=\"{1}\" y=\"{2:.1}\" class=\"axis\" text-anchor=\"end\">{3}</text>",
            y(band),
            LEFT - 6.0,
            y(band) + 4.0,
            escape(name)
        ));
    }
    let line: Vec<String> =
        points.iter().enumerate().map(|(i, (_, band))| format!("{:.1},{:.1}", x(i), y(*band))).collect();
    svg.push_str(&format!("<polyline points=\"{}\" class=\"rating\"/>", line.join(" ")));
    for (i, (_, band)) in points.iter().enumerate() {
        svg.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" class=\"point\"/>", x(i), y(*band)));
    }
    svg.push_str(&format!(
        "<text x=\"{LEFT}\" y=\"{0}\" class=\"axis\">{1}</text><text x=\"{WIDTH}\" y=\"{0}\" class=\"axis\" \
         text-anchor=\"end\">{2}</text></svg>",
        HEIGHT - 8.0,
        escape(first),
        escape(last)
    ));
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_point_per_rated_day_oldest_on_the_left() {
        let row = |day: &str, rating: &str| {
            BTreeMap::from([("day".to_string(), day.to_string()), ("rating".to_string(), rating.to_string())])
        };
        let svg = ratings_svg(&[row("2025-10-08", "High"), row("2025-10-07", "Very Low"), row("2025-10-06", "<b>")]);
        assert!(svg.contains("from 2025-10-07 to 2025-10-08, 2 rated days"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("points=\"80.0,192.0 710.0,12.0\""), "Very Low at the bottom, then High: {svg}");
        assert!(ratings_svg(&[]).is_empty());
    }
}
