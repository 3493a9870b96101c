//! Horizontal grouped bars: one row per category (a workload), one bar per
//! series (a chip) in each row.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{PALETTE, Plot, PlotError, axis, draw_legend, err, label, legend_width, range, titled};

/// Grouped horizontal bars with the category names to the left of their
/// rows and the series' legend to the right of the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// Title.
    pub title: String,
    /// Value axis label, with unit.
    pub x_label: String,
    /// Log-scale value axis.
    pub log_x: bool,
    /// Row names, drawn top to bottom.
    pub categories: Vec<String>,
    /// Series: legend name, index into [`PALETTE`], one value per category
    /// (a non-finite or, on a log axis, non-positive value draws no bar).
    pub series: Vec<(String, usize, Vec<f64>)>,
}

impl Plot for Bars {
    fn draw_on<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        if let Some((name, ..)) = self
            .series
            .iter()
            .find(|s| s.2.len() != self.categories.len())
        {
            return Err(err(format!(
                "{}: series `{name}` needs one value per category ({})",
                self.title,
                self.categories.len()
            )));
        }
        let body = titled(&root, &self.title)?;
        let (plot_area, legend_area) = body.split_horizontally(
            body.dim_in_pixel().0 - legend_width(self.series.iter().map(|s| s.0.as_str())),
        );
        let lx = self.log_x;
        let (x0, x1) = range(self.series.iter().flat_map(|s| s.2.iter().copied()), lx);
        let rows = self.categories.len().max(1) as f64;
        // Room for the longest row name at 14 px (about 7.5 px a character).
        let longest = self.categories.iter().map(|c| c.chars().count()).max();
        let name_width = (longest.unwrap_or(0) as f64 * 7.5) as u32 + 16;
        let mut ctx = ChartBuilder::on(&plot_area)
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(name_width.clamp(40, 360))
            .build_cartesian_2d(x0..x1, 0.0..rows)
            .map_err(err)?;
        ctx.configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(&self.x_label)
            .axis_desc_style(("sans-serif", 20))
            .label_style(("sans-serif", 16))
            .x_label_formatter(&|v| label(*v, lx))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
        let band = 0.8 / self.series.len().max(1) as f64;
        for (si, (_, color, values)) in self.series.iter().enumerate() {
            let color = PALETTE[color % PALETTE.len()];
            for (row, v) in values.iter().enumerate() {
                if !v.is_finite() || (lx && *v <= 0.0) {
                    continue;
                }
                // Row 0 at the top.
                let top = rows - row as f64 - 0.1 - band * si as f64;
                ctx.draw_series(std::iter::once(Rectangle::new(
                    [(x0, top - band), (axis(*v, lx), top)],
                    color.filled(),
                )))
                .map_err(err)?;
            }
        }
        let style = TextStyle::from(("sans-serif", 14).into_font())
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (row, name) in self.categories.iter().enumerate() {
            let (px, py) = ctx.backend_coord(&(x0, rows - row as f64 - 0.5));
            let (ox, oy) = plot_area.get_base_pixel();
            plot_area
                .draw_text(name, &style, (px - ox - 6, py - oy))
                .map_err(err)?;
        }
        let entries: Vec<(String, RGBColor)> = self
            .series
            .iter()
            .map(|(name, c, _)| (name.clone(), PALETTE[c % PALETTE.len()]))
            .collect();
        draw_legend(&legend_area, &entries)?;
        root.present().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_rows_and_refuses_ragged_series() {
        let mut bars = Bars {
            title: "runtime".into(),
            x_label: "ms".into(),
            log_x: true,
            categories: vec!["QKV projection".into(), "MLP up".into()],
            series: vec![
                ("t4".into(), 0, vec![1.0, 2.0]),
                ("h100".into(), 1, vec![0.1, f64::NAN]),
            ],
        };
        let svg = crate::svg(&bars).unwrap();
        for text in ["QKV projection", "MLP up", "t4", "h100"] {
            assert!(svg.contains(text), "{text}");
        }
        bars.series[1].2.pop();
        assert!(crate::svg(&bars).is_err());
    }
}
