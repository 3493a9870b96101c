//! A chip's scores on a measurement set, in sample and out of sample: what
//! `mlsim validate` prints and what the paper's validation table shows.

use crate::cv::leave_one_size_out;
use crate::error::CalibrateError;
use crate::fit::{Param, default_params, fit_with_tiles, tile_paths};
use crate::measurements::Measurement;
use crate::metrics::ErrorSummary;
use crate::targets::RowTargets;
use crate::validate::{
    Fastest, Point, Verdict, distinct_sizes, points, summary, verdicts_and_fastest,
};

/// The fit of a chip's free parameters, scored in sample and leaving one
/// size out.
#[derive(Debug, Clone)]
pub struct FittedScores {
    /// The parameters fitted (their chip-file paths), kernel tiles included.
    pub params: Vec<String>,
    /// Fitted on every point, scored on the same points.
    pub in_sample: ErrorSummary,
    /// The in-sample predictions, in measurement order.
    pub in_sample_points: Vec<Point>,
    /// Each size predicted by a fit that never saw it.
    pub loso: ErrorSummary,
    /// The held-out predictions, in measurement order.
    pub loso_points: Vec<Point>,
}

/// Scores of one chip on one measurement set.
#[derive(Debug, Clone)]
pub struct Scorecard {
    /// The chip as given: every point.
    pub points: Vec<Point>,
    /// Their error summary.
    pub as_given: ErrorSummary,
    /// "Faster than fp32?" per size and dtype, measured against predicted.
    pub verdicts: Vec<Verdict>,
    /// Fastest dtype per size, measured against predicted.
    pub fastest: Vec<Fastest>,
    /// The fitted scores; `None` when asked not to fit or when the set has
    /// a single size (nothing to leave out).
    pub fitted: Option<FittedScores>,
}

impl Scorecard {
    /// Score `rows` (a chip with its stack and timing) on `measured`; with
    /// `cross_validate`, also fit its default free parameters (as `mlsim
    /// calibrate` does) in sample and leaving one size out.
    pub fn new(
        rows: &RowTargets,
        measured: &[Measurement],
        cross_validate: bool,
    ) -> Result<Self, CalibrateError> {
        let pts = points(rows, measured);
        let as_given = summary(&pts).ok_or_else(|| {
            CalibrateError::Unsupported(format!(
                "no measurements to score {} on",
                rows.setup.chip.name
            ))
        })?;
        let fitted = if cross_validate && sizes(measured) >= 2 {
            let params: Vec<Param> = default_params(rows, measured);
            let tiles = tile_paths(&rows.setup, measured);
            let fit = fit_with_tiles(rows, &params, &tiles, measured)?;
            let in_sample_points = points(&rows.with_setup(fit.setup.clone()), measured);
            let in_sample = summary(&in_sample_points).expect("non-empty");
            let loso_points = leave_one_size_out(rows, &params, &tiles, measured)?;
            let loso = summary(&loso_points).expect("non-empty");
            let mut names: Vec<String> = params.iter().map(|p| p.field_path(&rows.setup)).collect();
            names.extend(
                tiles
                    .iter()
                    .map(|d| crate::fit::tiles_field(&rows.setup, *d)),
            );
            if !tiles.is_empty() && rows.setup.stack.kernel.split_k {
                names.push("paths.<dtype>.split_k (where it helps)".into());
            }
            Some(FittedScores {
                params: names,
                in_sample,
                in_sample_points,
                loso,
                loso_points,
            })
        } else {
            None
        };
        let (verdicts, fastest) = verdicts_and_fastest(&pts);
        Ok(Self {
            verdicts,
            fastest,
            points: pts,
            as_given,
            fitted,
        })
    }

    /// Right "faster than fp32?" verdicts, and how many are scored: those
    /// whose measured gap exceeds the run-to-run spread (every verdict,
    /// where the file gives no spread).
    pub fn verdicts_right(&self) -> (usize, usize) {
        let scored: Vec<&Verdict> = self.verdicts.iter().filter(|v| v.resolved).collect();
        let right = scored
            .iter()
            .filter(|v| v.measured_faster == v.predicted_faster)
            .count();
        (right, scored.len())
    }

    /// Verdicts not scored: the measured gap is within the spread.
    pub fn verdicts_within_spread(&self) -> usize {
        self.verdicts.iter().filter(|v| !v.resolved).count()
    }

    /// Sizes whose fastest dtype is predicted right, and how many sizes are
    /// scored (as for the verdicts).
    pub fn fastest_right(&self) -> (usize, usize) {
        let scored: Vec<&Fastest> = self.fastest.iter().filter(|f| f.resolved).collect();
        let right = scored.iter().filter(|f| f.measured == f.predicted).count();
        (right, scored.len())
    }

    /// Sizes not scored for the fastest dtype: the runner-up is within the
    /// spread.
    pub fn fastest_within_spread(&self) -> usize {
        self.fastest.iter().filter(|f| !f.resolved).count()
    }

    /// Points predicted outside the measured spread, and points with a
    /// known spread.
    pub fn outside_spread(&self) -> (usize, usize) {
        let known: Vec<bool> = self
            .points
            .iter()
            .filter_map(Point::outside_spread)
            .collect();
        (known.iter().filter(|o| **o).count(), known.len())
    }
}

/// Distinct shapes in a measurement set.
pub fn sizes(measured: &[Measurement]) -> usize {
    distinct_sizes(measured).len()
}
