//! The Python package's logic in plain Rust (no pyo3): setups, workloads
//! named as the CLI names them, grids predicted in parallel into columns,
//! and errors worded as the CLI words them. `python.rs` only converts.

use mlsim_engine::{ModelDetail, Prediction, predict};
use mlsim_hw::{Chip, Setup, SetupSpec, Timing};
use mlsim_quant::Dtype;
use mlsim_workload::{ElementwiseKind, Op, Workload};
use rayon::prelude::*;

/// What went wrong, sorted by the Python exception it becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A chip, stack or framework file (or name): `mlsim.ChipFileError`.
    ChipFile(String),
    /// A system file (or name), or the chip it names:
    /// `mlsim.SystemFileError` (a `ChipFileError`).
    SystemFile(String),
    /// A measurement file or table: `mlsim.MeasurementError`.
    Measurement(String),
    /// A bad argument: `ValueError`.
    Value(String),
}

impl Error {
    /// The message, as the CLI prints it after `error: `.
    pub fn message(&self) -> &str {
        match self {
            Error::ChipFile(m) | Error::SystemFile(m) | Error::Measurement(m) | Error::Value(m) => {
                m
            }
        }
    }
}

/// `e` and its sources joined by `: ` (anyhow's `{:#}`, what the CLI
/// prints), with the CLI's hint when a file does not exist.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut missing = false;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            missing |= io.kind() == std::io::ErrorKind::NotFound;
        }
        cur = c.source();
        if let Some(next) = cur {
            s.push_str(": ");
            s.push_str(&next.to_string());
        }
    }
    if missing {
        s.push_str("\n  hint: check the path (relative to the current directory); presets are named without .toml: `mlsim presets list`");
    }
    s
}

impl From<mlsim_hw::HwError> for Error {
    fn from(e: mlsim_hw::HwError) -> Self {
        Error::ChipFile(chain(&e))
    }
}

impl From<mlsim_calibrate::CalibrateError> for Error {
    fn from(e: mlsim_calibrate::CalibrateError) -> Self {
        Error::Measurement(chain(&e))
    }
}

/// What a setup is made of besides the chip (the CLI's global flags).
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// Kernel-library stack, name or path (`--stack`).
    pub stack: Option<String>,
    /// Framework, name or path (`--framework`).
    pub framework: Option<String>,
    /// Timing method (`--timing`).
    pub timing: Option<String>,
    /// Host floor per call, microseconds (`--host-floor-us`).
    pub host_floor_us: Option<f64>,
}

impl SetupOptions {
    /// The checked host floor, seconds (the CLI's range and wording).
    pub fn host_floor_s(&self) -> Result<Option<f64>, Error> {
        match self.host_floor_us {
            None => Ok(None),
            Some(v) if v.is_finite() && (0.0..1e6).contains(&v) => Ok(Some(v / 1e6)),
            Some(v) => Err(Error::Value(format!(
                "host_floor_us must be a number from 0 to 1e6, got {v}"
            ))),
        }
    }

    /// The timing method.
    pub fn timing(&self) -> Result<Option<Timing>, Error> {
        self.timing
            .as_deref()
            .map(|t| t.parse::<Timing>().map_err(|e| Error::Value(e.to_string())))
            .transpose()
    }

    /// The setup spec these options give.
    pub fn spec(&self) -> Result<SetupSpec<'_>, Error> {
        Ok(SetupSpec {
            stack: self.stack.as_deref(),
            framework: self.framework.as_deref(),
            timing: self.timing()?,
            host_floor_s: self.host_floor_s()?,
        })
    }

    /// `chip` with these options, as the CLI's `SetupArgs::with_chip`: on
    /// the original's model a host floor replaces the chip's launch
    /// overhead (it has no framework).
    pub fn setup(&self, mut chip: Chip) -> Result<Setup, Error> {
        let mut spec = self.spec()?;
        if !chip.model.uses_stack()
            && let Some(s) = spec.host_floor_s.take()
        {
            chip.launch_overhead_s = s;
        }
        Ok(Setup::with_chip(chip, &spec)?)
    }
}

/// Load a chip (preset name or path) with `options`.
pub fn load_setup(name_or_path: &str, options: &SetupOptions) -> Result<Setup, Error> {
    options.setup(mlsim_hw::load(name_or_path)?)
}

/// A dtype by name (as the CLI parses `--dtype`).
pub fn dtype(name: &str) -> Result<Dtype, Error> {
    name.parse::<Dtype>()
        .map_err(|e| Error::Value(e.to_string()))
}

/// `w` checked: the error the CLI gives for the same flags.
fn workload(name: String, op: Op, dtype: Dtype) -> Result<Workload, Error> {
    Workload::new(name, op, dtype)
        .map_err(|e| Error::Value(format!("invalid {} shape: {e}", op.kind_name())))
}

/// `mlsim sim matmul --m M --n N --k K`.
pub fn matmul(m: u64, n: u64, k: u64, dtype: Dtype) -> Result<Workload, Error> {
    workload(format!("MatMul {m}x{n}x{k}"), Op::MatMul { m, n, k }, dtype)
}

/// Convolution shape (NCHW, square kernel), as `mlsim sim conv2d`.
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs, reason = "the CLI's flags")]
pub struct Conv {
    pub batch: u64,
    pub c_in: u64,
    pub h: u64,
    pub w: Option<u64>,
    pub c_out: u64,
    pub kernel: u64,
    pub stride: u64,
    pub padding: u64,
}

/// `mlsim sim conv2d`.
pub fn conv2d(c: Conv, dtype: Dtype) -> Result<Workload, Error> {
    workload(
        format!(
            "Conv2D {0}x{0} {1}->{2} at {3}",
            c.kernel, c.c_in, c.c_out, c.h
        ),
        Op::Conv2d {
            batch: c.batch,
            c_in: c.c_in,
            h: c.h,
            w: c.w.unwrap_or(c.h),
            c_out: c.c_out,
            kh: c.kernel,
            kw: c.kernel,
            stride: c.stride,
            padding: c.padding,
        },
        dtype,
    )
}

/// `mlsim sim attention`.
pub fn attention(
    batch: u64,
    heads: u64,
    seq: u64,
    head_dim: u64,
    causal: bool,
    dtype: Dtype,
) -> Result<Workload, Error> {
    workload(
        format!(
            "Attention B={batch} H={heads} S={seq} D={head_dim}{}",
            if causal { " causal" } else { "" }
        ),
        Op::Attention {
            batch,
            heads,
            seq,
            head_dim,
            causal,
        },
        dtype,
    )
}

/// `mlsim sim elementwise`.
pub fn elementwise(n: u64, kind: &str, dtype: Dtype) -> Result<Workload, Error> {
    let kind: ElementwiseKind = kind.parse().map_err(Error::Value)?;
    workload(
        format!("{} n={n}", kind.name()),
        Op::Elementwise { n, kind },
        dtype,
    )
}

/// The error the CLI gives for a dtype the chip cannot run.
pub fn check_runs(chip: &Chip, dtype: Dtype) -> Result<(), Error> {
    chip.check_runs(dtype)
        .map_err(|e| Error::Value(format!("dtype {dtype}: {e}")))
}

/// A `MxNxK` shape as `mlsim sweep --shapes` reads it, or a square size.
pub fn parse_shape(s: &str) -> Result<(u64, u64, u64), Error> {
    let bad = || {
        Error::Value(format!(
            "bad shape `{s}`, expected MxNxK such as 512x4096x4096"
        ))
    };
    let parts: Vec<&str> = s.split(['x', 'X']).collect();
    match parts.as_slice() {
        [n] => n
            .trim()
            .parse::<u64>()
            .map(|n| (n, n, n))
            .map_err(|_| bad()),
        [m, n, k] => {
            let p = |v: &str| v.trim().parse::<u64>().map_err(|_| bad());
            Ok((p(m)?, p(n)?, p(k)?))
        }
        _ => Err(bad()),
    }
}

/// A sweep's grid: setups x shapes x dtypes, setup outermost (the order of
/// `mlsim sweep`).
#[derive(Debug)]
pub struct Grid {
    /// The setups (chip and stack).
    pub setups: Vec<Setup>,
    /// The GEMM shapes.
    pub shapes: Vec<(u64, u64, u64)>,
    /// The dtypes.
    pub dtypes: Vec<Dtype>,
}

/// Grid points predicted per parallel task.
const PIECE: usize = 2048;

impl Grid {
    /// A grid, checked as `mlsim sweep` checks it.
    pub fn new(
        setups: Vec<Setup>,
        shapes: Vec<(u64, u64, u64)>,
        dtypes: Vec<Dtype>,
    ) -> Result<Self, Error> {
        if shapes.is_empty() {
            return Err(Error::Value("no shapes given".into()));
        }
        if dtypes.is_empty() {
            return Err(Error::Value("no dtypes given".into()));
        }
        for s in &setups {
            for &d in &dtypes {
                check_runs(&s.chip, d)?;
            }
        }
        for &(m, n, k) in &shapes {
            Workload::new("", Op::MatMul { m, n, k }, Dtype::Fp32)
                .map_err(|e| Error::Value(format!("invalid shape {m}x{n}x{k}: {e}")))?;
        }
        Ok(Self {
            setups,
            shapes,
            dtypes,
        })
    }

    /// Points in the grid.
    pub fn len(&self) -> usize {
        self.setups.len() * self.shapes.len() * self.dtypes.len()
    }

    /// Whether the grid has no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Point `i`: (setup, shape, dtype) indices.
    pub fn point(&self, i: usize) -> (usize, usize, usize) {
        let per_setup = self.shapes.len() * self.dtypes.len();
        let (s, rest) = (i / per_setup, i % per_setup);
        (s, rest / self.dtypes.len(), rest % self.dtypes.len())
    }

    /// Every point's prediction, in grid order, in parallel.
    pub fn predict(&self) -> Vec<Prediction> {
        let targets: Vec<_> = self.setups.iter().map(Setup::target).collect();
        (0..self.len())
            .into_par_iter()
            .with_min_len(PIECE)
            .map(|i| {
                let (s, sh, d) = self.point(i);
                let (m, n, k) = self.shapes[sh];
                mlsim_engine::predict_matmul(&targets[s], m, n, k, self.dtypes[d])
            })
            .collect()
    }

    /// Every point's prediction as columns, in grid order, in parallel
    /// (the same values as [`Grid::predict`]).
    pub fn columns(&self) -> SweepColumns {
        let targets: Vec<_> = self.setups.iter().map(Setup::target).collect();
        let mut levels: Vec<String> = Vec::new();
        for s in &self.setups {
            for l in &s.chip.memory {
                if !levels.contains(&l.name) {
                    levels.push(l.name.clone());
                }
            }
        }
        let level_index: Vec<Vec<Option<usize>>> = self
            .setups
            .iter()
            .map(|s| {
                levels
                    .iter()
                    .map(|name| s.chip.memory.iter().position(|l| l.name == *name))
                    .collect()
            })
            .collect();
        let n = self.len();
        let pieces = (0..n.div_ceil(PIECE))
            .into_par_iter()
            .map(|piece| {
                let range = piece * PIECE..n.min((piece + 1) * PIECE);
                let len = range.len();
                let mut out = Piece {
                    floats: std::array::from_fn(|_| Vec::with_capacity(len)),
                    levels: vec![Vec::with_capacity(len); levels.len()],
                    native: Vec::with_capacity(len),
                    memory_bound: Vec::with_capacity(len),
                    serving_level: Vec::with_capacity(len),
                    detail: Vec::with_capacity(len),
                };
                for i in range {
                    let (s, sh, d) = self.point(i);
                    let (m, n, k) = self.shapes[sh];
                    let p = mlsim_engine::predict_matmul(&targets[s], m, n, k, self.dtypes[d]);
                    for (col, v) in out.floats.iter_mut().zip(float_values(&p)) {
                        col.push(v);
                    }
                    let level_ms = p.level_memory_ms.as_slice();
                    for (col, j) in out.levels.iter_mut().zip(&level_index[s]) {
                        col.push(j.map_or(0.0, |j| level_ms[j]));
                    }
                    out.native.push(p.native);
                    out.memory_bound.push(p.bottleneck.as_str() == "memory");
                    out.serving_level.push(p.serving_level_index);
                    out.detail.push(p.detail);
                }
                out
            })
            .collect();
        SweepColumns {
            len: n,
            levels,
            level_index,
            pieces,
        }
    }
}

/// The float columns of a sweep every point has, in the order of
/// `mlsim sweep --format csv` (its `memory_ms_by_level` comes as
/// [`SweepColumns::levels`]).
pub const FLOAT_COLUMNS: [&str; 16] = [
    "flops",
    "bytes",
    "arithmetic_intensity",
    "runtime_ms",
    "compute_ms",
    "memory_ms",
    "launch_ms",
    "kernel_ms",
    "kernel_floor_ms",
    "conversion_ms",
    "dram_bytes",
    "compute_utilization",
    "achieved_tflops",
    "effective_tflops",
    "tiling_efficiency",
    "hit_rate",
];

/// A prediction's [`FLOAT_COLUMNS`] values.
fn float_values(p: &Prediction) -> [f64; 16] {
    [
        p.flops,
        p.bytes,
        p.arithmetic_intensity,
        p.runtime_ms,
        p.compute_ms,
        p.memory_ms,
        p.launch_ms,
        p.kernel_ms,
        p.kernel_floor_ms,
        p.conversion_ms,
        p.dram_bytes,
        p.compute_utilization,
        p.achieved_tflops,
        p.effective_tflops,
        p.tiling_efficiency,
        p.hit_rate,
    ]
}

/// One contiguous slice of a sweep's points, as columns.
#[derive(Debug, Default)]
pub struct Piece {
    floats: [Vec<f64>; 16],
    /// Memory time per level name of [`SweepColumns::levels`] (0 where
    /// the point's chip has no such level).
    levels: Vec<Vec<f64>>,
    native: Vec<bool>,
    memory_bound: Vec<bool>,
    /// The serving level's index in the point's chip.
    serving_level: Vec<Option<usize>>,
    detail: Vec<ModelDetail>,
}

/// A sweep's predictions as columns, in grid order: predicted in parallel,
/// each piece of the grid writing its slice of every column (one pass
/// over the predictions, none kept whole). `mlsim.sweep` builds its
/// Python columns from these, each from its own contiguous values.
#[derive(Debug)]
pub struct SweepColumns {
    /// Points.
    pub len: usize,
    /// The memory level names of the grid's chips, in the order the chips
    /// list them, each once (`memory_ms_<name>` columns).
    pub levels: Vec<String>,
    /// Per setup, per name of [`Self::levels`]: its index in that chip's
    /// levels (`None`: the chip has no such level).
    pub level_index: Vec<Vec<Option<usize>>>,
    pieces: Vec<Piece>,
}

/// A column read across pieces: an exact-size iterator of its values in
/// grid order.
#[derive(Debug, Clone)]
pub struct ColumnIter<'a, T, F> {
    pieces: std::slice::Iter<'a, Piece>,
    get: F,
    cur: std::slice::Iter<'a, T>,
    left: usize,
}

impl<'a, T: Copy, F: Fn(&'a Piece) -> &'a [T]> Iterator for ColumnIter<'a, T, F> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(x) = self.cur.next() {
                self.left -= 1;
                return Some(*x);
            }
            self.cur = (self.get)(self.pieces.next()?).iter();
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a, T: Copy, F: Fn(&'a Piece) -> &'a [T]> ExactSizeIterator for ColumnIter<'a, T, F> {}

impl SweepColumns {
    fn column<'a, T: Copy, F: Fn(&'a Piece) -> &'a [T]>(&'a self, get: F) -> ColumnIter<'a, T, F> {
        ColumnIter {
            pieces: self.pieces.iter(),
            get,
            cur: [].iter(),
            left: self.len,
        }
    }

    /// Float column `c` of [`FLOAT_COLUMNS`].
    pub fn floats(&self, c: usize) -> impl ExactSizeIterator<Item = f64> + Clone + '_ {
        self.column(move |p| p.floats[c].as_slice())
    }

    /// Memory time at level `l` of [`Self::levels`], ms (0 where the
    /// point's chip has no such level: see [`Self::level_index`]).
    pub fn level_ms(&self, l: usize) -> impl ExactSizeIterator<Item = f64> + Clone + '_ {
        self.column(move |p| p.levels[l].as_slice())
    }

    /// Whether each point's dtype ran natively.
    pub fn native(&self) -> impl ExactSizeIterator<Item = bool> + Clone + '_ {
        self.column(|p| p.native.as_slice())
    }

    /// Whether each point is memory-bound.
    pub fn memory_bound(&self) -> impl ExactSizeIterator<Item = bool> + Clone + '_ {
        self.column(|p| p.memory_bound.as_slice())
    }

    /// Each point's serving level, as an index in its chip's levels.
    pub fn serving_level(&self) -> impl ExactSizeIterator<Item = Option<usize>> + Clone + '_ {
        self.column(|p| p.serving_level.as_slice())
    }

    /// Each point's model detail.
    pub fn detail(&self) -> impl ExactSizeIterator<Item = ModelDetail> + Clone + '_ {
        self.column(|p| p.detail.as_slice())
    }
}

/// Predictions of `workloads` on `setup` in parallel, in order.
pub fn predict_many(setup: &Setup, workloads: &[Workload]) -> Vec<Prediction> {
    let t = setup.target();
    workloads
        .par_iter()
        .with_min_len(256)
        .map(|w| predict(&t, w))
        .collect()
}

/// The suites `mlsim recommend --suite NAME` names: `llm`, `vision`,
/// `scaling` or `all`.
pub fn suites(name: &str) -> Result<Vec<mlsim_workload::suites::Suite>, Error> {
    use mlsim_workload::suites::Suite;
    Ok(match name {
        "llm" => vec![Suite::Llm],
        "vision" => vec![Suite::Vision],
        "scaling" => vec![Suite::Scaling],
        "all" => Suite::ALL.to_vec(),
        other => {
            return Err(Error::Value(format!(
                "suite must be \"llm\", \"vision\", \"scaling\" or \"all\", got {other:?}"
            )));
        }
    })
}

/// `mlsim recommend --suite`: for each workload of `suites`, the scheme
/// (each in the chip's own fp8 variant) whose compute dtype runs it
/// fastest, the first scheme the baseline of the speedups (the first of
/// equal times wins).
pub fn suite_recommendation(
    target: &mlsim_hw::Target<'_>,
    suites: &[mlsim_workload::suites::Suite],
    schemes: &[mlsim_workload::transformer::Scheme],
) -> Result<Vec<mlsim_engine::model::Choice>, Error> {
    if schemes.is_empty() {
        return Err(Error::Value("schemes must name at least one scheme".into()));
    }
    let chip = target.chip;
    let on_chip: Vec<_> = schemes
        .iter()
        .map(|s| mlsim_engine::model::scheme_on(chip, s))
        .collect();
    Ok(suites
        .iter()
        .flat_map(|s| s.workloads())
        .map(|w| {
            let times: Vec<_> = on_chip
                .iter()
                .map(|s| (s, predict(target, &w.with_dtype(s.activations)).runtime_ms))
                .collect();
            let baseline = times[0].1;
            let (best, t) = times
                .iter()
                .fold(times[0], |b, c| if c.1 < b.1 { *c } else { b });
            mlsim_engine::model::Choice {
                op: w.name.clone(),
                scheme: best.name.clone(),
                time_ms: t,
                speedup: baseline / t,
                native: target.is_native(best.activations),
            }
        })
        .collect())
}

/// The model's own terms (the CLI's detail columns) as (name, value);
/// `None` where another model predicts.
pub const DETAIL_TERMS: [&str; 12] = [
    "compute_cycles",
    "memory_stall_cycles",
    "exposed_stall_cycles",
    "avg_latency_cycles",
    "waves",
    "split_k",
    "threads",
    "block_m",
    "block_n",
    "block_k",
    "passes",
    "rounds",
];

/// A model term's value (see [`DETAIL_TERMS`]), as a float; integer terms
/// are exact.
pub fn detail_values(p: &Prediction) -> [Option<f64>; 12] {
    detail_terms(&p.detail)
}

/// A model detail's terms (see [`DETAIL_TERMS`]), as floats; integer
/// terms are exact.
pub fn detail_terms(detail: &ModelDetail) -> [Option<f64>; 12] {
    let mut v = [None; 12];
    match *detail {
        ModelDetail::Original(o) => {
            v[0] = Some(o.compute_cycles);
            v[1] = Some(o.memory_stall_cycles);
            v[2] = Some(o.exposed_stall_cycles);
            v[3] = Some(o.avg_latency_cycles);
        }
        ModelDetail::GpuTiled(g) => {
            v[4] = Some(g.waves);
            v[5] = Some(f64::from(g.split_k));
        }
        ModelDetail::CpuBlocked(c) => {
            v[6] = Some(f64::from(c.threads));
            v[7] = Some(c.block_m as f64);
            v[8] = Some(c.block_n as f64);
            v[9] = Some(c.block_k as f64);
        }
        ModelDetail::Systolic(s) => {
            v[10] = Some(s.passes);
            v[11] = Some(s.rounds);
        }
    }
    v
}

/// Whether a detail term is an integer (split_k, threads, blocks).
pub fn detail_is_integer(i: usize) -> bool {
    matches!(i, 5..=9)
}

/// Stack, framework and timing names as `mlsim sim` prints them.
pub fn setup_names(setup: &Setup) -> (String, String, Option<&'static str>) {
    if setup.chip.model.uses_stack() {
        (
            setup.stack.name.clone(),
            setup.framework.name.clone(),
            Some(setup.timing.as_str()),
        )
    } else {
        ("none".into(), "none".into(), None)
    }
}

/// Nominal peak per described dtype, TFLOP/s (as `mlsim presets list`).
pub fn peak_tflops(chip: &Chip) -> Vec<(&'static str, f64)> {
    chip.described_dtypes()
        .into_iter()
        .map(|d| (d.name(), chip.peak_flops(d) / 1e12))
        .collect()
}

/// A chip as `mlsim presets list --format json` describes it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PresetEntry {
    /// Preset name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// `cpu`, `gpu` or `npu`.
    pub kind: &'static str,
    /// The chip's model (`original`, `gpu-tiled`, `cpu-blocked`, `systolic`).
    pub model: &'static str,
    /// Nominal peak per described dtype, TFLOP/s (TOP/s for integers).
    pub peak_tflops: std::collections::BTreeMap<&'static str, f64>,
    /// Main-memory bandwidth, GB/s.
    pub memory_bandwidth_gb_s: f64,
    /// The stack predictions use by default (empty on the original's model).
    pub default_stack: String,
    /// Whether anything it is predicted with was fitted to measurements:
    /// the chip file (a `[calibration]` record or chip-level calibrations)
    /// or its default stack.
    pub calibrated: bool,
    /// What was fitted: `chip`, `stack`, or empty.
    pub calibrated_in: &'static str,
}

impl PresetEntry {
    /// `chip` described as `mlsim presets list` describes it.
    pub fn new(chip: &Chip) -> Self {
        let stack_fitted = chip
            .default_stack
            .as_deref()
            .and_then(|s| mlsim_hw::load_stack(s).ok())
            .is_some_and(|s| s.calibration.is_some());
        let chip_fitted = chip.calibration.is_some() || !chip.chip_level_calibrations().is_empty();
        let calibrated_in = match (chip_fitted, stack_fitted) {
            (true, _) => "chip",
            (false, true) => "stack",
            (false, false) => "",
        };
        Self {
            name: chip.name.clone(),
            display_name: chip.display_name.clone(),
            kind: chip.kind.as_str(),
            model: chip.model.as_str(),
            peak_tflops: peak_tflops(chip).into_iter().collect(),
            memory_bandwidth_gb_s: chip.main_memory().bandwidth_bytes_per_s / 1e9,
            default_stack: chip.default_stack.clone().unwrap_or_default(),
            calibrated: !calibrated_in.is_empty(),
            calibrated_in,
        }
    }
}

/// Every embedded preset, described (`mlsim presets list`).
pub fn preset_entries() -> Result<Vec<PresetEntry>, Error> {
    mlsim_hw::presets()
        .map(|p| Ok(PresetEntry::new(&p.load()?)))
        .collect()
}

/// Run `f`, turning a panic into an error message instead of unwinding
/// into Python.
pub fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.message().to_string()),
        Err(p) => Err(panic_message(p.as_ref())),
    }
}

/// A panic's payload in words.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error in mlsim (a bug; please report it): {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_named_and_checked_as_the_cli_does() {
        let w = matmul(1024, 512, 256, Dtype::Fp16).unwrap();
        assert_eq!(w.name, "MatMul 1024x512x256");
        // 2 m n k FLOPs, by hand.
        assert_eq!(w.flops(), 2.0 * 1024.0 * 512.0 * 256.0);
        let e = matmul(0, 1, 1, Dtype::Fp32).unwrap_err();
        assert!(
            matches!(&e, Error::Value(m) if m.starts_with("invalid matmul shape")),
            "{e:?}"
        );
        assert!(matches!(
            elementwise(10, "sigmoid", Dtype::Fp32),
            Err(Error::Value(_))
        ));
    }

    #[test]
    fn shapes_parse_as_sweep_reads_them() {
        assert_eq!(parse_shape("512x4096x1024").unwrap(), (512, 4096, 1024));
        assert_eq!(parse_shape("64").unwrap(), (64, 64, 64));
        assert!(parse_shape("1x2").is_err());
        assert!(parse_shape("ax2x3").is_err());
    }

    #[test]
    fn a_grid_is_ordered_setup_shape_dtype() {
        let setup = load_setup("t4-seed", &SetupOptions::default()).unwrap();
        let grid = Grid::new(
            vec![setup.clone()],
            vec![(64, 64, 64), (128, 128, 128)],
            vec![Dtype::Fp32, Dtype::Fp16],
        )
        .unwrap();
        assert_eq!(grid.point(3), (0, 1, 1));
        let preds = grid.predict();
        let t = setup.target();
        let one = predict(&t, &matmul(128, 128, 128, Dtype::Fp16).unwrap());
        assert_eq!(preds[3], one);
    }

    #[test]
    fn sweep_columns_hold_every_prediction_in_grid_order() {
        // Two chips with different memory levels and models, and more
        // points than one piece, so columns cross piece boundaries.
        let setups = ["t4", "xeon-sapphire-rapids"]
            .map(|c| load_setup(c, &SetupOptions::default()).unwrap())
            .to_vec();
        let shapes: Vec<_> = (1..=1100).map(|m| (m, 96, 64)).collect();
        let grid = Grid::new(setups, shapes, vec![Dtype::Fp32, Dtype::Bf16]).unwrap();
        assert!(grid.len() > 2 * PIECE);
        let preds = grid.predict();
        let cols = grid.columns();
        assert_eq!(cols.len, preds.len());
        for (c, name) in FLOAT_COLUMNS.iter().enumerate() {
            let got: Vec<f64> = cols.floats(c).collect();
            let want: Vec<f64> = preds.iter().map(|p| float_values(p)[c]).collect();
            assert_eq!(got, want, "{name}");
        }
        let native: Vec<bool> = cols.native().collect();
        assert_eq!(native, preds.iter().map(|p| p.native).collect::<Vec<_>>());
        let serving: Vec<_> = cols.serving_level().collect();
        let want: Vec<_> = preds.iter().map(|p| p.serving_level_index).collect();
        assert_eq!(serving, want);
        let detail: Vec<_> = cols.detail().collect();
        assert_eq!(detail, preds.iter().map(|p| p.detail).collect::<Vec<_>>());
        for (l, name) in cols.levels.iter().enumerate() {
            for (i, v) in cols.level_ms(l).enumerate() {
                let s = grid.point(i).0;
                let chip = &grid.setups[s].chip;
                match chip.memory.iter().position(|x| x.name == *name) {
                    Some(j) => assert_eq!(v, preds[i].level_memory_ms.as_slice()[j]),
                    None => assert_eq!(cols.level_index[s][l], None),
                }
            }
        }
    }

    #[test]
    fn bad_inputs_are_errors_of_their_kind() {
        let e = load_setup("no-such-chip", &SetupOptions::default()).unwrap_err();
        assert!(matches!(&e, Error::ChipFile(m) if m.contains("unknown name `no-such-chip`")));
        let o = SetupOptions {
            host_floor_us: Some(f64::NAN),
            ..Default::default()
        };
        assert!(matches!(load_setup("t4", &o), Err(Error::Value(_))));
        let o = SetupOptions {
            timing: Some("sometimes".into()),
            ..Default::default()
        };
        assert!(matches!(load_setup("t4", &o), Err(Error::Value(_))));
    }

    #[test]
    fn a_panic_becomes_a_message() {
        let r: Result<(), String> = guarded(|| panic!("boom"));
        assert_eq!(
            r.unwrap_err(),
            "internal error in mlsim (a bug; please report it): boom"
        );
    }
}
