//! Charts of a sweep, as SVG (for the HTML report) and PNG (for slides and issues).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::runs::LATENCY_BUCKETS_MS;
use super::summary::ConfigSummary;

static FONT: Once = Once::new();

/// plotters measures and draws text with a font it is given: the one egui ships, so that
/// nothing depends on the fonts installed on the machine.
fn register_font() {
    FONT.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::HACK_REGULAR,
        );
    });
}

type Res = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Share of runs that lost an acknowledged record, per configuration (horizontal bars).
fn draw_loss<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    rows: &[ConfigSummary],
) -> Res {
    root.fill(&WHITE).map_err(err)?;
    let label_w = rows.iter().map(|r| r.label.len()).max().unwrap_or(10) as u32 * 8 + 20;
    let n = rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0f64..100f64, 0f64..n)
        .map_err(err)?;
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("runs that lost an acknowledged record (%)")
        .y_labels(rows.len().max(1) * 2 + 1)
        .y_label_formatter(&|y| {
            let i = (*y - 0.5).round();
            if (y - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let pct = if r.runs == 0 {
                0.0
            } else {
                100.0 * r.runs_losing_acknowledged as f64 / r.runs as f64
            };
            let color = if r.runs_losing_acknowledged > 0 {
                PALETTE[3]
            } else {
                PALETTE[2]
            };
            Rectangle::new(
                [(0.0, i as f64 + 0.2), (pct.max(0.4), i as f64 + 0.8)],
                color.filled(),
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let pct = if r.runs == 0 {
                0.0
            } else {
                100.0 * r.runs_losing_acknowledged as f64 / r.runs as f64
            };
            Text::new(
                format!(
                    "{}/{} runs, {} records",
                    r.runs_losing_acknowledged, r.runs, r.lost_acknowledged
                ),
                (pct.min(70.0) + 1.5, i as f64 + 0.62),
                ("sans-serif", 13),
            )
        }))
        .map_err(err)?;
    root.present().map_err(err)
}

/// Distribution of send-to-acknowledgement latency, one line per configuration.
fn draw_latency<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    rows: &[ConfigSummary],
) -> Res {
    root.fill(&WHITE).map_err(err)?;
    let buckets = LATENCY_BUCKETS_MS.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..(buckets - 1) as f64, 0f64..100f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(buckets)
        .x_label_formatter(&|x| match LATENCY_BUCKETS_MS.get(x.round() as usize) {
            Some(&u64::MAX) => "more".into(),
            Some(b) => format!("≤{b}"),
            None => String::new(),
        })
        .x_desc("send → acknowledgement (ms)")
        .y_desc("records (%)")
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    for (i, r) in rows.iter().enumerate() {
        let total: u64 = r.latency_histogram.iter().sum();
        if total == 0 {
            continue;
        }
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                r.latency_histogram
                    .iter()
                    .enumerate()
                    .map(|(b, n)| (b as f64, 100.0 * *n as f64 / total as f64)),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(r.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Writes `<stem>.svg` and `<stem>.png` for both charts into `dir`.
pub fn write_all(dir: &Path, rows: &[ConfigSummary]) -> Res {
    register_font();
    let h = (140 + 48 * rows.len() as u32).max(300);
    let loss_title = "Acknowledged records lost, per configuration";
    let lat_title = "Produce latency, per configuration";
    draw_loss(
        SVGBackend::new(&dir.join("loss.svg"), (1000, h)).into_drawing_area(),
        loss_title,
        rows,
    )?;
    draw_loss(
        BitMapBackend::new(&dir.join("loss.png"), (1000, h)).into_drawing_area(),
        loss_title,
        rows,
    )?;
    draw_latency(
        SVGBackend::new(&dir.join("latency.svg"), (1000, 480)).into_drawing_area(),
        lat_title,
        rows,
    )?;
    draw_latency(
        BitMapBackend::new(&dir.join("latency.png"), (1000, 480)).into_drawing_area(),
        lat_title,
        rows,
    )?;
    Ok(())
}
