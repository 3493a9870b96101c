//! Deterministic line and scatter charts as PNG and SVG, for the paper's
//! figures (`cargo xtask figures`) and the CLI.
//!
//! Text is drawn with DejaVu Sans bundled in the crate (`fonts/`, its
//! licence beside it) through plotters' ab_glyph path: no system font or
//! library is needed, so PNGs render the same on any machine. SVG text
//! elements carry explicit positions and anchors computed with the same
//! font, so the layout does not depend on the viewer's fonts.
//!
//! Log axes are drawn by plotting log10 of the values on a linear axis
//! labelled with the original values.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

mod svg_text;

static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The bundled font is valid; registration only fails on bad data.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Colours used in order (colour-blind friendly, Okabe-Ito).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line through the points.
    Solid,
    /// A dashed line through the points.
    Dashed,
    /// Filled circles, no line.
    Dots,
    /// Hollow squares, no line.
    Squares,
}

/// One series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Points (x, y) in data units.
    pub points: Vec<(f64, f64)>,
    /// Drawing style.
    pub style: Style,
    /// Index into [`PALETTE`].
    pub color: usize,
}

/// A chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// X axis label, with unit.
    pub x_label: String,
    /// Y axis label, with unit.
    pub y_label: String,
    /// Log-scale X axis.
    pub log_x: bool,
    /// Log-scale Y axis.
    pub log_y: bool,
    /// Series, drawn in order.
    pub series: Vec<Series>,
}

/// Why a chart could not be drawn.
#[derive(Debug)]
pub struct PlotError(pub String);

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlotError {}

fn err(e: impl std::fmt::Display) -> PlotError {
    PlotError(e.to_string())
}

/// Size of every chart, pixels.
pub const SIZE: (u32, u32) = (960, 640);

fn axis(v: f64, log: bool) -> f64 {
    if log { v.log10() } else { v }
}

fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        let a = axis(v, log);
        lo = lo.min(a);
        hi = hi.max(a);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
    (lo - pad, hi + pad)
}

fn label(v: f64, log: bool) -> String {
    let x = if log { 10f64.powf(v) } else { v };
    if x == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&x.abs()) {
        return format!("{x:.1e}");
    }
    // Three significant digits, trailing zeros dropped: 3.162 -> 3.16.
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let xs = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1));
    let (x0, x1) = range(xs, chart.log_x);
    let (y0, y1) = range(ys, chart.log_y);
    let mut ctx = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 26))
        .margin(18)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let (lx, ly) = (chart.log_x, chart.log_y);
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .axis_desc_style(("sans-serif", 20))
        .label_style(("sans-serif", 16))
        .x_label_formatter(&|v| label(*v, lx))
        .y_label_formatter(&|v| label(*v, ly))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for s in &chart.series {
        let color = PALETTE[s.color % PALETTE.len()];
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|(x, y)| {
                x.is_finite() && y.is_finite() && (!lx || *x > 0.0) && (!ly || *y > 0.0)
            })
            .map(|&(x, y)| (axis(x, lx), axis(y, ly)))
            .collect();
        let legend_color = color;
        match s.style {
            Style::Solid => {
                ctx.draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))
                    .map_err(err)?
                    .label(&s.name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], legend_color.stroke_width(3))
                    });
                ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(err)?;
            }
            Style::Dashed => {
                ctx.draw_series(DashedLineSeries::new(
                    pts.clone(),
                    10,
                    6,
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(&s.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 10, y)], legend_color.stroke_width(2))
                });
            }
            Style::Dots => {
                ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 5, color.filled())))
                    .map_err(err)?
                    .label(&s.name)
                    .legend(move |(x, y)| Circle::new((x + 10, y), 5, legend_color.filled()));
            }
            Style::Squares => {
                ctx.draw_series(pts.iter().map(|&(x, y)| {
                    EmptyElement::at((x, y))
                        + Rectangle::new([(-5, -5), (5, 5)], color.stroke_width(2))
                }))
                .map_err(err)?
                .label(&s.name)
                .legend(move |(x, y)| {
                    Rectangle::new(
                        [(x + 5, y - 5), (x + 15, y + 5)],
                        legend_color.stroke_width(2),
                    )
                });
            }
        }
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Write `chart` as a PNG file.
pub fn write_png(chart: &Chart, path: &Path) -> Result<(), PlotError> {
    register_font();
    draw(BitMapBackend::new(path, SIZE).into_drawing_area(), chart)
}

/// `chart` as SVG text.
pub fn svg(chart: &Chart) -> Result<String, PlotError> {
    register_font();
    let mut out = String::new();
    draw(
        SVGBackend::with_string(&mut out, SIZE).into_drawing_area(),
        chart,
    )?;
    Ok(svg_text::outline_text(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            title: "t".into(),
            x_label: "N".into(),
            y_label: "ms".into(),
            log_x: true,
            log_y: true,
            series: vec![Series {
                name: "a".into(),
                points: vec![(32.0, 0.02), (4096.0, 32.0)],
                style: Style::Solid,
                color: 0,
            }],
        }
    }

    #[test]
    fn svg_is_deterministic_and_has_text() {
        let a = svg(&chart()).unwrap();
        assert_eq!(a, svg(&chart()).unwrap());
        assert!(a.contains("<text"));
        assert!(a.contains("4096") || a.contains("1000"));
    }

    #[test]
    fn labels() {
        assert_eq!(label(3.0, true), "1000");
        assert_eq!(label(0.5, false), "0.5");
        assert_eq!(label(0.5, true), "3.16");
        assert_eq!(label(-0.2, true), "0.631");
        assert_eq!(label(2.0, true), "100");
    }
}
