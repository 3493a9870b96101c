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
    /// A measurement file or table: `mlsim.MeasurementError`.
    Measurement(String),
    /// A bad argument: `ValueError`.
    Value(String),
}

impl Error {
    /// The message, as the CLI prints it after `error: `.
    pub fn message(&self) -> &str {
        match self {
            Error::ChipFile(m) | Error::Measurement(m) | Error::Value(m) => m,
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
    let mut v = [None; 12];
    match p.detail {
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
