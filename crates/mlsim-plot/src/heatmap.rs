//! Heatmaps of categories over a 2-D grid (the fastest dtype over M and K).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{Plot, PlotError, axis, draw_legend, err, label, legend_width, titled};

/// A grid of cells, each coloured by a category (or left blank), with the
/// categories' legend to the right of the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
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
    /// Cell boundaries along x: one more than the columns, increasing.
    pub x_edges: Vec<f64>,
    /// Cell boundaries along y: one more than the rows, increasing.
    pub y_edges: Vec<f64>,
    /// `cells[row][column]`: row along y, column along x; an index into
    /// `categories`, or `None` for a blank cell.
    pub cells: Vec<Vec<Option<usize>>>,
    /// Legend entries: name and colour.
    pub categories: Vec<(String, RGBColor)>,
}

impl Heatmap {
    fn check(&self) -> Result<(), PlotError> {
        let increasing = |e: &[f64], log: bool| {
            e.len() >= 2
                && e.iter().all(|v| v.is_finite() && (!log || *v > 0.0))
                && e.windows(2).all(|w| w[0] < w[1])
        };
        if !increasing(&self.x_edges, self.log_x) || !increasing(&self.y_edges, self.log_y) {
            return Err(err(format!("{}: cell edges must increase", self.title)));
        }
        let columns = self.x_edges.len() - 1;
        if self.cells.len() != self.y_edges.len() - 1
            || self.cells.iter().any(|row| row.len() != columns)
        {
            return Err(err(format!(
                "{}: cells must be {} rows of {columns}",
                self.title,
                self.y_edges.len() - 1
            )));
        }
        if let Some(bad) = self
            .cells
            .iter()
            .flatten()
            .flatten()
            .find(|&&c| c >= self.categories.len())
        {
            return Err(err(format!("{}: no category {bad}", self.title)));
        }
        Ok(())
    }
}

impl Plot for Heatmap {
    fn draw_on<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        self.check()?;
        let body = titled(&root, &self.title)?;
        let (plot_area, legend_area) = body.split_horizontally(
            body.dim_in_pixel().0 - legend_width(self.categories.iter().map(|c| c.0.as_str())),
        );
        let (lx, ly) = (self.log_x, self.log_y);
        let xs = (
            axis(self.x_edges[0], lx),
            axis(*self.x_edges.last().expect("checked"), lx),
        );
        let ys = (
            axis(self.y_edges[0], ly),
            axis(*self.y_edges.last().expect("checked"), ly),
        );
        let mut ctx = ChartBuilder::on(&plot_area)
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(80)
            .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)
            .map_err(err)?;
        ctx.configure_mesh()
            .disable_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .axis_desc_style(("sans-serif", 20))
            .label_style(("sans-serif", 16))
            .x_label_formatter(&|v| label(*v, lx))
            .y_label_formatter(&|v| label(*v, ly))
            .draw()
            .map_err(err)?;
        for (row, cells) in self.cells.iter().enumerate() {
            let (y0, y1) = (axis(self.y_edges[row], ly), axis(self.y_edges[row + 1], ly));
            for (col, cell) in cells.iter().enumerate() {
                let Some(cat) = cell else { continue };
                let (x0, x1) = (axis(self.x_edges[col], lx), axis(self.x_edges[col + 1], lx));
                let color = self.categories[*cat].1;
                ctx.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (x1, y1)],
                    color.filled(),
                )))
                .map_err(err)?;
            }
        }
        // Only the categories that appear, in the legend's order.
        let used: Vec<(String, RGBColor)> = self
            .categories
            .iter()
            .enumerate()
            .filter(|(i, _)| self.cells.iter().flatten().any(|c| *c == Some(*i)))
            .map(|(_, (name, c))| (name.clone(), *c))
            .collect();
        draw_legend(&legend_area, &used)?;
        root.present().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PALETTE;

    fn map() -> Heatmap {
        Heatmap {
            title: "fastest".into(),
            x_label: "K".into(),
            y_label: "M".into(),
            log_x: true,
            log_y: true,
            x_edges: vec![1.0, 10.0, 100.0],
            y_edges: vec![1.0, 10.0],
            cells: vec![vec![Some(0), Some(1)]],
            categories: vec![
                ("fp16".into(), PALETTE[0]),
                ("int8".into(), PALETTE[1]),
                ("fp8".into(), PALETTE[2]),
            ],
        }
    }

    #[test]
    fn legend_lists_only_categories_in_use() {
        let svg = crate::svg(&map()).unwrap();
        assert!(svg.contains("fp16") && svg.contains("int8"));
        assert!(!svg.contains("fp8"), "fp8 colours no cell");
    }

    #[test]
    fn malformed_grids_are_errors_not_panics() {
        let mut m = map();
        m.cells = vec![vec![Some(0)]];
        assert!(crate::svg(&m).is_err());
        let mut m = map();
        m.cells = vec![vec![Some(0), Some(7)]];
        assert!(crate::svg(&m).is_err());
        let mut m = map();
        m.x_edges = vec![10.0, 1.0, 100.0];
        assert!(crate::svg(&m).is_err());
    }
}
