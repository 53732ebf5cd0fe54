//! Charts as inline SVG, drawn with plotters: bars or lines over labelled categories.

use plotters::prelude::*;

use crate::error::{Error, Result};

/// How to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// Grouped bars per category.
    Bars,
    /// One line per series across the categories.
    Lines,
}

const COLOURS: [RGBColor; 8] = [
    RGBColor(193, 39, 45),
    RGBColor(244, 162, 97),
    RGBColor(233, 196, 106),
    RGBColor(42, 157, 143),
    RGBColor(29, 53, 87),
    RGBColor(140, 140, 140),
    RGBColor(106, 76, 147),
    RGBColor(120, 72, 40),
];

fn fail<E: std::fmt::Display>(e: E) -> Error {
    Error::Internal(format!("chart: {e}"))
}

/// The width of the plotting area: the chart's 860 pixels less the y labels' 60 and the
/// margins.
const PLOT_WIDTH: f64 = 860.0 - 60.0 - 2.0 * 12.0;

/// How many characters of a 13-pixel sans-serif label fit in `pixels` (about 7.5 pixels a
/// character, with room on either side).
fn label_chars(pixels: f64) -> usize {
    ((pixels - 8.0) / 7.5).floor().max(3.0) as usize
}

/// `label` cut to `chars` characters, the cut marked with an ellipsis.
fn shortened(label: &str, chars: usize) -> String {
    if label.chars().count() <= chars {
        return label.to_string();
    }
    let kept: String = label.chars().take(chars.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// An SVG chart of `series` over `labels`; missing (suppressed) values are left out.
pub fn svg(kind: ChartKind, labels: &[String], series: &[(String, Vec<Option<f64>>)], y_title: &str) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let max = series.iter().flat_map(|(_, v)| v.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
        let top = if max > 0.0 { max * 1.15 } else { 1.0 };
        let n = labels.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..top)
            .map_err(fail)?;
        // Horizontal labels, thinned so that they never overlap, and each cut to the width
        // its categories have (the table beside the chart gives them in full).
        let step = n.div_ceil(8).max(1);
        let fits = label_chars(PLOT_WIDTH * step as f64 / n as f64);
        let label_for = |x: &f64| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-6 && i.is_multiple_of(step) {
                labels.get(i).map(|l| shortened(l, fits)).unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&label_for)
            .x_label_style(("sans-serif", 13).into_font())
            .y_desc(y_title)
            .draw()
            .map_err(fail)?;
        let width = 0.8 / series.len().max(1) as f64;
        for (s, (name, values)) in series.iter().enumerate() {
            let colour = COLOURS[s % COLOURS.len()];
            let drawn = match kind {
                ChartKind::Bars => chart
                    .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                        let x0 = i as f64 + 0.1 + s as f64 * width;
                        v.map(|v| Rectangle::new([(x0, 0.0), (x0 + width, v)], colour.filled()))
                    }))
                    .map_err(fail)?,
                ChartKind::Lines => chart
                    .draw_series(LineSeries::new(
                        values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64 + 0.5, v))),
                        colour.stroke_width(2),
                    ))
                    .map_err(fail)?,
            };
            drawn
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).draw().map_err(fail)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_are_cut_to_their_slot_and_short_ones_kept() {
        assert_eq!(shortened("Personal tutor", 20), "Personal tutor");
        assert_eq!(shortened("Student Progress team decision", 12), "Student Pro…");
        assert_eq!(shortened("Student Progress team decision", 12).chars().count(), 12);
        // Eight categories across the plot: about 97 pixels each, 11 characters.
        assert_eq!(label_chars(PLOT_WIDTH / 8.0), 11);
    }
}
