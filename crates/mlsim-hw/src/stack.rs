//! Software stacks: what a kernel library makes of a chip generation
//! ([`Stack`]) and what the calling framework costs on the host
//! ([`Framework`]); and how a measurement was timed ([`Timing`]).
//!
//! A prediction is of a chip (datasheet), a stack and a timing method
//! (docs/model/stacks-and-timing.md). Stacks are data: TOML files under
//! `stacks/`, embedded like presets, user files accepted wherever a name is.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use mlsim_quant::{Dtype, DtypeMap};

use crate::doc::{
    FieldPath, FileKind, Problem, at_least_one, check_top_level, finite, non_negative,
    output_bytes, parse_dtype, parse_validated, plausible, positive, problem, problem_with_hint,
    share,
};
use crate::error::HwError;
use crate::load::validate_tiles;
use crate::raw::{RawCalibration, RawFramework, RawKernel, RawStack};

const STACK_FILE: FileKind = FileKind {
    noun: "stack",
    example: "mlsim stacks show cublas-hopper",
    schema_doc: "stacks/README.md",
};

const FRAMEWORK_FILE: FileKind = FileKind {
    noun: "framework",
    example: "mlsim stacks show pytorch-eager",
    schema_doc: "stacks/README.md",
};

/// A kernel library on one chip generation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stack {
    /// Short identifier (`cublas-hopper`).
    pub name: String,
    /// Label for tables.
    pub display_name: String,
    /// The generation it describes, in words.
    pub generation: String,
    /// Where the numbers come from.
    pub sources: Vec<String>,
    /// What was fitted, if anything.
    pub calibration: Option<RawCalibration>,
    /// Share of the sustained peak for dtypes without their own entry.
    pub efficiency: f64,
    /// Output tiles for dtypes without their own list, largest first.
    pub tiles: Vec<(u32, u32)>,
    /// GPU-side terms of one kernel.
    pub kernel: KernelTerms,
    /// Share of datasheet bandwidth per memory level name (`main`: the
    /// chip's last level).
    pub memory_share: BTreeMap<String, f64>,
    /// Per-dtype kernels.
    pub paths: DtypeMap<StackPath>,
    /// The host floor of the machine a fitted stack was measured on,
    /// seconds; replaces the framework's when present.
    pub host_floor_s: Option<f64>,
    /// The timing overhead per call of the loop a fitted stack was measured
    /// with, seconds; replaces the framework's when present.
    pub host_timing_overhead_s: Option<f64>,
    /// Dequantization work per element of a format without a path of its
    /// own (`[dequantize]`).
    pub dequantize: Dequantize,
}

/// The `[dequantize]` table of a stack, validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Dequantize {
    /// fp32 operations per element decoded into the wider format.
    pub convert_flops_per_element: f64,
    /// Further operations per element of a block-scaled format.
    pub scale_flops_per_element: f64,
}

/// The GPU-side cost of one kernel beyond its arithmetic and traffic.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct KernelTerms {
    /// Time of a kernel that does no work, seconds (on a CPU: waking and
    /// joining the threads of a call that runs on more than one).
    pub fixed_s: f64,
    /// K-slices in flight per thread block.
    pub pipeline_stages: u32,
    /// Depth of a K-slice, bytes per operand row.
    pub k_slice_bytes: f64,
    /// Whether K is split across blocks when tiles leave SMs idle.
    pub split_k: bool,
    /// Most K-splits of one GEMM (`u32::MAX` when the file sets no cap:
    /// as many as fill the SMs).
    pub max_split_k: u32,
    /// Share of main-memory bandwidth while packing GEMM operands (1: all).
    pub pack_main_memory_share: f64,
}

/// The library's kernels for one dtype.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StackPath {
    /// Share of the sustained peak on large GEMMs (`None`: the stack's).
    pub efficiency: Option<f64>,
    /// Output tiles (empty: the stack's).
    pub tiles: Vec<(u32, u32)>,
    /// Bytes per output element (`None`: the dtype's own).
    pub output_bytes: Option<f64>,
    /// Accumulates in fp16 (uses the chip's half-accumulate peak).
    pub half_accumulate: bool,
    /// Splits K across blocks (`None`: the stack's `kernel.split_k`).
    pub split_k: Option<bool>,
    /// The entry point, in words.
    pub entry_point: Option<String>,
    /// Cycles per element converted one at a time on one core, for an
    /// emulated dtype (`None`: conversion is vectorised, the chip's cost).
    pub convert_cycles_per_element: Option<f64>,
    /// Threads a GEMV in this dtype runs on, where the library caps them.
    pub gemv_threads: Option<u32>,
    /// The dtype whose path the library computes this one through, even
    /// where the chip has its own (`None`: the chip's path).
    pub runs_as: Option<Dtype>,
}

impl Stack {
    /// Share of `dtype`'s sustained peak a large GEMM reaches.
    pub fn efficiency(&self, dtype: Dtype) -> f64 {
        self.paths
            .get(dtype)
            .and_then(|p| p.efficiency)
            .unwrap_or(self.efficiency)
    }

    /// Output tiles for `dtype`, largest first as listed.
    pub fn tiles(&self, dtype: Dtype) -> &[(u32, u32)] {
        match self.paths.get(dtype) {
            Some(p) if !p.tiles.is_empty() => &p.tiles,
            _ => &self.tiles,
        }
    }

    /// Bytes per output element of `dtype`'s GEMMs.
    pub fn output_bytes(&self, dtype: Dtype) -> f64 {
        self.paths
            .get(dtype)
            .and_then(|p| p.output_bytes)
            .unwrap_or_else(|| dtype.bytes_per_element())
    }

    /// Whether `dtype`'s kernels split K across blocks when the output tiles
    /// leave SMs idle.
    pub fn split_k(&self, dtype: Dtype) -> bool {
        self.paths
            .get(dtype)
            .and_then(|p| p.split_k)
            .unwrap_or(self.kernel.split_k)
    }

    /// Cycles per element this library converts one at a time for an
    /// emulated `dtype`, if it does.
    pub fn convert_cycles_per_element(&self, dtype: Dtype) -> Option<f64> {
        self.paths
            .get(dtype)
            .and_then(|p| p.convert_cycles_per_element)
    }

    /// Threads a GEMV in `dtype` runs on, where the library caps them.
    pub fn gemv_threads(&self, dtype: Dtype) -> Option<u32> {
        self.paths.get(dtype).and_then(|p| p.gemv_threads)
    }

    /// The dtype whose path this library computes `dtype` through, where
    /// it does not use the chip's own (gemm-f16 on x86: fp16 through fp32).
    pub fn runs_as(&self, dtype: Dtype) -> Option<Dtype> {
        self.paths.get(dtype).and_then(|p| p.runs_as)
    }

    /// Whether `dtype`'s kernels accumulate in fp16.
    pub fn half_accumulate(&self, dtype: Dtype) -> bool {
        self.paths.get(dtype).is_some_and(|p| p.half_accumulate)
    }

    /// Share of the datasheet bandwidth of memory level `name` (`is_main`:
    /// the chip's last level, also found under `main`).
    pub fn memory_share(&self, name: &str, is_main: bool) -> f64 {
        self.memory_share
            .get(name)
            .or_else(|| is_main.then(|| self.memory_share.get("main")).flatten())
            .copied()
            .unwrap_or(1.0)
    }

    /// fp32 operations per loaded element of `dtype` that this library
    /// spends dequantizing it to another path (block-scaled formats also
    /// pay for their scale).
    pub fn dequantize_flops(&self, dtype: Dtype) -> f64 {
        let d = self.dequantize;
        d.convert_flops_per_element
            + if dtype.block_scaling().is_some() {
                d.scale_flops_per_element
            } else {
                0.0
            }
    }

    /// A stack that adds nothing: every share 1, one 128 x 128 tile, no
    /// kernel floor (for chips on the original's model, which ignore it).
    pub fn neutral() -> Self {
        Self {
            name: "neutral".into(),
            display_name: "no software stack (the chip file's own terms)".into(),
            generation: "any".into(),
            sources: vec!["mlsim: a stack that changes nothing".into()],
            calibration: None,
            efficiency: 1.0,
            tiles: vec![(128, 128)],
            kernel: KernelTerms {
                fixed_s: 0.0,
                pipeline_stages: 1,
                k_slice_bytes: 128.0,
                split_k: false,
                max_split_k: 1,
                pack_main_memory_share: 1.0,
            },
            memory_share: BTreeMap::new(),
            paths: DtypeMap::new(),
            host_floor_s: None,
            host_timing_overhead_s: None,
            dequantize: Dequantize::default(),
        }
    }
}

/// The host side: what a framework costs per GEMM call.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Framework {
    /// Short identifier (`pytorch-eager`).
    pub name: String,
    /// Label for tables.
    pub display_name: String,
    /// Where the numbers come from.
    pub sources: Vec<String>,
    /// The host floor: host time from a call's start to its kernel's
    /// launch, seconds.
    pub host_floor_s: f64,
    /// Host time per call a loop timing each call adds, seconds.
    pub timing_overhead_s: f64,
    /// GPU idle time between two queued kernels, seconds.
    pub gpu_gap_s: f64,
    /// A dtype's entry point's host floor over the others' (at least 1).
    pub dtype_floor_factor: DtypeMap<f64>,
}

impl Framework {
    /// `dtype`'s entry point's host floor over the others' (1 unless the
    /// framework says otherwise).
    pub fn dtype_floor_factor(&self, dtype: Dtype) -> f64 {
        self.dtype_floor_factor.get(dtype).copied().unwrap_or(1.0)
    }
}

/// How a measured runtime was timed, and so what a prediction of it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Timing {
    /// The GPU kernel's own duration (a profiler, CUPTI): no host cost.
    Kernel,
    /// The mean over many calls queued without synchronisation (or a CUDA
    /// graph's replay): the host is hidden whenever it is faster than the
    /// GPU.
    BackToBack,
    /// Each call timed on its own (CUDA events or a host clock around it):
    /// the host's floor is paid whenever the kernel is shorter.
    PerCall,
}

impl Timing {
    /// Every timing method, in vocabulary order.
    pub const ALL: [Timing; 3] = [Timing::Kernel, Timing::BackToBack, Timing::PerCall];

    /// The name used in files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Kernel => "kernel",
            Timing::BackToBack => "back-to-back",
            Timing::PerCall => "per-call",
        }
    }
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A timing name outside the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timing `{0}`, expected one of kernel, back-to-back, per-call")]
pub struct UnknownTiming(pub String);

impl FromStr for Timing {
    type Err = UnknownTiming;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "kernel" => Ok(Timing::Kernel),
            "back-to-back" => Ok(Timing::BackToBack),
            "per-call" => Ok(Timing::PerCall),
            _ => Err(UnknownTiming(s.to_string())),
        }
    }
}

/// Parse and validate a kernel-library stack file.
pub fn parse_stack(text: &str, file: &str) -> Result<Stack, HwError> {
    check_top_level(text, file, "kind", "library", |found| {
        kind_problem(found, "library")
    })?;
    parse_validated(text, file, STACK_FILE, validate_stack)
}

/// Parse and validate a framework file.
pub fn parse_framework(text: &str, file: &str) -> Result<Framework, HwError> {
    check_top_level(text, file, "kind", "framework", |found| {
        kind_problem(found, "framework")
    })?;
    parse_validated(text, file, FRAMEWORK_FILE, validate_framework)
}

/// The message and hint for a stack file of the wrong kind.
fn kind_problem(found: &str, expected: &str) -> (String, String) {
    let hint = match found {
        "framework" => "this is a framework file: pass it with --framework, not --stack",
        "library" => "this is a kernel-library stack: pass it with --stack, not --framework",
        _ => "`library` for kernel libraries, `framework` for the host side",
    };
    (
        format!("expected kind = \"{expected}\", got \"{found}\""),
        hint.to_string(),
    )
}

fn check_name(root: &FieldPath, name: &str) -> Result<(), Problem> {
    if name.trim().is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(problem_with_hint(
            root.key("name"),
            format!("expected a lower-case identifier of letters, digits and dashes, got {name:?}"),
            "for example `cublas-hopper`",
        ));
    }
    Ok(())
}

fn check_kind(root: &FieldPath, kind: &str, expected: &str) -> Result<(), Problem> {
    if kind == expected {
        return Ok(());
    }
    let (message, hint) = kind_problem(kind, expected);
    Err(problem_with_hint(root.key("kind"), message, hint))
}

fn check_sources(root: &FieldPath, sources: &[String]) -> Result<(), Problem> {
    if sources.is_empty() || sources.iter().any(|s| s.trim().is_empty()) {
        return Err(problem_with_hint(
            root.key("sources"),
            "expected at least one non-empty source",
            "cite the measurement, paper or documentation each value comes from",
        ));
    }
    Ok(())
}

fn microseconds(path: &FieldPath, field: &str, us: f64) -> Result<f64, Problem> {
    Ok(plausible(path, field, non_negative(path, field, us)?, 0.0, 1e6, "us")? / 1e6)
}

fn validate_stack(raw: RawStack) -> Result<Stack, Problem> {
    let root = FieldPath::default();
    check_name(&root, &raw.name)?;
    check_kind(&root, &raw.kind, "library")?;
    check_sources(&root, &raw.sources)?;
    if let Some(c) = &raw.calibration
        && c.note.trim().is_empty()
    {
        return Err(problem(
            root.key("calibration").key("note"),
            "expected a non-empty note saying what was fitted",
        ));
    }
    let efficiency = share(&root, "efficiency", raw.efficiency)?;
    let tiles = validate_tiles(&root, &raw.tiles)?;
    if tiles.is_empty() {
        return Err(problem_with_hint(
            root.key("tiles"),
            "a stack needs at least one output tile",
            "e.g. tiles = [[128, 128], [64, 64]]",
        ));
    }
    let kernel = validate_kernel(&root.key("kernel"), &raw.kernel)?;
    let mut memory_share = BTreeMap::new();
    let mpath = root.key("memory_share");
    for (level, v) in raw.memory_share {
        memory_share.insert(level.clone(), share(&mpath, &level, v)?);
    }
    let mut paths = DtypeMap::new();
    let ppath = root.key("paths");
    for (key, p) in raw.paths {
        let dtype = parse_dtype(&ppath, &key)?;
        let path = ppath.key(&key);
        let half_accumulate = match p.accumulate.as_deref() {
            None | Some("fp32") => false,
            Some("fp16") => true,
            Some(other) => {
                return Err(problem(
                    path.key("accumulate"),
                    format!("unknown accumulator `{other}`, expected fp32 or fp16"),
                ));
            }
        };
        let stack_path = StackPath {
            efficiency: p
                .efficiency
                .map(|e| share(&path, "efficiency", e))
                .transpose()?,
            tiles: validate_tiles(&path, &p.tiles)?,
            output_bytes: p.output_bytes.map(|b| output_bytes(&path, b)).transpose()?,
            half_accumulate,
            split_k: p.split_k,
            entry_point: p.entry_point,
            convert_cycles_per_element: p
                .convert_cycles_per_element
                .map(|c| positive(&path, "convert_cycles_per_element", c))
                .transpose()?,
            gemv_threads: p
                .gemv_threads
                .map(|t| at_least_one(&path, "gemv_threads", t))
                .transpose()?,
            runs_as: match p.runs_as {
                None => None,
                Some(name) => {
                    let via = parse_dtype(&path, &name).map_err(|mut e| {
                        e.path = path.key("runs_as");
                        e
                    })?;
                    if via == dtype {
                        return Err(problem(
                            path.key("runs_as"),
                            format!(
                                "{dtype} cannot run as itself: name another dtype, or leave runs_as out"
                            ),
                        ));
                    }
                    Some(via)
                }
            },
        };
        if paths.insert(dtype, stack_path).is_some() {
            return Err(problem(path, format!("dtype {dtype} is given twice")));
        }
    }
    let hpath = root.key("host");
    let (host_floor_s, host_timing_overhead_s) = match raw.host {
        Some(h) => {
            if h.floor_us.is_none() && h.timing_overhead_us.is_none() {
                return Err(problem_with_hint(
                    hpath,
                    "an empty [host] table",
                    "give floor_us, timing_overhead_us or both, or remove the table",
                ));
            }
            (
                h.floor_us
                    .map(|us| microseconds(&hpath, "floor_us", us))
                    .transpose()?,
                h.timing_overhead_us
                    .map(|us| microseconds(&hpath, "timing_overhead_us", us))
                    .transpose()?,
            )
        }
        None => (None, None),
    };
    let dequantize = {
        let dpath = root.key("dequantize");
        let flops = |field: &str, v: f64| {
            plausible(
                &dpath,
                field,
                non_negative(&dpath, field, v)?,
                0.0,
                1e3,
                "FLOP",
            )
        };
        let d = &raw.dequantize;
        Dequantize {
            convert_flops_per_element: flops(
                "convert_flops_per_element",
                d.convert_flops_per_element,
            )?,
            scale_flops_per_element: flops("scale_flops_per_element", d.scale_flops_per_element)?,
        }
    };
    Ok(Stack {
        name: raw.name,
        display_name: raw.display_name,
        generation: raw.generation,
        sources: raw.sources,
        calibration: raw.calibration,
        efficiency,
        tiles,
        kernel,
        memory_share,
        paths,
        host_floor_s,
        host_timing_overhead_s,
        dequantize,
    })
}

fn validate_kernel(path: &FieldPath, raw: &RawKernel) -> Result<KernelTerms, Problem> {
    let k_slice_bytes = plausible(
        path,
        "k_slice_bytes",
        positive(path, "k_slice_bytes", raw.k_slice_bytes)?,
        1.0,
        65536.0,
        "bytes",
    )?;
    let pipeline_stages = at_least_one(path, "pipeline_stages", raw.pipeline_stages)?;
    plausible(
        path,
        "pipeline_stages",
        f64::from(pipeline_stages),
        1.0,
        64.0,
        "stages",
    )?;
    // Absent: no cap but filling the SMs (no hidden number here).
    let max_split_k = match raw.max_split_k {
        Some(n) => {
            let n = at_least_one(path, "max_split_k", n)?;
            plausible(path, "max_split_k", f64::from(n), 1.0, 1024.0, "splits")?;
            n
        }
        None => u32::MAX,
    };
    Ok(KernelTerms {
        fixed_s: microseconds(path, "fixed_us", finite(path, "fixed_us", raw.fixed_us)?)?,
        pipeline_stages,
        k_slice_bytes,
        split_k: raw.split_k,
        max_split_k,
        pack_main_memory_share: raw
            .pack_main_memory_share
            .map(|v| share(path, "pack_main_memory_share", v))
            .transpose()?
            .unwrap_or(1.0),
    })
}

fn validate_framework(raw: RawFramework) -> Result<Framework, Problem> {
    let root = FieldPath::default();
    check_name(&root, &raw.name)?;
    check_kind(&root, &raw.kind, "framework")?;
    check_sources(&root, &raw.sources)?;
    let host_floor_s = microseconds(&root, "host_floor_us", raw.host_floor_us)?;
    let timing_overhead_s = microseconds(&root, "timing_overhead_us", raw.timing_overhead_us)?;
    let mut dtype_floor_factor = DtypeMap::new();
    let epath = root.key("dtype_floor_factor");
    for (key, f) in raw.dtype_floor_factor {
        let dtype = parse_dtype(&epath, &key)?;
        let f = plausible(
            &epath,
            &key,
            finite(&epath, &key, f)?,
            1.0,
            100.0,
            "times the floor",
        )?;
        if dtype_floor_factor.insert(dtype, f).is_some() {
            return Err(problem(
                epath.key(&key),
                format!("dtype {dtype} is given twice"),
            ));
        }
    }
    Ok(Framework {
        name: raw.name,
        display_name: raw.display_name,
        sources: raw.sources,
        host_floor_s,
        timing_overhead_s,
        gpu_gap_s: microseconds(&root, "gpu_gap_us", raw.gpu_gap_us)?,
        dtype_floor_factor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_names_round_trip_and_unknown_ones_list_the_vocabulary() {
        for t in Timing::ALL {
            assert_eq!(t.as_str().parse::<Timing>(), Ok(t));
        }
        assert_eq!("Per_Call".parse::<Timing>(), Ok(Timing::PerCall));
        let e = "cuda-events".parse::<Timing>().unwrap_err().to_string();
        assert!(e.contains("kernel, back-to-back, per-call"), "{e}");
    }
}
