//! Out-of-sample scores: leave-one-size-out and leave-one-chip-out
//! cross-validation, and the original's "holdout" (launch constant read off
//! the smallest size).

use rayon::prelude::*;

use crate::error::CalibrateError;
use crate::fit::{Param, Sample, fit_samples_with_tiles, fit_with_tiles};
use crate::measurements::Measurement;
use crate::metrics::ErrorSummary;
use crate::targets::RowTargets;
use crate::validate::{Point, Shape, distinct_sizes, points, summary};

/// Most fits a size cross-validation makes: each size is left out alone
/// up to this many sizes (leave-one-size-out); a file with more (say a
/// published dataset of thousands of shapes) gets this many folds of
/// sizes instead, so that the fits do not grow with the file and the
/// cross-validation stays linear in its rows (one fit per size made it
/// quadratic: 100 distinct shapes took 42 s to calibrate, 200 took 243 s).
pub const MAX_SIZE_FOLDS: usize = 100;

/// What [`leave_one_size_out`] does for `measured`, in words for reports.
pub fn size_cv_name(measured: &[Measurement]) -> &'static str {
    if distinct_sizes(measured).len() <= MAX_SIZE_FOLDS {
        "leave-one-size-out"
    } else {
        "100-fold by size"
    }
}

/// The fold of each of `sizes` (sorted, distinct): its own up to
/// [`MAX_SIZE_FOLDS`] sizes; beyond, the j-th size in fold
/// j mod [`MAX_SIZE_FOLDS`], so that every fold spans small to large.
pub fn size_folds(sizes: usize) -> Vec<usize> {
    (0..sizes).map(|j| j % MAX_SIZE_FOLDS).collect()
}

/// Leave-one-size-out: for every shape, fit `params` (and the kernel tiles
/// of `tile_dtypes`) on all other shapes and predict that one; with more
/// than [`MAX_SIZE_FOLDS`] shapes, the same over that many folds of shapes
/// ([`size_folds`], [`size_cv_name`]). Returns the held-out points (in
/// measurement order).
pub fn leave_one_size_out(
    rows: &RowTargets,
    params: &[Param],
    tile_dtypes: &[mlsim_quant::Dtype],
    measured: &[Measurement],
) -> Result<Vec<Point>, CalibrateError> {
    let shapes = distinct_sizes(measured);
    if shapes.len() < 2 {
        return Err(CalibrateError::Unsupported(
            "leave-one-size-out needs measurements at two or more sizes".into(),
        ));
    }
    let fold_of_size = size_folds(shapes.len());
    let fold_of_row: Vec<usize> = measured
        .iter()
        .map(|m| {
            let j = shapes
                .binary_search(&m.size())
                .expect("every row's size is among the distinct sizes");
            fold_of_size[j]
        })
        .collect();
    let folds = fold_of_size.iter().max().map_or(0, |f| f + 1);
    // Folds are independent: fit them in parallel; the result is put back
    // in measurement order, so it does not depend on the thread count.
    let folds: Vec<Result<Vec<(usize, Point)>, CalibrateError>> = (0..folds)
        .into_par_iter()
        .map(|fold| {
            let test_idx: Vec<usize> = (0..measured.len())
                .filter(|&i| fold_of_row[i] == fold)
                .collect();
            let train: Vec<Measurement> = measured
                .iter()
                .zip(&fold_of_row)
                .filter(|&(_, &f)| f != fold)
                .map(|(m, _)| m.clone())
                .collect();
            let fitted = fit_with_tiles(rows, params, tile_dtypes, &train)?;
            let test: Vec<Measurement> = test_idx.iter().map(|&i| measured[i].clone()).collect();
            Ok(test_idx
                .into_iter()
                .zip(points(&rows.with_setup(fitted.setup), &test))
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

/// The out-of-sample score a calibration records, with its name: over
/// several files, leave-one-chip-out when they are of two chips or more
/// (none for one chip's files); over one file, its size cross-validation
/// ([`leave_one_size_out`], [`size_cv_name`]). `None` where it cannot be
/// scored (one size, one chip).
pub fn calibration_score(
    samples: &[Sample<'_>],
    params: &[Param],
    tile_dtypes: &[mlsim_quant::Dtype],
) -> Option<(ErrorSummary, &'static str)> {
    match samples {
        [] => None,
        [one] => leave_one_size_out(one.rows, params, tile_dtypes, one.measured)
            .ok()
            .as_deref()
            .and_then(summary)
            .map(|s| (s, size_cv_name(one.measured))),
        several => {
            let chips: std::collections::BTreeSet<&str> = several
                .iter()
                .map(|c| c.rows.setup.chip.name.as_str())
                .collect();
            (chips.len() > 1)
                .then(|| leave_one_chip_out(several, params, tile_dtypes).ok())
                .flatten()
                .and_then(|held| summary(&held.concat()))
                .map(|s| (s, "leave-one-chip-out"))
        }
    }
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
pub fn holdout(rows: &RowTargets, measured: &[Measurement]) -> Result<Holdout, CalibrateError> {
    // GEMM rows only: a launch constant is read off the smallest GEMM.
    let smallest = measured
        .iter()
        .filter(|m| m.is_gemm())
        .map(Measurement::shape)
        .min_by(|a, b| {
            let f = |s: &Shape| s.0 as f64 * s.1 as f64 * s.2 as f64;
            f(a).total_cmp(&f(b)).then(a.cmp(b))
        })
        .ok_or_else(|| CalibrateError::Unsupported("no measurements".into()))?;
    let mut base = rows.setup.clone();
    Param::LaunchOverhead.set(&mut base, 0.0);
    let on = |setup: &mlsim_hw::Setup| rows.with_setup(setup.clone());
    let (calib, rest): (Vec<Measurement>, Vec<Measurement>) = measured
        .iter()
        .cloned()
        .partition(|m| m.is_gemm() && m.shape() == smallest);
    if rest.is_empty() {
        return Err(CalibrateError::Unsupported(
            "the holdout needs more than one size".into(),
        ));
    }
    let excess: f64 = points(&on(&base), &calib)
        .iter()
        .map(|p| p.measured_ms - p.predicted_ms)
        .sum::<f64>()
        / calib.len() as f64;
    let launch_us = (excess * 1e3).max(0.0);
    Param::LaunchOverhead.set(&mut base, launch_us);
    Ok(Holdout {
        launch_us,
        from_shape: smallest,
        points: points(&on(&base), &rest),
    })
}

/// Leave-one-chip-out: for every chip among `samples` (measurement sets of
/// chips that share one stack), fit the stack's `params` (and the tiles of
/// `tile_dtypes`) on the other chips' sets only and predict this chip's.
/// Returns the held-out points of each sample, in sample order. The host's
/// terms (floor, timing overhead) are not fitted: each set keeps its own
/// (measured, given, or the framework's), as a host is not a property of
/// the library.
pub fn leave_one_chip_out(
    samples: &[Sample<'_>],
    params: &[Param],
    tile_dtypes: &[mlsim_quant::Dtype],
) -> Result<Vec<Vec<Point>>, CalibrateError> {
    let chip_of = |s: &Sample<'_>| s.rows.setup.chip.name.clone();
    let mut chips: Vec<String> = samples.iter().map(chip_of).collect();
    chips.sort();
    chips.dedup();
    if chips.len() < 2 {
        return Err(CalibrateError::Unsupported(
            "leave-one-chip-out needs measurements of two or more chips\n  hint: give several --hw/--measurements pairs".into(),
        ));
    }
    let stack = &samples[0].rows.setup.stack.name;
    if let Some(other) = samples.iter().find(|s| s.rows.setup.stack.name != *stack) {
        return Err(CalibrateError::Unsupported(format!(
            "leave-one-chip-out transfers one stack between chips, but `{}` uses `{}` and `{}` uses `{stack}`\n  hint: pass --stack to use one stack for all",
            other.rows.setup.chip.name,
            other.rows.setup.stack.name,
            samples[0].rows.setup.chip.name
        )));
    }
    let params: Vec<Param> = params
        .iter()
        .copied()
        .filter(|p| !matches!(p, Param::LaunchOverhead | Param::TimingOverhead))
        .collect();
    // Per chip: (sample index, its held-out points) for each of its samples.
    type Fold = Result<Vec<(usize, Vec<Point>)>, CalibrateError>;
    let folds: Vec<Fold> = chips
        .par_iter()
        .map(|chip| {
            let train: Vec<Sample<'_>> = samples
                .iter()
                .filter(|s| chip_of(s) != *chip)
                .copied()
                .collect();
            let fitted = fit_samples_with_tiles(&train, &params, tile_dtypes)?;
            Ok(samples
                .iter()
                .enumerate()
                .filter(|(_, s)| chip_of(s) == *chip)
                .map(|(i, s)| {
                    // The library transfers; the host stays the held-out
                    // file's own (its stack's `[host]`, if any).
                    let mut setup = s.rows.setup.clone();
                    let own = &s.rows.setup.stack;
                    setup.stack = mlsim_hw::Stack {
                        host_floor_s: own.host_floor_s,
                        host_timing_overhead_s: own.host_timing_overhead_s,
                        ..fitted.setup.stack.clone()
                    };
                    (i, points(&s.rows.with_setup(setup), s.measured))
                })
                .collect())
        })
        .collect();
    let mut out: Vec<Vec<Point>> = vec![Vec::new(); samples.len()];
    for fold in folds {
        for (i, pts) in fold? {
            out[i] = pts;
        }
    }
    Ok(out)
}

/// A host floor read off a measurement set's smallest size: the median over
/// its rows there of what the measurement leaves once the model's kernel
/// time is taken off, each divided by the framework's factor for its dtype
/// (per-call timing of a kernel shorter than the timing code pays the
/// floor plus the kernel). A reading of the harness, not a measurement of
/// the host: label it so wherever it is used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloorReadOff {
    /// The floor, microseconds.
    pub us: f64,
    /// The shape it was read from.
    pub shape: Shape,
}

/// Read the host floor off the smallest size of `measured` (by FLOPs) on
/// `rows`' targets; `None` for an empty set.
pub fn host_floor_from_smallest(
    rows: &RowTargets,
    measured: &[Measurement],
) -> Option<FloorReadOff> {
    let flops = |s: &Shape| s.0 as f64 * s.1 as f64 * s.2 as f64;
    // GEMM rows only: a memory probe is another kind of kernel.
    let gemms = || {
        measured
            .iter()
            .filter(|m| m.op == crate::measurements::MeasuredOp::Gemm)
    };
    let shape = gemms()
        .map(Measurement::shape)
        .min_by(|a, b| flops(a).total_cmp(&flops(b)).then(a.cmp(b)))?;
    let mut floors: Vec<f64> = gemms()
        .filter(|m| m.shape() == shape)
        .map(|m| {
            let t = rows.target(m).with_timing(mlsim_hw::Timing::Kernel);
            let kernel_ms = mlsim_engine::predict_matmul(&t, m.m, m.n, m.k, m.dtype).runtime_ms;
            let factor = if t.uses_stack() {
                t.framework.dtype_floor_factor(m.dtype)
            } else {
                1.0
            };
            ((m.runtime_ms - kernel_ms) * 1e3 / factor).max(0.0)
        })
        .collect();
    floors.sort_by(f64::total_cmp);
    let n = floors.len();
    let us = if n % 2 == 1 {
        floors[n / 2]
    } else {
        (floors[n / 2 - 1] + floors[n / 2]) / 2.0
    };
    Some(FloorReadOff { us, shape })
}
