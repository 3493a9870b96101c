//! Out-of-sample scores: leave-one-size-out cross-validation and the
//! original's "holdout" (launch constant read off the smallest size).

use mlsim_hw::Chip;
use rayon::prelude::*;

use crate::error::CalibrateError;
use crate::fit::{Param, fit_with_tiles};
use crate::measurements::Measurement;
use crate::validate::{Point, Shape, distinct_shapes, points};

/// Leave-one-size-out: for every shape, fit `params` (and the kernel tiles
/// of `tile_dtypes`) on all other shapes and predict that one. Returns the held-out points (in measurement order).
pub fn leave_one_size_out(
    chip: &Chip,
    params: &[Param],
    tile_dtypes: &[mlsim_quant::Dtype],
    measured: &[Measurement],
) -> Result<Vec<Point>, CalibrateError> {
    let shapes = distinct_shapes(measured);
    if shapes.len() < 2 {
        return Err(CalibrateError::Unsupported(
            "leave-one-size-out needs measurements at two or more sizes".into(),
        ));
    }
    // Folds are independent: fit them in parallel; the result is put back
    // in measurement order, so it does not depend on the thread count.
    let folds: Vec<Result<Vec<(usize, Point)>, CalibrateError>> = shapes
        .par_iter()
        .map(|&shape| {
            let test_idx: Vec<usize> = (0..measured.len())
                .filter(|&i| measured[i].shape() == shape)
                .collect();
            let train: Vec<Measurement> = measured
                .iter()
                .filter(|m| m.shape() != shape)
                .cloned()
                .collect();
            let fitted = fit_with_tiles(chip, params, tile_dtypes, &train)?;
            let test: Vec<Measurement> = test_idx.iter().map(|&i| measured[i].clone()).collect();
            Ok(test_idx
                .into_iter()
                .zip(points(&fitted.chip, &test))
                .collect())
        })
        .collect();
    let mut held_out: Vec<(usize, Point)> = Vec::with_capacity(measured.len());
    for fold in folds {
        held_out.extend(fold?);
    }
    held_out.sort_by_key(|(i, _)| *i);
    Ok(held_out.into_iter().map(|(_, p)| p).collect())
}

/// The original's holdout: a launch constant equal to the mean excess of
/// the measured over the predicted runtime at the smallest size (the
/// model's own launch overhead set to 0 first), then the other sizes
/// predicted with it.
#[derive(Debug, Clone)]
pub struct Holdout {
    /// The launch constant read off the smallest size, microseconds.
    pub launch_us: f64,
    /// The shape it was read from.
    pub from_shape: Shape,
    /// The other points, predicted with it.
    pub points: Vec<Point>,
}

/// Run the original's holdout variant.
pub fn holdout(chip: &Chip, measured: &[Measurement]) -> Result<Holdout, CalibrateError> {
    let smallest = measured
        .iter()
        .map(Measurement::shape)
        .min_by(|a, b| {
            let f = |s: &Shape| s.0 as f64 * s.1 as f64 * s.2 as f64;
            f(a).total_cmp(&f(b)).then(a.cmp(b))
        })
        .ok_or_else(|| CalibrateError::Unsupported("no measurements".into()))?;
    let mut base = chip.clone();
    Param::LaunchOverhead.set(&mut base, 0.0);
    let (calib, rest): (Vec<Measurement>, Vec<Measurement>) = measured
        .iter()
        .cloned()
        .partition(|m| m.shape() == smallest);
    if rest.is_empty() {
        return Err(CalibrateError::Unsupported(
            "the holdout needs more than one size".into(),
        ));
    }
    let excess: f64 = points(&base, &calib)
        .iter()
        .map(|p| p.measured_ms - p.predicted_ms)
        .sum::<f64>()
        / calib.len() as f64;
    let launch_us = (excess * 1e3).max(0.0);
    Param::LaunchOverhead.set(&mut base, launch_us);
    Ok(Holdout {
        launch_us,
        from_shape: smallest,
        points: points(&base, &rest),
    })
}
