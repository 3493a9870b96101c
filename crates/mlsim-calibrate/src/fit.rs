//! Fitting the free parameters of a [`Setup`] (chip, software stack,
//! framework) to measurements by minimising the squared log error of the
//! predictions (Nelder-Mead, argmin).
//!
//! Calibration fits the software stack, not the chip: on a GPU chip the
//! default parameters are the stack's shares of peak and host floor; a
//! chip's datasheet values change only where the chip file already carries a
//! chip-level calibration or a parameter names one (`clock.<dtype>`).
//!
//! The fit is model-agnostic: a [`Param`] sets a value on a copy of the
//! setup and the engine predicts; nothing here knows the model's formulas.
//! Parameters are searched in an unconstrained space mapped onto their
//! physical range (shares through a logistic into (0, 1), multipliers and
//! clocks through exp, times as a square), so every candidate is valid.

use argmin::core::{CostFunction, Executor};
use argmin::solver::neldermead::NelderMead;
use mlsim_hw::{Setup, Stack, StackPath};
use mlsim_quant::Dtype;
use rayon::prelude::*;

use crate::error::CalibrateError;
use crate::measurements::Measurement;
use crate::targets::RowTargets;

/// A fittable parameter of a [`Setup`]: a software-stack value by default
/// (what a library makes of the chip), a chip value for the original's
/// model or where the chip file already carries a chip-level calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Param {
    /// `compute.efficiency`: achievable share of the fp32 peak (the
    /// original's model).
    Efficiency,
    /// `compute.dtype_speedup.<dtype>`: throughput multiplier over fp32
    /// (the original's model).
    Speedup(Dtype),
    /// The host floor: the stack's `host.floor_us` (the original's model:
    /// the chip's `launch_overhead_us`).
    LaunchOverhead,
    /// `paths.<dtype>.efficiency` of the stack: the share of the path's
    /// sustained peak a large GEMM reaches.
    PathEfficiency(Dtype),
    /// `compute.paths.<dtype>.sustained_clock_ghz` of the chip: a chip-level
    /// calibration (at most the boost clock).
    PathClock(Dtype),
    /// `compute.paths.<dtype>.launch_overhead_us` of the chip: a chip-level
    /// calibration of one dtype's host cost.
    PathLaunch(Dtype),
    /// `kernel.fixed_us` of the stack: GPU-side time of a kernel doing no
    /// work.
    KernelFixed,
    /// `memory_share.main` of the stack: the share of main-memory bandwidth
    /// the library's kernels reach.
    MainMemoryShare,
    /// `host.timing_overhead_us` of the stack: the host time a per-call
    /// timing loop adds per call.
    TimingOverhead,
}

/// Which file a parameter's value lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The chip file.
    Chip,
    /// The software-stack file.
    Stack,
}

impl Param {
    /// Where the value lives on `setup`: the stack, unless the model reads
    /// it from the chip (the original's model, a chip-level calibration the
    /// chip file carries, a chip-only quantity).
    pub fn owner(&self, setup: &Setup) -> Owner {
        let chip = &setup.chip;
        let gpu = chip.model.uses_stack();
        match self {
            Param::Efficiency | Param::Speedup(_) | Param::PathClock(_) | Param::PathLaunch(_) => {
                Owner::Chip
            }
            Param::LaunchOverhead if !gpu || chip.launch_overhead_s > 0.0 => Owner::Chip,
            Param::PathEfficiency(d)
                if chip
                    .compute
                    .paths
                    .get(*d)
                    .is_some_and(|p| p.efficiency.is_some()) =>
            {
                Owner::Chip
            }
            _ => Owner::Stack,
        }
    }

    /// The field path in the file that holds it (see [`Param::owner`]).
    pub fn field_path(&self, setup: &Setup) -> String {
        match (self, self.owner(setup)) {
            (Param::Efficiency, _) => "compute.efficiency".into(),
            (Param::Speedup(d), _) => format!("compute.dtype_speedup.{d}"),
            (Param::LaunchOverhead, Owner::Chip) => "launch_overhead_us".into(),
            (Param::LaunchOverhead, Owner::Stack) => "host.floor_us".into(),
            (Param::PathEfficiency(d), Owner::Chip) => format!("compute.paths.{d}.efficiency"),
            (Param::PathEfficiency(d), Owner::Stack) => format!("paths.{d}.efficiency"),
            (Param::PathClock(d), _) => format!("compute.paths.{d}.sustained_clock_ghz"),
            (Param::PathLaunch(d), _) => format!("compute.paths.{d}.launch_overhead_us"),
            (Param::KernelFixed, _) => "kernel.fixed_us".into(),
            (Param::MainMemoryShare, _) => "memory_share.main".into(),
            (Param::TimingOverhead, _) => "host.timing_overhead_us".into(),
        }
    }

    /// The value in file units (microseconds, GHz, shares), as the model
    /// reads it on `setup`.
    pub fn get(&self, setup: &Setup) -> f64 {
        let chip = &setup.chip;
        let t = setup.target();
        match self {
            Param::Efficiency => chip.compute.efficiency,
            Param::Speedup(d) => chip.compute.speedup(*d),
            Param::LaunchOverhead if self.owner(setup) == Owner::Chip => {
                chip.launch_overhead_s * 1e6
            }
            Param::LaunchOverhead => {
                setup
                    .stack
                    .host_floor_s
                    .unwrap_or(setup.framework.host_floor_s)
                    * 1e6
            }
            Param::PathEfficiency(d) => chip
                .compute
                .paths
                .get(*d)
                .and_then(|p| p.efficiency)
                .unwrap_or_else(|| t.stack.efficiency(*d)),
            Param::PathLaunch(d) => chip.launch_overhead_s(*d) * 1e6,
            Param::PathClock(d) => match chip.compute.paths.get(*d).map(|p| &p.kind) {
                Some(mlsim_hw::PathKind::Native { rate, .. }) => rate.sustained_clock_hz / 1e9,
                _ => chip.frequency_hz / 1e9,
            },
            Param::KernelFixed => setup.stack.kernel.fixed_s * 1e6,
            Param::TimingOverhead => t.timing_overhead_s() * 1e6,
            Param::MainMemoryShare => {
                let main = chip.main_memory();
                setup.stack.memory_share(&main.name, true)
            }
        }
    }

    /// Set the value (file units), clamped into the range its file
    /// accepts, so a fitted file always loads again.
    pub fn set(&self, setup: &mut Setup, value: f64) {
        let owner = self.owner(setup);
        let chip = &mut setup.chip;
        let stack = &mut setup.stack;
        match self {
            Param::Efficiency => chip.compute.efficiency = value.clamp(1e-6, 1.0),
            Param::Speedup(d) => {
                chip.compute
                    .dtype_speedup
                    .insert(*d, value.clamp(1e-4, 1e4));
            }
            Param::LaunchOverhead => {
                let us = value.clamp(0.0, 1e6);
                if owner == Owner::Chip {
                    // One launch cost for the chip: per-dtype overrides would
                    // shadow it.
                    chip.launch_overhead_s = us / 1e6;
                    for d in Dtype::ALL {
                        if let Some(path) = chip.compute.paths.get_mut(d) {
                            path.launch_overhead_s = None;
                        }
                    }
                } else {
                    stack.host_floor_s = Some(us / 1e6);
                }
            }
            Param::PathEfficiency(d) => {
                let v = value.clamp(1e-6, 1.0);
                if owner == Owner::Chip {
                    if let Some(path) = chip.compute.paths.get_mut(*d) {
                        path.efficiency = Some(v);
                    }
                } else {
                    stack_path(stack, *d).efficiency = Some(v);
                }
            }
            Param::PathLaunch(d) => {
                if let Some(path) = chip.compute.paths.get_mut(*d) {
                    path.launch_overhead_s = Some(value.clamp(0.0, 1e6) / 1e6);
                }
            }
            Param::PathClock(d) => {
                let boost_hz = chip.frequency_hz;
                if let Some(mlsim_hw::PathKind::Native { rate, .. }) =
                    chip.compute.paths.get_mut(*d).map(|p| &mut p.kind)
                {
                    rate.sustained_clock_hz = (value * 1e9).clamp(1e6, boost_hz);
                    rate.clock_source = mlsim_hw::ClockSource::Given;
                }
            }
            Param::KernelFixed => stack.kernel.fixed_s = value.clamp(0.0, 1e6) / 1e6,
            Param::TimingOverhead => {
                stack.host_timing_overhead_s = Some(value.clamp(0.0, 1e6) / 1e6);
            }
            Param::MainMemoryShare => {
                stack
                    .memory_share
                    .insert("main".into(), value.clamp(1e-6, 1.0));
                let main = chip.main_memory().name.clone();
                stack.memory_share.remove(&main);
            }
        }
    }

    fn search_coordinate(self, value: f64) -> f64 {
        match self {
            Param::Efficiency | Param::PathEfficiency(_) | Param::MainMemoryShare => {
                let v = value.clamp(1e-6, 1.0 - 1e-9);
                (v / (1.0 - v)).ln()
            }
            Param::Speedup(_) | Param::PathClock(_) => value.max(1e-9).ln(),
            Param::LaunchOverhead
            | Param::PathLaunch(_)
            | Param::KernelFixed
            | Param::TimingOverhead => value.max(0.0).sqrt(),
        }
    }

    fn value_at(self, x: f64) -> f64 {
        match self {
            Param::Efficiency | Param::PathEfficiency(_) | Param::MainMemoryShare => {
                1.0 / (1.0 + (-x).exp())
            }
            Param::Speedup(_) | Param::PathClock(_) => x.exp(),
            Param::LaunchOverhead
            | Param::PathLaunch(_)
            | Param::KernelFixed
            | Param::TimingOverhead => x * x,
        }
    }
}

/// The stack's entry for `dtype`, created (inheriting the stack's defaults)
/// when it has none.
fn stack_path(stack: &mut Stack, dtype: Dtype) -> &mut StackPath {
    if !stack.paths.contains(dtype) {
        stack.paths.insert(
            dtype,
            StackPath {
                efficiency: None,
                tiles: Vec::new(),
                output_bytes: None,
                half_accumulate: false,
                split_k: None,
                entry_point: None,
                convert_cycles_per_element: None,
                gemv_threads: None,
                runs_as: None,
            },
        );
    }
    stack.paths.get_mut(dtype).expect("inserted above")
}

/// Parse `--params`: a comma-separated list of
/// - `efficiency` (GPU chips: every measured dtype's share of peak in the
///   stack; the original's model: the chip's efficiency), `efficiency.<dtype>`;
/// - `launch` (the host's per-call floor), `launch.<dtype>` (a chip-level
///   calibration of one dtype's);
/// - `fixed` (the stack's kernel floor), `memory` (its share of main-memory
///   bandwidth);
/// - `clock.<dtype>` (a chip-level calibration of a sustained clock);
/// - `speedup`, `speedup.<dtype>` (the original's model).
pub fn parse_params(
    spec: &str,
    setup: &Setup,
    measured: &[Measurement],
) -> Result<Vec<Param>, CalibrateError> {
    let chip = &setup.chip;
    let mut out = Vec::new();
    let has_paths = !chip.compute.paths.is_empty();
    let dtype_of = |item: &str, d: &str| -> Result<Dtype, CalibrateError> {
        let dtype: Dtype = d.parse().map_err(|e: mlsim_quant::UnknownDtype| {
            CalibrateError::Unsupported(format!("{item}: {e}"))
        })?;
        if !chip.compute.paths.contains(dtype) {
            return Err(CalibrateError::Unsupported(format!(
                "{item}: chip `{}` has no {dtype} compute path\n  hint: `mlsim presets show {}` lists its paths",
                chip.name, chip.name
            )));
        }
        Ok(dtype)
    };
    let gpu_only = |item: &str| -> Result<(), CalibrateError> {
        if has_paths {
            Ok(())
        } else {
            Err(CalibrateError::Unsupported(format!(
                "`{item}`: chip `{}` uses the original's model, which has no software stack\n  hint: fit efficiency, speedup or launch",
                chip.name
            )))
        }
    };
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(d) = item.strip_prefix("launch.") {
            out.push(Param::PathLaunch(dtype_of(item, d)?));
            continue;
        }
        if let Some(d) = item.strip_prefix("efficiency.") {
            out.push(Param::PathEfficiency(dtype_of(item, d)?));
            continue;
        }
        if let Some(d) = item.strip_prefix("clock.") {
            let dtype = dtype_of(item, d)?;
            if !chip.has_native_path(dtype) {
                return Err(CalibrateError::Unsupported(format!(
                    "{item}: the {dtype} path of `{}` is emulated; it runs at the clock of the path it runs through",
                    chip.name
                )));
            }
            out.push(Param::PathClock(dtype));
            continue;
        }
        match item {
            "efficiency" if has_paths => out.extend(
                path_dtypes(chip, measured)
                    .into_iter()
                    .map(Param::PathEfficiency),
            ),
            "efficiency" => out.push(Param::Efficiency),
            "launch" | "launch_overhead" | "launch_overhead_us" | "host" => {
                out.push(Param::LaunchOverhead)
            }
            "overhead" | "timing_overhead" => {
                gpu_only(item)?;
                out.push(Param::TimingOverhead)
            }
            "fixed" | "kernel" => {
                gpu_only(item)?;
                out.push(Param::KernelFixed)
            }
            "memory" => {
                gpu_only(item)?;
                out.push(Param::MainMemoryShare)
            }
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
                            "unknown parameter `{other}`\n  hint: choose from efficiency, efficiency.<dtype>, launch, launch.<dtype>, overhead, fixed, memory, clock.<dtype>, speedup, speedup.<dtype>"
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
        .filter(|m| m.is_gemm())
        .map(|m| m.dtype)
        .filter(|d| *d != Dtype::Fp32)
        .collect();
    d.sort();
    d.dedup();
    d
}

/// Measured dtypes that have their own compute path on `chip`, sorted.
fn path_dtypes(chip: &mlsim_hw::Chip, measured: &[Measurement]) -> Vec<Dtype> {
    let mut d: Vec<Dtype> = measured
        .iter()
        .filter(|m| m.is_gemm())
        .map(|m| m.dtype)
        .filter(|d| chip.compute.paths.contains(*d))
        .collect();
    d.sort();
    d.dedup();
    d
}

/// The default parameters for measurements on `rows`' targets.
///
/// A GPU chip: the stack's share of peak for every measured dtype; the host
/// floor when some row is timed with the host in it (per-call or
/// back-to-back) and has no measured or given floor, and with it the timing
/// loop's overhead when some row is timed per call (a host that is given
/// is not fitted at all); the stack's kernel floor when
/// some row is a kernel timing. The chip's datasheet values stay
/// as they are. The original's model: efficiency (when fp32 is measured),
/// the multiplier of every other measured dtype, and the launch overhead.
pub fn default_params(rows: &RowTargets, measured: &[Measurement]) -> Vec<Param> {
    let chip = &rows.setup.chip;
    let mut out = Vec::new();
    if !chip.compute.paths.is_empty() {
        out.extend(
            path_dtypes(chip, measured)
                .into_iter()
                .map(Param::PathEfficiency),
        );
        let targets: Vec<mlsim_hw::Target<'_>> = measured.iter().map(|r| rows.target(r)).collect();
        if chip.model == mlsim_hw::ChipModel::CpuBlocked {
            // A CPU is its own host: what a call adds beyond its kernel is
            // the threads' wake-up (the stack's kernel floor), paid by
            // calls timed one by one.
            if targets
                .iter()
                .any(|t| t.timing == mlsim_hw::Timing::PerCall)
            {
                out.push(Param::KernelFixed);
            }
            return out;
        }
        // One host floor for every dtype: a floor per dtype path (`--params
        // launch.<dtype>`) fits better in sample but predicts held-out
        // sizes worse (docs/model/launch-overhead.md).
        let host_unknown = measured.iter().zip(&targets).any(|(r, t)| {
            t.timing != mlsim_hw::Timing::Kernel
                && r.host_floor_us.is_none()
                && t.host_floor_s.is_none()
        });
        if host_unknown {
            out.push(Param::LaunchOverhead);
            // When calls timed on their own start to queue depends on the
            // timing loop of the host that took them: fitted with the
            // floor, and like it left alone when the host is given.
            if targets
                .iter()
                .any(|t| t.timing == mlsim_hw::Timing::PerCall)
            {
                out.push(Param::TimingOverhead);
            }
        }
        if targets.iter().any(|t| t.timing == mlsim_hw::Timing::Kernel) {
            out.push(Param::KernelFixed);
        }
        return out;
    }
    if measured
        .iter()
        .any(|m| m.is_gemm() && m.dtype == Dtype::Fp32)
    {
        out.push(Param::Efficiency);
    }
    out.extend(measured_dtypes(measured).into_iter().map(Param::Speedup));
    out.push(Param::LaunchOverhead);
    out
}

/// The outcome of a fit.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The setup with the fitted values set.
    pub setup: Setup,
    /// Each parameter and its fitted value (file units).
    pub values: Vec<(Param, f64)>,
    /// Paths whose tile list the fit narrowed: (dtype, tiles kept).
    pub tiles: Vec<(Dtype, Vec<(u32, u32)>)>,
    /// Paths whose split-K behaviour the fit changed: (dtype, splits K).
    pub split_k: Vec<(Dtype, bool)>,
    /// Root mean squared log error on the fitted points.
    pub rms_log_error: f64,
}

/// Dtypes whose kernel tiles a fit may choose: measured dtypes with a
/// compute path (arch `gpu`).
pub fn tile_paths(setup: &Setup, measured: &[Measurement]) -> Vec<Dtype> {
    path_dtypes(&setup.chip, measured)
}

/// The tiles `dtype`'s kernels use on `setup`, largest first.
fn effective_tiles(setup: &Setup, dtype: Dtype) -> Vec<(u32, u32)> {
    let mut tiles = mlsim_engine::gpu::tiles(&setup.target(), dtype).to_vec();
    tiles.sort_by_key(|&(r, c)| std::cmp::Reverse(u64::from(r) * u64::from(c)));
    tiles
}

/// Set `dtype`'s tiles where the model reads them: the chip's chip-level
/// calibration if it has one, else the stack.
fn set_tiles(setup: &mut Setup, dtype: Dtype, tiles: Vec<(u32, u32)>) {
    match setup.chip.compute.paths.get_mut(dtype) {
        Some(p) if !p.tiles.is_empty() => p.tiles = tiles,
        _ => stack_path(&mut setup.stack, dtype).tiles = tiles,
    }
}

/// Whether `dtype`'s tiles live in the chip file (a chip-level calibration).
pub fn tiles_owner(setup: &Setup, dtype: Dtype) -> Owner {
    match setup.chip.compute.paths.get(dtype) {
        Some(p) if !p.tiles.is_empty() => Owner::Chip,
        _ => Owner::Stack,
    }
}

/// The field path of `dtype`'s tile list in the file that holds it.
pub fn tiles_field(setup: &Setup, dtype: Dtype) -> String {
    match tiles_owner(setup, dtype) {
        Owner::Chip => format!("compute.paths.{dtype}.tiles"),
        Owner::Stack => format!("paths.{dtype}.tiles"),
    }
}

/// Measurements and the targets their rows are predicted on: one file's
/// worth of a fit.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// The rows' targets (the setup a fit changes).
    pub rows: &'a RowTargets,
    /// The measurements.
    pub measured: &'a [Measurement],
}

/// Fit `params` and, for each dtype of `tile_dtypes`, which of its
/// candidate kernel tiles the library really uses and whether it splits K.
///
/// A stack lists the tiles a library has; which ones it picks for small
/// shapes is not public, nor whether its heuristic splits K. The search
/// keeps the `k` largest tiles of a path for `k` = all ... 1, with and
/// without split K, fits the continuous
/// parameters for each choice and keeps the one with the least squared log
/// error (one pass over the paths, in dtype order). Only the tile lists and
/// the split-K flag change, never the tiles' shapes.
pub fn fit_with_tiles(
    rows: &RowTargets,
    params: &[Param],
    tile_dtypes: &[Dtype],
    points: &[Measurement],
) -> Result<Fit, CalibrateError> {
    fit_samples_with_tiles(
        &[Sample {
            rows,
            measured: points,
        }],
        params,
        tile_dtypes,
    )
}

/// [`fit_with_tiles`] over several samples at once (measurements of
/// several chips sharing one stack): one set of stack values for all.
/// The fit's setup is the first sample's.
pub fn fit_samples_with_tiles(
    samples: &[Sample<'_>],
    params: &[Param],
    tile_dtypes: &[Dtype],
) -> Result<Fit, CalibrateError> {
    let mut best = fit_samples(samples, params)?;
    let original = &samples
        .first()
        .expect("fit_samples checks for samples")
        .rows
        .setup;
    let mut bases: Vec<RowTargets> = samples.iter().map(|s| s.rows.clone()).collect();
    // A choice made late in a pass can make an earlier one worth revisiting:
    // passes repeat, each from the last pass's values, until none changes a
    // tile list or a split (a few at most).
    for _ in 0..MAX_PASSES {
        for b in &mut bases {
            let mut setup = b.setup.clone();
            for (p, v) in &best.values {
                p.set(&mut setup, *v);
            }
            *b = b.with_setup(setup);
        }
        let mut changed = false;
        for &dtype in tile_dtypes {
            let current = &bases[0].setup;
            let all = effective_tiles(current, dtype);
            let splits_now = current.stack.split_k(dtype);
            // (tiles kept, split K); the fit so far is (all, splits_now).
            let mut candidates: Vec<(usize, bool)> = Vec::new();
            for keep in (1..=all.len()).rev() {
                // Both ways: a stack fitted earlier may have switched split
                // K off for data this fit does not see.
                for split in [splits_now, !splits_now] {
                    if (keep, split) != (all.len(), splits_now)
                        && !candidates.contains(&(keep, split))
                    {
                        candidates.push((keep, split));
                    }
                }
            }
            let apply = |setup: &mut Setup, keep: usize, split: bool| {
                if keep < all.len() {
                    set_tiles(setup, dtype, all[..keep].to_vec());
                }
                if split != splits_now {
                    stack_path(&mut setup.stack, dtype).split_k = Some(split);
                }
            };
            // The candidates' fits are independent: run them in parallel,
            // then pick in the fixed order above (the same answer on any
            // thread count).
            let fits: Vec<Result<Fit, CalibrateError>> = candidates
                .par_iter()
                .map(|&(keep, split)| {
                    let rows: Vec<RowTargets> = bases
                        .iter()
                        .map(|b| {
                            let mut setup = b.setup.clone();
                            apply(&mut setup, keep, split);
                            b.with_setup(setup)
                        })
                        .collect();
                    let with: Vec<Sample<'_>> = rows
                        .iter()
                        .zip(samples)
                        .map(|(rows, s)| Sample {
                            rows,
                            measured: s.measured,
                        })
                        .collect();
                    fit_samples(&with, params)
                })
                .collect();
            let mut best_here: Option<((usize, bool), Fit)> = None;
            for (candidate, f) in candidates.into_iter().zip(fits) {
                let f = f?;
                let current = best_here
                    .as_ref()
                    .map_or(best.rms_log_error, |(_, b)| b.rms_log_error);
                // A choice must improve the RMS log error by more than 1e-6
                // to be kept: the optimiser stops at a cost spread of 1e-8,
                // so smaller gains may be its noise, not the kernels.
                if f.rms_log_error < current - 1e-6 {
                    best_here = Some((candidate, f));
                }
            }
            if let Some(((keep, split), f)) = best_here {
                for b in &mut bases {
                    let mut setup = b.setup.clone();
                    apply(&mut setup, keep, split);
                    *b = b.with_setup(setup);
                }
                best = f;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // What the passes changed, against where the fit started.
    let last = &bases[0].setup;
    for &dtype in tile_dtypes {
        let tiles = effective_tiles(last, dtype);
        if tiles != effective_tiles(original, dtype) {
            best.tiles.push((dtype, tiles));
        }
        let split = last.stack.split_k(dtype);
        if split != original.stack.split_k(dtype) {
            best.split_k.push((dtype, split));
        }
    }
    best.setup = {
        let mut setup = last.clone();
        for (p, v) in &best.values {
            p.set(&mut setup, *v);
        }
        setup
    };
    Ok(best)
}

/// Passes of the tile and split-K search at most (each pass revisits every
/// dtype from the previous pass's result).
const MAX_PASSES: usize = 4;

struct Problem<'a> {
    samples: &'a [Sample<'a>],
    params: &'a [Param],
}

impl Problem<'_> {
    /// Whether `row` informs the fit: GEMMs always; a memory kernel only
    /// when a memory parameter is fitted (the compute parameters must not
    /// be bent to make up for memory time a model does not have).
    fn fits(&self, row: &Measurement) -> bool {
        row.is_gemm() || self.params.contains(&Param::MainMemoryShare)
    }

    fn setups_at(&self, x: &[f64]) -> Vec<Setup> {
        self.samples
            .iter()
            .map(|s| {
                let mut setup = s.rows.setup.clone();
                for (p, &xi) in self.params.iter().zip(x) {
                    p.set(&mut setup, p.value_at(xi));
                }
                setup
            })
            .collect()
    }

    fn sse(&self, x: &[f64]) -> f64 {
        let setups = self.setups_at(x);
        self.samples
            .iter()
            .zip(&setups)
            .flat_map(|(s, setup)| {
                s.measured
                    .iter()
                    .filter(move |r| self.fits(r))
                    .map(move |r| {
                        let t = s.rows.target_on(setup, r);
                        let pred = crate::validate::predict_row(&t, r);
                        let e = pred.ln() - r.runtime_ms.ln();
                        e * e
                    })
            })
            .sum()
    }

    fn points(&self) -> usize {
        self.samples
            .iter()
            .map(|s| s.measured.iter().filter(|r| self.fits(r)).count())
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

/// Fit `params` of `rows`' setup to `points`.
pub fn fit(
    rows: &RowTargets,
    params: &[Param],
    points: &[Measurement],
) -> Result<Fit, CalibrateError> {
    fit_samples(
        &[Sample {
            rows,
            measured: points,
        }],
        params,
    )
}

/// Fit `params` to several samples at once. Across samples of different
/// chips only stack values can be shared: a chip value is refused.
pub fn fit_samples(samples: &[Sample<'_>], params: &[Param]) -> Result<Fit, CalibrateError> {
    let Some(first) = samples.first() else {
        return Err(CalibrateError::Unsupported("no measurements to fit".into()));
    };
    if samples.iter().all(|s| s.measured.is_empty()) {
        return Err(CalibrateError::Unsupported("no measurements to fit".into()));
    }
    for s in samples {
        if !s.rows.all_on_setup_stack(s.measured) {
            return Err(CalibrateError::Unsupported(format!(
                "the measurements name stacks other than `{}`; a fit changes one stack\n  hint: split the file by stack, or pass --stack",
                s.rows.setup.stack.name
            )));
        }
    }
    if samples.len() > 1 {
        // Any sample's chip may hold a value as a chip-level calibration.
        for s in samples {
            if let Some(p) = params
                .iter()
                .find(|p| p.owner(&s.rows.setup) == Owner::Chip)
            {
                return Err(CalibrateError::Unsupported(format!(
                    "{} is a chip value of `{}`; fits over several chips share only stack values",
                    p.field_path(&s.rows.setup),
                    s.rows.setup.chip.name
                )));
            }
        }
    }
    let problem = Problem { samples, params };
    if problem.points() == 0 {
        return Err(CalibrateError::Unsupported(
            "no GEMM rows to fit: memory kernels (copy, scale, add, triad) inform only the share of memory bandwidth (`--params memory`)".into(),
        ));
    }
    let mut x: Vec<f64> = params
        .iter()
        .map(|p| {
            let v = p.get(&first.rows.setup);
            // Start zero times at 1 us, and shares inside (0.02, 0.98), so
            // the search can move them: a share at its bound of 1 sits at a
            // logit where every step of the simplex still gives about 1.
            let v = match p {
                Param::LaunchOverhead | Param::KernelFixed | Param::TimingOverhead => v.max(1.0),
                Param::Efficiency | Param::PathEfficiency(_) | Param::MainMemoryShare => {
                    v.clamp(0.02, 0.98)
                }
                _ => v,
            };
            p.search_coordinate(v)
        })
        .collect();
    // Two passes: Nelder-Mead can stall on a degenerate simplex; a restart
    // from the best point with a fresh simplex fixes that.
    for step in [1.0, 0.5, 0.1] {
        let mut simplex = vec![x.clone()];
        for i in 0..x.len() {
            let mut v = x.clone();
            v[i] += step;
            simplex.push(v);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(1e-8)
            .map_err(|e| CalibrateError::Unsupported(format!("optimiser set-up failed: {e}")))?;
        let result = Executor::new(Problem { samples, params }, solver)
            .configure(|s| s.max_iters(4000))
            .run()
            .map_err(|e| CalibrateError::Unsupported(format!("fit failed: {e}")))?;
        if let Some(best) = result.state().best_param.clone() {
            x = best;
        }
    }
    let rms_log_error = (problem.sse(&x) / problem.points().max(1) as f64).sqrt();
    let setup = problem
        .setups_at(&x)
        .into_iter()
        .next()
        .expect("at least one sample");
    // Recorded from the setup, so each value is what it really holds
    // (after clamping into the files' ranges).
    let values = params.iter().map(|p| (*p, p.get(&setup))).collect();
    Ok(Fit {
        setup,
        values,
        tiles: Vec::new(),
        split_k: Vec::new(),
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
            (Param::KernelFixed, 3.5),
            (Param::MainMemoryShare, 0.8),
        ] {
            assert!(
                (p.value_at(p.search_coordinate(v)) - v).abs() < 1e-12,
                "{p:?}"
            );
        }
    }
}
