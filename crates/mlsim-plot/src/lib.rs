//! Deterministic charts as PNG and SVG, for the paper's figures (`cargo
//! xtask figures`) and `mlsim run --plot`: line and scatter [`Chart`]s,
//! category [`Heatmap`]s and grouped horizontal [`Bars`], plus the charts
//! both draw from predictions ([`charts`]: rooflines with workloads,
//! runtime per workload across chips, the fastest-dtype map).
//!
//! Text is drawn with DejaVu Sans bundled in the crate (`fonts/`, its
//! licence beside it) through plotters' ab_glyph path: no system font or
//! library is needed, so PNGs render the same on any machine. In SVGs the
//! text is not `<text>` but the glyph outlines of the same font (each glyph
//! defined once, placed with `<use>`; `svg_text.rs`), so they look the same
//! with or without fonts on the viewer's machine; each string stays in an
//! `aria-label`, so it can still be searched for.
//!
//! Log axes are drawn by plotting log10 of the values on a linear axis
//! labelled with the original values.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

mod bars;
pub mod charts;
pub mod files;
mod heatmap;
mod svg_text;

pub use bars::Bars;
pub use heatmap::Heatmap;

pub(crate) static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The bundled font is valid; registration only fails on bad data.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Colours used in order: Okabe-Ito's colour-blind friendly set, with its
/// yellow (unreadable as a thin line on white) replaced by a brown; then
/// seven tones of Paul Tol's muted set for the formats added later
/// (fp64, fp6, fp4, NVFP4, MXFP8, MXFP6, MXFP4).
pub const PALETTE: [RGBColor; 15] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(140, 86, 75),
    RGBColor(0, 0, 0),
    RGBColor(51, 34, 136),
    RGBColor(136, 34, 85),
    RGBColor(17, 119, 51),
    RGBColor(153, 153, 51),
    RGBColor(221, 204, 119),
    RGBColor(170, 68, 153),
    RGBColor(136, 204, 238),
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
    /// Filled triangles, no line.
    Triangles,
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
    /// Text placed just right of a point: (x, y) in data units and the
    /// text (a workload's name next to its dot).
    pub point_labels: Vec<(f64, f64, String)>,
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

impl Chart {
    /// Whether a point can be drawn: finite, and positive on a log axis.
    fn drawable(&self, x: f64, y: f64) -> bool {
        x.is_finite() && y.is_finite() && (!self.log_x || x > 0.0) && (!self.log_y || y > 0.0)
    }
}

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

/// The pixel box a point label occupies (13 px text).
#[derive(Debug, Clone, Copy)]
struct LabelBox {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
}

impl LabelBox {
    fn overlaps(&self, o: &LabelBox) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
}

/// Where to put `text` next to the point at pixel `at`: just above right of
/// it, else shifted up or down a line at a time, on the right and then on
/// the left, clear of the labels already placed and of every labelled
/// point's marker (`taken`). Returns the box and whether it left the
/// default spot (then a leader line joins label and point). When every
/// spot is taken the label goes to the default spot anyway: a label is
/// never dropped.
fn free_spot(taken: &[LabelBox], at: (i32, i32), text: &str) -> (LabelBox, bool) {
    // About 7 px a character at 13 px (DejaVu Sans averages 0.55 em).
    let width = 7 * text.chars().count() as i32;
    let spot = |dy: i32, left: bool| {
        let y0 = at.1 - 15 + dy;
        let x0 = if left { at.0 - 7 - width } else { at.0 + 7 };
        LabelBox {
            x0,
            y0,
            x1: x0 + width,
            y1: y0 + 14,
        }
    };
    let offsets = [0, 15, -15, 30, -30, 45, -45, 60, -60];
    [false, true]
        .into_iter()
        .flat_map(|left| offsets.into_iter().map(move |dy| (dy, left)))
        .map(|(dy, left)| (spot(dy, left), dy != 0 || left))
        .find(|(b, _)| taken.iter().all(|p| !p.overlaps(b)))
        .unwrap_or((spot(0, false), false))
}

/// The corner of the plot where the legend covers the least data: each
/// series' points and the lines between them are sampled every few pixels
/// and counted inside the legend's box at each corner (its size estimated
/// from the entries: 20 px a line, 8.5 px a character). Ties go to upper
/// left, upper right, lower right, lower left, in that order.
fn legend_corner(
    chart: &Chart,
    to_pixel: impl Fn(f64, f64) -> (i32, i32),
    area: (std::ops::Range<i32>, std::ops::Range<i32>),
) -> SeriesLabelPosition {
    let (xr, yr) = area;
    let chars = chart
        .series
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let (w, h) = (
        (40.0 + 8.5 * chars as f64) as i32 + 10,
        20 * chart.series.len() as i32 + 20,
    );
    let boxes = [
        (SeriesLabelPosition::UpperLeft, xr.start, yr.start),
        (SeriesLabelPosition::UpperRight, xr.end - w, yr.start),
        (SeriesLabelPosition::LowerRight, xr.end - w, yr.end - h),
        (SeriesLabelPosition::LowerLeft, xr.start, yr.end - h),
    ];
    let ok = |x: f64, y: f64| chart.drawable(x, y);
    let mut samples: Vec<(i32, i32)> = Vec::new();
    for s in &chart.series {
        let pts: Vec<(i32, i32)> = s
            .points
            .iter()
            .filter(|(x, y)| ok(*x, *y))
            .map(|&(x, y)| to_pixel(x, y))
            .collect();
        samples.extend(&pts);
        if matches!(s.style, Style::Solid | Style::Dashed) {
            for pair in pts.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) / 4).max(1);
                for i in 1..steps {
                    samples.push((a.0 + (b.0 - a.0) * i / steps, a.1 + (b.1 - a.1) * i / steps));
                }
            }
        }
    }
    for (x, y, _) in chart.point_labels.iter().filter(|(x, y, _)| ok(*x, *y)) {
        samples.push(to_pixel(*x, *y));
    }
    boxes
        .into_iter()
        .map(|(pos, x0, y0)| {
            let covered = samples
                .iter()
                .filter(|(x, y)| (x0..x0 + w).contains(x) && (y0..y0 + h).contains(y))
                .count();
            (covered, pos)
        })
        .fold(
            None,
            |best: Option<(usize, SeriesLabelPosition)>, (c, pos)| match best {
                Some((bc, _)) if bc <= c => best,
                _ => Some((c, pos)),
            },
        )
        .map_or(SeriesLabelPosition::UpperLeft, |(_, pos)| pos)
}

/// Draw `title` across the top of `root`; returns the area below it.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, PlotError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    root.titled(title, ("sans-serif", 26)).map_err(err)
}

/// Pixels a legend beside the plot needs for these names at 16 px
/// (about 8.5 px a character), between 120 and 320.
fn legend_width<'a>(names: impl Iterator<Item = &'a str>) -> u32 {
    let chars = names.map(|n| n.chars().count()).max().unwrap_or(0);
    ((40.0 + 8.5 * chars as f64) as u32).clamp(120, 320)
}

/// A legend (filled square and name per entry, top to bottom) in `area`,
/// which lies beside the plot so that it covers no data.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from(("sans-serif", 16).into_font());
    for (i, (name, color)) in entries.iter().enumerate() {
        let y = 30 + 26 * i as i32;
        area.draw(&Rectangle::new([(8, y - 7), (22, y + 7)], color.filled()))
            .map_err(err)?;
        area.draw_text(name, &style, (30, y - 9)).map_err(err)?;
    }
    Ok(())
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
            .filter(|(x, y)| chart.drawable(*x, *y))
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
            Style::Triangles => {
                ctx.draw_series(
                    pts.iter()
                        .map(|&p| TriangleMarker::new(p, 6, color.filled())),
                )
                .map_err(err)?
                .label(&s.name)
                .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, legend_color.filled()));
            }
        }
    }
    let small = TextStyle::from(("sans-serif", 13).into_font());
    let drawable = |x: f64, y: f64| chart.drawable(x, y);
    let anchors: Vec<(i32, i32)> = chart
        .point_labels
        .iter()
        .filter(|(x, y, _)| drawable(*x, *y))
        .map(|(x, y, _)| ctx.backend_coord(&(axis(*x, lx), axis(*y, ly))))
        .collect();
    // Labels keep clear of every labelled point's marker and of each other.
    let mut taken: Vec<LabelBox> = anchors
        .iter()
        .map(|&(x, y)| LabelBox {
            x0: x - 5,
            y0: y - 5,
            x1: x + 6,
            y1: y + 6,
        })
        .collect();
    let labels = chart
        .point_labels
        .iter()
        .filter(|(x, y, _)| drawable(*x, *y));
    for (&at, (_, _, text)) in anchors.iter().zip(labels) {
        let (spot, moved) = free_spot(&taken, at, text);
        if moved {
            let end_x = if spot.x0 > at.0 { spot.x0 } else { spot.x1 };
            root.draw(&PathElement::new(
                vec![at, (end_x, (spot.y0 + spot.y1) / 2)],
                RGBColor(150, 150, 150).stroke_width(1),
            ))
            .map_err(err)?;
        }
        root.draw_text(text, &small, (spot.x0, spot.y0))
            .map_err(err)?;
        taken.push(spot);
    }
    let corner = legend_corner(
        chart,
        |x, y| ctx.backend_coord(&(axis(x, lx), axis(y, ly))),
        ctx.plotting_area().get_pixel_range(),
    );
    ctx.configure_series_labels()
        .position(corner)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Something that draws itself on a plotters drawing area: a line
/// [`Chart`], a [`Heatmap`] or horizontal [`Bars`].
pub trait Plot {
    /// Draw on `root` (white background included).
    fn draw_on<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static;
}

impl Plot for Chart {
    fn draw_on<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        draw(root, self)
    }
}

/// Write `plot` as a PNG file.
pub fn write_png(plot: &impl Plot, path: &Path) -> Result<(), PlotError> {
    register_font();
    plot.draw_on(BitMapBackend::new(path, SIZE).into_drawing_area())
        .map_err(|e| err(format!("{}: {e}", path.display())))
}

/// `plot` as SVG text.
pub fn svg(plot: &impl Plot) -> Result<String, PlotError> {
    register_font();
    let mut out = String::new();
    plot.draw_on(SVGBackend::with_string(&mut out, SIZE).into_drawing_area())?;
    Ok(svg_text::outline_text(&out))
}

/// Write `plot` as `dir/stem.png` and `dir/stem.svg`, creating `dir`; each
/// file whole or not at all ([`files::write_via`]), so an interrupted run
/// never leaves a truncated chart.
pub fn write_png_and_svg(plot: &impl Plot, dir: &Path, stem: &str) -> Result<(), PlotError> {
    std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
    let png = dir.join(format!("{stem}.png"));
    files::write_via(&png, true, |tmp| {
        write_png(plot, tmp).map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(|e| err(format!("{}: {e}", png.display())))?;
    let text = svg(plot)?;
    let svg_path = dir.join(format!("{stem}.svg"));
    files::write_via(&svg_path, true, |tmp| std::fs::write(tmp, &text))
        .map_err(|e| err(format!("{}: {e}", svg_path.display())))
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
            point_labels: vec![(32.0, 0.02, "first point".into())],
        }
    }

    #[test]
    fn svg_is_deterministic_and_has_text() {
        let a = svg(&chart()).unwrap();
        assert_eq!(a, svg(&chart()).unwrap());
        // Text is drawn as glyph outlines; the strings stay as labels.
        assert!(!a.contains("<text") && a.contains("<use"));
        assert!(a.contains("4096") || a.contains("1000"));
        assert!(a.contains("first point"));
    }

    /// A label goes above right of its point; when that spot is taken it
    /// moves (and says so); when every spot is taken it still gets one.
    #[test]
    fn free_spot_moves_labels_and_never_drops_one() {
        let (first, moved) = free_spot(&[], (100, 100), "abc");
        assert!(!moved);
        assert_eq!((first.x0, first.y0, first.x1 - first.x0), (107, 85, 21));
        let (second, moved) = free_spot(&[first], (100, 100), "abc");
        assert!(moved && !second.overlaps(&first));
        let wall = LabelBox {
            x0: -1000,
            y0: -1000,
            x1: 1000,
            y1: 1000,
        };
        let (forced, moved) = free_spot(&[wall], (100, 100), "abc");
        assert!(!moved && forced.x0 == first.x0 && forced.y0 == first.y0);
    }

    /// With data crowding the upper left, the legend goes to another corner.
    #[test]
    fn legend_avoids_the_corner_with_data() {
        let mut c = chart();
        c.log_x = false;
        c.log_y = false;
        c.series[0].points = (0..50).map(|i| (f64::from(i) * 0.01, 1.0)).collect();
        let to_pixel = |x: f64, y: f64| ((x * 1000.0) as i32, ((1.0 - y) * 600.0) as i32);
        let corner = legend_corner(&c, to_pixel, (0..1000, 0..600));
        assert!(!matches!(corner, SeriesLabelPosition::UpperLeft));
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
