//! Fitting a chip's free parameters to measurements by minimising the
//! squared log error of the predictions (Nelder-Mead, argmin).
//!
//! The fit is model-agnostic: a [`Param`] sets a value on a copy of the
//! chip and the engine predicts; nothing here knows the model's formulas.
//! Parameters are searched in an unconstrained space mapped onto their
//! physical range (efficiency through a logistic into (0, 1), multipliers
//! through exp, the launch overhead as a square), so every candidate is a
//! valid chip.

use argmin::core::{CostFunction, Executor};
use argmin::solver::neldermead::NelderMead;
use mlsim_hw::Chip;
use mlsim_quant::Dtype;
use rayon::prelude::*;

use crate::error::CalibrateError;
use crate::measurements::Measurement;

/// A fittable chip parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Param {
    /// `compute.efficiency`: achievable share of the fp32 peak.
    Efficiency,
    /// `compute.dtype_speedup.<dtype>`: throughput multiplier over fp32.
    Speedup(Dtype),
    /// `launch_overhead_us`: fixed cost per kernel.
    LaunchOverhead,
    /// `compute.paths.<dtype>.efficiency`: achievable share of a compute
    /// path's peak (chips with compute paths, arch `gpu`).
    PathEfficiency(Dtype),
    /// `compute.paths.<dtype>.sustained_clock_ghz`: the clock a native path
    /// sustains (at most the boost clock `frequency_ghz`).
    PathClock(Dtype),
    /// `compute.paths.<dtype>.launch_overhead_us`: the launch cost of one
    /// dtype's library entry point.
    PathLaunch(Dtype),
}

impl Param {
    /// The field path in a chip file.
    pub fn field_path(&self) -> String {
        match self {
            Param::Efficiency => "compute.efficiency".into(),
            Param::Speedup(d) => format!("compute.dtype_speedup.{d}"),
            Param::LaunchOverhead => "launch_overhead_us".into(),
            Param::PathEfficiency(d) => format!("compute.paths.{d}.efficiency"),
            Param::PathClock(d) => format!("compute.paths.{d}.sustained_clock_ghz"),
            Param::PathLaunch(d) => format!("compute.paths.{d}.launch_overhead_us"),
        }
    }

    /// The value in file units (launch overhead in microseconds).
    pub fn get(&self, chip: &Chip) -> f64 {
        match self {
            Param::Efficiency => chip.compute.efficiency,
            Param::Speedup(d) => chip.compute.speedup(*d),
            Param::LaunchOverhead => chip.launch_overhead_s * 1e6,
            Param::PathEfficiency(d) => chip
                .compute
                .paths
                .get(*d)
                .map_or(chip.compute.efficiency, |p| p.efficiency),
            Param::PathLaunch(d) => chip.launch_overhead_s(*d) * 1e6,
            Param::PathClock(d) => match chip.compute.paths.get(*d).map(|p| &p.kind) {
                Some(mlsim_hw::PathKind::Native { clock_ratio, .. }) => {
                    clock_ratio * chip.frequency_hz / 1e9
                }
                _ => chip.frequency_hz / 1e9,
            },
        }
    }

    /// Set the value (file units), clamped into the range a chip file
    /// accepts, so a fitted chip always loads again.
    pub fn set(&self, chip: &mut Chip, value: f64) {
        match self {
            Param::Efficiency => chip.compute.efficiency = value.clamp(1e-6, 1.0),
            Param::Speedup(d) => {
                chip.compute
                    .dtype_speedup
                    .insert(*d, value.clamp(1e-4, 1e4));
            }
            Param::LaunchOverhead => {
                // One launch cost for the chip: per-dtype overrides would
                // shadow it.
                chip.launch_overhead_s = value.clamp(0.0, 1e6) / 1e6;
                for d in Dtype::ALL {
                    if let Some(path) = chip.compute.paths.get_mut(d) {
                        path.launch_overhead_s = None;
                    }
                }
            }
            Param::PathEfficiency(d) => {
                if let Some(path) = chip.compute.paths.get_mut(*d) {
                    path.efficiency = value.clamp(1e-6, 1.0);
                }
            }
            Param::PathLaunch(d) => {
                if let Some(path) = chip.compute.paths.get_mut(*d) {
                    path.launch_overhead_s = Some(value.clamp(0.0, 1e6) / 1e6);
                }
            }
            Param::PathClock(d) => {
                let boost_ghz = chip.frequency_hz / 1e9;
                if let Some(mlsim_hw::PathKind::Native { clock_ratio, .. }) =
                    chip.compute.paths.get_mut(*d).map(|p| &mut p.kind)
                {
                    *clock_ratio = (value / boost_ghz).clamp(1e-6, 1.0);
                }
            }
        }
    }

    fn search_coordinate(self, value: f64) -> f64 {
        match self {
            Param::Efficiency | Param::PathEfficiency(_) => {
                let v = value.clamp(1e-6, 1.0 - 1e-9);
                (v / (1.0 - v)).ln()
            }
            Param::Speedup(_) | Param::PathClock(_) => value.max(1e-9).ln(),
            Param::LaunchOverhead | Param::PathLaunch(_) => value.max(0.0).sqrt(),
        }
    }

    fn value_at(self, x: f64) -> f64 {
        match self {
            Param::Efficiency | Param::PathEfficiency(_) => 1.0 / (1.0 + (-x).exp()),
            Param::Speedup(_) | Param::PathClock(_) => x.exp(),
            Param::LaunchOverhead | Param::PathLaunch(_) => x * x,
        }
    }
}

impl std::fmt::Display for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.field_path())
    }
}

/// Parse `--params`: a comma-separated list of `efficiency` (for a chip
/// with compute paths: every measured dtype's path efficiency),
/// `efficiency.<dtype>`, `speedup` (every non-fp32 dtype measured),
/// `speedup.<dtype>`, `launch`, `launch.<dtype>` (one dtype path's launch
/// cost).
pub fn parse_params(
    spec: &str,
    chip: &Chip,
    measured: &[Measurement],
) -> Result<Vec<Param>, CalibrateError> {
    let mut out = Vec::new();
    let has_paths = !chip.compute.paths.is_empty();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(d) = item.strip_prefix("launch.") {
            let dtype: Dtype = d.parse().map_err(|e: mlsim_quant::UnknownDtype| {
                CalibrateError::Unsupported(e.to_string())
            })?;
            if !chip.compute.paths.contains(dtype) {
                return Err(CalibrateError::Unsupported(format!(
                    "{item}: chip `{}` has no {dtype} compute path\n  hint: fit `launch` for one launch cost",
                    chip.name
                )));
            }
            out.push(Param::PathLaunch(dtype));
            continue;
        }
        if let Some(d) = item.strip_prefix("efficiency.") {
            let dtype: Dtype = d.parse().map_err(|e: mlsim_quant::UnknownDtype| {
                CalibrateError::Unsupported(e.to_string())
            })?;
            if !chip.compute.paths.contains(dtype) {
                return Err(CalibrateError::Unsupported(format!(
                    "{item}: chip `{}` has no {dtype} compute path\n  hint: fit `efficiency` for a chip without compute paths",
                    chip.name
                )));
            }
            out.push(Param::PathEfficiency(dtype));
            continue;
        }
        match item {
            "efficiency" if has_paths => out.extend(
                path_dtypes(chip, measured)
                    .into_iter()
                    .map(Param::PathEfficiency),
            ),
            "efficiency" => out.push(Param::Efficiency),
            "launch" | "launch_overhead" | "launch_overhead_us" => out.push(Param::LaunchOverhead),
            "speedup" | "dtype_speedup" if has_paths => {
                return Err(CalibrateError::Unsupported(format!(
                    "`{item}`: chip `{}` uses the tiled GPU model, which does not read dtype multipliers\n  hint: fit `efficiency` (each measured dtype path's) or `efficiency.<dtype>`",
                    chip.name
                )));
            }
            "speedup" | "dtype_speedup" => {
                out.extend(measured_dtypes(measured).into_iter().map(Param::Speedup))
            }
            other if has_paths && other.contains("speedup.") => {
                return Err(CalibrateError::Unsupported(format!(
                    "`{other}`: chip `{}` uses the tiled GPU model, which does not read dtype multipliers\n  hint: fit `efficiency.<dtype>`",
                    chip.name
                )));
            }
            other => {
                let dtype = other
                    .strip_prefix("speedup.")
                    .or_else(|| other.strip_prefix("dtype_speedup."))
                    .ok_or_else(|| {
                        CalibrateError::Unsupported(format!(
                            "unknown parameter `{other}`\n  hint: choose from efficiency, efficiency.<dtype>, speedup, speedup.<dtype>, launch, launch.<dtype>"
                        ))
                    })?;
                let dtype: Dtype = dtype.parse().map_err(|e: mlsim_quant::UnknownDtype| {
                    CalibrateError::Unsupported(e.to_string())
                })?;
                if dtype == Dtype::Fp32 {
                    return Err(CalibrateError::Unsupported(
                        "speedup.fp32 is fixed at 1 (fp32 is the reference)\n  hint: fit `efficiency` instead".into(),
                    ));
                }
                out.push(Param::Speedup(dtype));
            }
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(CalibrateError::Unsupported("no parameters to fit".into()));
    }
    Ok(out)
}

/// Non-fp32 dtypes present in the measurements, sorted.
fn measured_dtypes(measured: &[Measurement]) -> Vec<Dtype> {
    let mut d: Vec<Dtype> = measured
        .iter()
        .map(|m| m.dtype)
        .filter(|d| *d != Dtype::Fp32)
        .collect();
    d.sort();
    d.dedup();
    d
}

/// Measured dtypes that have their own compute path on `chip`, sorted.
fn path_dtypes(chip: &Chip, measured: &[Measurement]) -> Vec<Dtype> {
    let mut d: Vec<Dtype> = measured
        .iter()
        .map(|m| m.dtype)
        .filter(|d| chip.compute.paths.contains(*d))
        .collect();
    d.sort();
    d.dedup();
    d
}

/// The default parameters for a chip and a measurement set. A chip with
/// compute paths (arch `gpu`): every measured dtype's path efficiency and
/// the launch overhead. Otherwise (the original's model): efficiency (when
/// fp32 is measured), the multiplier of every other measured dtype, and the
/// launch overhead.
pub fn default_params(chip: &Chip, measured: &[Measurement]) -> Vec<Param> {
    let mut out = Vec::new();
    if !chip.compute.paths.is_empty() {
        // A native path the chip file says runs below boost (a power-capped
        // part) fits its sustained clock, the uncertain physical quantity;
        // every other path fits its efficiency.
        for d in path_dtypes(chip, measured) {
            match chip.compute.paths.get(d).map(|p| &p.kind) {
                Some(mlsim_hw::PathKind::Native { clock_ratio, .. }) if *clock_ratio < 1.0 => {
                    out.push(Param::PathClock(d))
                }
                _ => out.push(Param::PathEfficiency(d)),
            }
        }
        // One launch cost for every dtype: a launch cost per dtype path
        // (`--params launch.<dtype>`) fits better in sample but predicts the
        // held-out H200 and T4 sizes worse (docs/model/launch-overhead.md).
        out.push(Param::LaunchOverhead);
        return out;
    }
    if measured.iter().any(|m| m.dtype == Dtype::Fp32) {
        out.push(Param::Efficiency);
    }
    out.extend(measured_dtypes(measured).into_iter().map(Param::Speedup));
    out.push(Param::LaunchOverhead);
    out
}

/// The outcome of a fit.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The chip with the fitted values set.
    pub chip: Chip,
    /// Each parameter and its fitted value (file units).
    pub values: Vec<(Param, f64)>,
    /// Compute paths whose tile list the fit narrowed: (dtype, tiles kept).
    pub tiles: Vec<(Dtype, Vec<(u32, u32)>)>,
    /// Root mean squared log error on the fitted points.
    pub rms_log_error: f64,
}

/// Dtypes whose kernel tiles a fit may choose: measured dtypes with a
/// compute path (arch `gpu`).
pub fn tile_paths(chip: &Chip, measured: &[Measurement]) -> Vec<Dtype> {
    path_dtypes(chip, measured)
}

/// The tiles a path uses (its own, or those of the path it runs through),
/// largest first.
fn effective_tiles(chip: &Chip, dtype: Dtype) -> Vec<(u32, u32)> {
    let Some((_, native, _)) = chip.resolve_path(dtype) else {
        return Vec::new();
    };
    let own = chip
        .compute
        .paths
        .get(dtype)
        .map(|p| &p.tiles)
        .filter(|t| !t.is_empty());
    let mut tiles = own.unwrap_or(&native.tiles).clone();
    tiles.sort_by_key(|&(r, c)| std::cmp::Reverse(u64::from(r) * u64::from(c)));
    tiles
}

/// Fit `params` and, for each dtype of `tile_dtypes`, which of its
/// candidate kernel tiles the library really uses.
///
/// A chip file lists the tiles a library has; which ones it picks for small
/// shapes is not public. The search keeps the `k` largest tiles of a path
/// for `k` = all ... 1, fits the continuous parameters for each choice and
/// keeps the one with the least squared log error (one pass over the paths,
/// in dtype order). Only the tile lists change, never their shapes.
pub fn fit_with_tiles(
    chip: &Chip,
    params: &[Param],
    tile_dtypes: &[Dtype],
    points: &[Measurement],
) -> Result<Fit, CalibrateError> {
    let mut best = fit(chip, params, points)?;
    let mut base = chip.clone();
    let mut chosen: Vec<(Dtype, Vec<(u32, u32)>)> = Vec::new();
    for &dtype in tile_dtypes {
        let all = effective_tiles(&base, dtype);
        let mut best_here: Option<(Vec<(u32, u32)>, Fit)> = None;
        // The candidates' fits are independent: run them in parallel, then
        // pick in the fixed order below (the same answer on any thread count).
        let keeps: Vec<usize> = (1..all.len()).rev().collect();
        let fits: Vec<Result<Fit, CalibrateError>> = keeps
            .par_iter()
            .map(|&keep| {
                let mut candidate = base.clone();
                if let Some(path) = candidate.compute.paths.get_mut(dtype) {
                    path.tiles = all[..keep].to_vec();
                }
                fit(&candidate, params, points)
            })
            .collect();
        for (keep, f) in keeps.into_iter().zip(fits) {
            let f = f?;
            let current = best_here
                .as_ref()
                .map_or(best.rms_log_error, |(_, b)| b.rms_log_error);
            // A smaller tile list must improve the RMS log error by more
            // than 1e-6 to be kept: the optimiser stops at a cost spread of
            // 1e-8, so smaller gains may be its noise, not the tiles.
            if f.rms_log_error < current - 1e-6 {
                best_here = Some((all[..keep].to_vec(), f));
            }
        }
        if let Some((tiles, f)) = best_here {
            if let Some(path) = base.compute.paths.get_mut(dtype) {
                path.tiles = tiles.clone();
            }
            chosen.push((dtype, tiles));
            best = f;
        }
    }
    best.tiles = chosen;
    Ok(best)
}

struct Problem<'a> {
    base: &'a Chip,
    params: &'a [Param],
    points: &'a [Measurement],
}

impl Problem<'_> {
    fn chip_at(&self, x: &[f64]) -> Chip {
        let mut chip = self.base.clone();
        for (p, &xi) in self.params.iter().zip(x) {
            p.set(&mut chip, p.value_at(xi));
        }
        chip
    }

    fn sse(&self, x: &[f64]) -> f64 {
        let chip = self.chip_at(x);
        self.points
            .iter()
            .map(|r| {
                let pred = mlsim_engine::predict_matmul(&chip, r.m, r.n, r.k, r.dtype).runtime_ms;
                let e = pred.ln() - r.runtime_ms.ln();
                e * e
            })
            .sum()
    }
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Self::Param) -> Result<f64, argmin::core::Error> {
        let v = self.sse(x);
        Ok(if v.is_finite() { v } else { f64::MAX })
    }
}

/// Fit `params` of `chip` to `points`.
pub fn fit(chip: &Chip, params: &[Param], points: &[Measurement]) -> Result<Fit, CalibrateError> {
    if points.is_empty() {
        return Err(CalibrateError::Unsupported("no measurements to fit".into()));
    }
    let problem = Problem {
        base: chip,
        params,
        points,
    };
    let mut x: Vec<f64> = params
        .iter()
        .map(|p| {
            let v = p.get(chip);
            // Start a zero launch overhead at 1 us so the search can move it.
            let v = if *p == Param::LaunchOverhead {
                v.max(1.0)
            } else {
                v
            };
            p.search_coordinate(v)
        })
        .collect();
    // Two passes: Nelder-Mead can stall on a degenerate simplex; a restart
    // from the best point with a fresh simplex fixes that.
    for step in [0.5, 0.1] {
        let mut simplex = vec![x.clone()];
        for i in 0..x.len() {
            let mut v = x.clone();
            v[i] += step;
            simplex.push(v);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(1e-8)
            .map_err(|e| CalibrateError::Unsupported(format!("optimiser set-up failed: {e}")))?;
        let result = Executor::new(
            Problem {
                base: chip,
                params,
                points,
            },
            solver,
        )
        .configure(|s| s.max_iters(4000))
        .run()
        .map_err(|e| CalibrateError::Unsupported(format!("fit failed: {e}")))?;
        if let Some(best) = result.state().best_param.clone() {
            x = best;
        }
    }
    let rms_log_error = (problem.sse(&x) / points.len() as f64).sqrt();
    let chip = problem.chip_at(&x);
    // Recorded from the chip, so each value is what the chip really holds
    // (after clamping into the file's ranges).
    let values = params.iter().map(|p| (*p, p.get(&chip))).collect();
    Ok(Fit {
        chip,
        values,
        tiles: Vec::new(),
        rms_log_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_space_round_trips() {
        for (p, v) in [
            (Param::Efficiency, 0.528),
            (Param::Speedup(Dtype::Fp16), 5.55),
            (Param::LaunchOverhead, 20.0),
        ] {
            assert!(
                (p.value_at(p.search_coordinate(v)) - v).abs() < 1e-12,
                "{p}"
            );
        }
    }
}
