//! The mlsim simulator.
//!
//! [`predict`] turns a [`Target`] (a chip, a software stack and a timing
//! method) and a workload into a [`Prediction`]. Chips with arch `gpu` go
//! through the tiled model ([`gpu`]): kernel terms from the chip's
//! datasheet and the stack's library, then the host's share by timing
//! method. The original program's four chips keep its model: the memory
//! cascade ([`memory`]) gives hit rate, serving level and stall cycles; the
//! compute model ([`compute`]) gives the effective rate; stall not hidden
//! by the chip's overlap is added to compute time, plus the chip's launch
//! overhead. A [`Prediction`] is plain numbers (no allocation);
//! [`SimResult`] attaches names for reports.
//!
//! The simulator holds no state: every function is pure and thread-safe.
//! [`sweep`] runs many predictions in parallel (rayon) and returns them in
//! input order, so outputs do not depend on the thread count.
//!
//! ```
//! use mlsim_quant::Dtype;
//! use mlsim_workload::{Op, Workload};
//! let t4 = mlsim_hw::Setup::load("t4-seed", &Default::default()).unwrap();
//! let w = Workload::new("mm", Op::matmul(1024, 1024, 1024), Dtype::Fp16).unwrap();
//! let r = mlsim_engine::simulate(&t4.target(), &w);
//! // The original program printed 0.0952345065 ms for this point.
//! assert!((r.prediction.runtime_ms - 0.0952345065).abs() < 1e-9);
//! assert_eq!(r.prediction.bottleneck.as_str(), "compute");
//! ```
#![deny(missing_docs)]

use mlsim_hw::{ChipModel, Target};
use mlsim_quant::Dtype;
use mlsim_roofline::Bound;
use mlsim_workload::{Op, Workload};
use rayon::prelude::*;

pub mod collectives;
pub mod compute;
pub mod conformance;
pub mod cpu;
pub mod crossover;
pub mod energy;
pub mod gpu;
pub mod memory;
pub mod model;
pub mod quant;
pub mod rates;
mod round;
pub mod serving;
pub mod summary;
pub mod systolic;
pub mod terms;

pub use terms::{
    CpuDetail, GpuDetail, KernelCost, LevelTimes, ModelDetail, OpKernels, OriginalDetail,
    SystolicDetail,
};

/// Exposed stall above this share of compute cycles makes a workload
/// memory-bound (the original's threshold).
pub const MEMORY_BOUND_STALL_SHARE: f64 = 0.2;

/// Everything a model computed for one (chip, op, dtype), as numbers: the
/// terms every model gives, and the model's own in [`ModelDetail`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// FLOPs of the workload.
    pub flops: f64,
    /// Bytes moved.
    pub bytes: f64,
    /// FLOPs per byte.
    pub arithmetic_intensity: f64,
    /// Predicted runtime in milliseconds, host time included.
    pub runtime_ms: f64,
    /// Time computing at the effective rate, ms (padded work included).
    pub compute_ms: f64,
    /// Time to move the bytes at the limiting memory level, ms (the
    /// original's model: its stall time).
    pub memory_ms: f64,
    /// Time to move the bytes at each memory level, ms, fastest level
    /// first (the original's model: its stall at the serving level).
    pub level_memory_ms: LevelTimes,
    /// Host time included in `runtime_ms`, in milliseconds: the launch
    /// cost of the original's model; otherwise what the host adds to the
    /// kernels under the timing method (`runtime - kernel`).
    pub launch_ms: f64,
    /// The kernels' own duration on the device, ms.
    pub kernel_ms: f64,
    /// The part of `kernel_ms` that does not depend on the work: a GPU
    /// kernel's start-up and first round trip, a CPU call's thread wake-up
    /// (0 on the original's model).
    pub kernel_floor_ms: f64,
    /// Time converting loaded elements for an emulated dtype, ms.
    pub conversion_ms: f64,
    /// Bytes moved to and from main memory (mlsim's models count operand
    /// re-reads and nothing for data a repeated call finds in cache; the
    /// original's model reports the ideal bytes).
    pub dram_bytes: f64,
    /// Whether the dtype ran on hardware built for it (false: emulated
    /// through another path).
    pub native: bool,
    /// Share of the busy time spent computing, in [0, 1].
    pub compute_utilization: f64,
    /// Achieved TFLOP/s over the whole runtime.
    pub achieved_tflops: f64,
    /// The effective compute rate in TFLOP/s.
    pub effective_tflops: f64,
    /// Useful work over the work of the padded tiles (or the original's
    /// tiling efficiency), in (0, 1].
    pub tiling_efficiency: f64,
    /// Share of the requested bytes served above main memory.
    pub hit_rate: f64,
    /// Index of the slowest memory level that served bytes.
    pub serving_level_index: Option<usize>,
    /// Memory- or compute-bound.
    pub bottleneck: Bound,
    /// What only the chip's model computes (in JSON, its fields beside the
    /// common ones, with `model` naming it).
    #[serde(flatten)]
    pub detail: ModelDetail,
}

impl Prediction {
    /// Ways K is split across thread blocks (the GPU model; 1 otherwise).
    pub fn split_k(&self) -> u32 {
        match self.detail {
            ModelDetail::GpuTiled(g) => g.split_k,
            _ => 1,
        }
    }

    /// The original's own terms, when the chip is on its model.
    pub fn original(&self) -> Option<&OriginalDetail> {
        match &self.detail {
            ModelDetail::Original(o) => Some(o),
            _ => None,
        }
    }
}

/// Predict `op` in `dtype` on a target. Pure, allocation-free.
pub fn predict(t: &Target<'_>, workload: &Workload) -> Prediction {
    let pattern = workload.access_pattern();
    // The working set is the workload's bytes: no need to count them twice.
    predict_parts(
        t,
        &workload.op,
        workload.dtype,
        workload.flops(),
        pattern.working_set_bytes,
        &pattern,
    )
}

fn predict_parts(
    t: &Target<'_>,
    op: &Op,
    dtype: Dtype,
    flops: f64,
    bytes: f64,
    pattern: &mlsim_workload::AccessPattern,
) -> Prediction {
    match t.model() {
        ChipModel::Original => predict_original(t.chip, op, dtype, flops, bytes, pattern),
        _ => predict_mlsim(t, op, dtype, flops, bytes),
    }
}

/// The op's kernels on one of mlsim's models (kept out of line so the
/// original model's path stays small and fast).
#[inline(never)]
fn predict_mlsim(t: &Target<'_>, op: &Op, dtype: Dtype, flops: f64, bytes: f64) -> Prediction {
    let kernels = terms::op_kernels(
        op,
        flops,
        bytes,
        |m, n, k, batch| gemm_kernel(t, m, n, k, batch, dtype),
        |flops, bytes, allocating| stream_kernel(t, flops, bytes, allocating, dtype),
    )
    .expect(NO_FP32_PATH);
    from_kernels(t, dtype, flops, bytes, &kernels)
}

const NO_FP32_PATH: &str = "validated gpu-tiled and systolic chips have a native fp32 path";

/// A target with what its dtypes' GEMMs cost on the GPU model apart from
/// their shapes resolved once: the same predictions as [`predict`], for
/// callers that make millions on one target (`mlsim sweep`), without
/// resolving a dtype's clock, rate, conversion cost, tiles, bandwidth
/// shares and host floor again each time.
#[derive(Debug, Clone)]
pub struct Predictor<'t> {
    target: &'t Target<'t>,
    gpu: mlsim_quant::DtypeMap<GpuDtype<'t>>,
}

/// A dtype on a GPU target, resolved once.
#[derive(Debug, Clone)]
struct GpuDtype<'t> {
    gemm: gpu::GemmPlan<'t>,
    host_floor_s: f64,
}

impl<'t> Predictor<'t> {
    /// `target`'s predictor (every dtype it runs resolved).
    pub fn new(target: &'t Target<'t>) -> Self {
        let mut resolved = mlsim_quant::DtypeMap::new();
        if target.model() == ChipModel::GpuTiled {
            for d in Dtype::ALL {
                if let Some(gemm) = gpu::GemmPlan::new(target, d) {
                    let host_floor_s = target.host_floor_s(d);
                    resolved.insert(d, GpuDtype { gemm, host_floor_s });
                }
            }
        }
        Self {
            target,
            gpu: resolved,
        }
    }

    /// The target.
    pub fn target(&self) -> &'t Target<'t> {
        self.target
    }

    /// [`predict`] on the target.
    pub fn predict(&self, workload: &Workload) -> Prediction {
        let t = self.target;
        let dtype = workload.dtype;
        match (&workload.op, self.gpu.get(dtype)) {
            (&Op::MatMul { m, n, k }, Some(resolved)) => {
                // One GEMM kernel: what `from_kernels` makes of it, without
                // the list of an op's kernels.
                let mut total = resolved.gemm.cost(m, n, k, 1).expect(NO_FP32_PATH);
                let kernel_s = total.kernel_s();
                let runtime_s = t.call_s_with_floor(resolved.host_floor_s, kernel_s);
                total.tile_efficiency = 1f64.min(total.tile_efficiency);
                // `predict`'s bytes: the access pattern's working set is the
                // workload's bytes.
                from_total(
                    &total,
                    kernel_s,
                    runtime_s,
                    workload.flops(),
                    workload.bytes(),
                )
            }
            _ => predict(t, workload),
        }
    }
}

/// The kernel of `batch` independent `m x n x k` GEMMs in `dtype` on one of
/// mlsim's models (`None` on the original's, which has no kernel terms):
/// the kernel [`predict`] costs for a matmul, for callers that cost their
/// own ops (`model`).
pub fn gemm_kernel(
    t: &Target<'_>,
    m: u64,
    n: u64,
    k: u64,
    batch: u64,
    dtype: Dtype,
) -> Option<KernelCost> {
    match t.model() {
        ChipModel::Original => None,
        ChipModel::GpuTiled => gpu::gemm(t, m, n, k, batch, dtype),
        ChipModel::CpuBlocked => Some(cpu::gemm(t, m, n, k, batch, dtype)),
        ChipModel::Systolic => Some(systolic::gemm(t, m, n, k, batch, dtype)),
    }
}

/// The streaming kernel (elementwise ops) of `flops` and `bytes` on one of
/// mlsim's models (`None` on the original's). `allocating_bytes` of the
/// bytes are written by plain stores, which read each line first where it
/// misses the first-level cache: the CPU model charges that read at its
/// caches beyond L1; the GPU and systolic models stream from HBM and do
/// not distinguish.
pub fn stream_kernel(
    t: &Target<'_>,
    flops: f64,
    bytes: f64,
    allocating_bytes: f64,
    dtype: Dtype,
) -> Option<KernelCost> {
    match t.model() {
        ChipModel::Original => None,
        ChipModel::GpuTiled => gpu::roofline_terms(t, flops, bytes, dtype),
        ChipModel::CpuBlocked => Some(cpu::stream(t, flops, bytes, allocating_bytes, dtype)),
        ChipModel::Systolic => Some(systolic::stream(t, flops, bytes, dtype)),
    }
}

/// What one call of `kernel` costs, seconds: on a CPU the kernel itself
/// (the host is the device); elsewhere the kernel under the target's
/// timing method ([`Target::call_s`]).
pub fn call_s(t: &Target<'_>, dtype: Dtype, kernel: &KernelCost) -> f64 {
    if kernel.on_host {
        kernel.kernel_s()
    } else {
        t.call_s(dtype, kernel.kernel_s())
    }
}

/// The original program's model: memory cascade, compute rate, overlap.
#[inline]
fn predict_original(
    chip: &mlsim_hw::Chip,
    op: &Op,
    dtype: Dtype,
    flops: f64,
    bytes: f64,
    pattern: &mlsim_workload::AccessPattern,
) -> Prediction {
    let mem = memory::simulate_memory(chip, bytes, pattern);
    let tiling = compute::tiling_efficiency(chip, op);
    let rate_flops = chip.compute.peak_fp32_flops
        * chip.compute.efficiency
        * chip.compute.speedup(dtype)
        * tiling;
    let freq = chip.frequency_hz;
    let compute_s = flops / rate_flops;
    let compute_cycles = compute_s * freq;
    let exposed = mem.stall_cycles * (1.0 - chip.compute.memory_overlap);
    let total_cycles = compute_cycles + exposed;
    let launch_ms = chip.launch_overhead_s * 1e3;
    let busy_s = compute_s + exposed / freq;
    let runtime_ms = busy_s * 1e3 + launch_ms;
    let bottleneck = if exposed > MEMORY_BOUND_STALL_SHARE * compute_cycles {
        Bound::Memory
    } else {
        Bound::Compute
    };
    let stall_ms = mem.stall_cycles / freq * 1e3;
    let mut level_memory_ms = LevelTimes::zeros(chip.memory.len());
    if let Some(i) = mem.serving_level {
        level_memory_ms.set(i, stall_ms);
    }
    Prediction {
        flops,
        bytes,
        arithmetic_intensity: flops / bytes,
        runtime_ms,
        compute_ms: compute_s * 1e3,
        memory_ms: stall_ms,
        level_memory_ms,
        launch_ms,
        kernel_ms: busy_s * 1e3,
        kernel_floor_ms: 0.0,
        conversion_ms: 0.0,
        dram_bytes: bytes,
        native: chip.compute.dtype_speedup.contains(dtype) || dtype == Dtype::Fp32,
        compute_utilization: compute_cycles / total_cycles.max(1.0),
        achieved_tflops: flops / (runtime_ms * 1e-3).max(1e-12) * 1e-12,
        effective_tflops: rate_flops * 1e-12,
        tiling_efficiency: tiling,
        hit_rate: mem.hit_rate,
        serving_level_index: mem.serving_level,
        bottleneck,
        detail: ModelDetail::Original(OriginalDetail {
            compute_cycles,
            memory_stall_cycles: mem.stall_cycles,
            exposed_stall_cycles: exposed,
            avg_latency_cycles: mem.avg_latency_cycles,
        }),
    }
}

/// Fill a [`Prediction`] from one of mlsim's models' kernels: each call's
/// cost under the target's timing method (a CPU call is its own host),
/// summed over the op's kernels.
fn from_kernels(
    t: &Target<'_>,
    dtype: Dtype,
    flops: f64,
    bytes: f64,
    kernels: &OpKernels,
) -> Prediction {
    let kernel_s: f64 = kernels.iter().map(KernelCost::kernel_s).sum();
    let runtime_s: f64 = kernels.iter().map(|k| call_s(t, dtype, k)).sum();
    from_total(&kernels.total(), kernel_s, runtime_s, flops, bytes)
}

/// The prediction of kernels whose terms add up to `total`, that take
/// `kernel_s` on the device and `runtime_s` as timed.
fn from_total(
    total: &KernelCost,
    kernel_s: f64,
    runtime_s: f64,
    flops: f64,
    bytes: f64,
) -> Prediction {
    let runtime_ms = runtime_s * 1e3;
    let busy_s = kernel_s - total.floor_s;
    Prediction {
        flops,
        bytes,
        arithmetic_intensity: flops / bytes,
        runtime_ms,
        compute_ms: total.compute_s * 1e3,
        memory_ms: total.memory_s * 1e3,
        level_memory_ms: total.level_s.scaled(1e3),
        launch_ms: (runtime_s - kernel_s).max(0.0) * 1e3,
        kernel_ms: kernel_s * 1e3,
        kernel_floor_ms: total.floor_s * 1e3,
        conversion_ms: total.conversion_s * 1e3,
        dram_bytes: total.dram_bytes,
        native: total.native,
        compute_utilization: if busy_s > 0.0 {
            (total.compute_s / busy_s).min(1.0)
        } else {
            1.0
        },
        achieved_tflops: flops / (runtime_ms * 1e-3).max(1e-12) * 1e-12,
        effective_tflops: total.rate_flops * 1e-12,
        tiling_efficiency: total.tile_efficiency,
        hit_rate: if total.requested_bytes > 0.0 {
            (1.0 - total.dram_bytes / total.requested_bytes).max(0.0)
        } else {
            1.0
        },
        serving_level_index: Some(total.serving_level),
        bottleneck: if total.memory_bound() {
            Bound::Memory
        } else {
            Bound::Compute
        },
        detail: total.detail,
    }
}

/// A prediction with the names that make it readable.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SimResult {
    /// Workload display name.
    pub workload: String,
    /// Op kind (`matmul`, ...).
    pub op: &'static str,
    /// Chip name (`t4-seed`).
    pub hardware: String,
    /// Kernel-library stack (`none` for chips on the original's model).
    pub stack: String,
    /// Framework on the host.
    pub framework: String,
    /// Timing method (`None` on the original's model, which ignores it).
    pub timing: Option<mlsim_hw::Timing>,
    /// Dtype.
    pub dtype: Dtype,
    /// Name of the serving memory level.
    pub serving_level: Option<String>,
    /// The numbers.
    #[serde(flatten)]
    pub prediction: Prediction,
}

/// Simulate one workload on one target.
pub fn simulate(t: &Target<'_>, workload: &Workload) -> SimResult {
    let prediction = predict(t, workload);
    let chip = t.chip;
    let gpu = t.uses_stack();
    SimResult {
        workload: workload.name.clone(),
        op: workload.op.kind_name(),
        hardware: chip.name.clone(),
        stack: if gpu {
            t.stack.name.clone()
        } else {
            "none".into()
        },
        framework: if gpu {
            t.framework.name.clone()
        } else {
            "none".into()
        },
        timing: gpu.then_some(t.timing),
        dtype: workload.dtype,
        serving_level: prediction
            .serving_level_index
            .map(|i| chip.memory[i].name.clone()),
        prediction,
    }
}

/// Simulate every workload on every target in parallel; results come back
/// target-major in input order whatever the thread count.
pub fn sweep(targets: &[Target<'_>], workloads: &[Workload]) -> Vec<SimResult> {
    let pairs: Vec<(&Target<'_>, &Workload)> = targets
        .iter()
        .flat_map(|c| workloads.iter().map(move |w| (c, w)))
        .collect();
    pairs.into_par_iter().map(|(c, w)| simulate(c, w)).collect()
}

/// Predict many workloads on one target in parallel, in input order (the
/// fast path for large sweeps: no names are attached).
pub fn predict_many(t: &Target<'_>, workloads: &[Workload]) -> Vec<Prediction> {
    workloads.par_iter().map(|w| predict(t, w)).collect()
}

/// Predict square matmuls of the given sizes in `dtype` in parallel, in
/// input order, without building [`Workload`]s (for million-point sweeps).
pub fn predict_square_matmuls(t: &Target<'_>, sizes: &[u64], dtype: Dtype) -> Vec<Prediction> {
    sizes
        .par_iter()
        .with_min_len(4096)
        .map(|&n| predict_matmul(t, n, n, n, dtype))
        .collect()
}

/// Runtimes (ms) of square matmuls of the given sizes in `dtype`, in
/// parallel and in input order: the compact form of a large sweep (8 bytes
/// a point instead of a whole [`Prediction`]), for grids and heatmaps.
pub fn square_matmul_runtimes_ms(t: &Target<'_>, sizes: &[u64], dtype: Dtype) -> Vec<f64> {
    sizes
        .par_iter()
        .with_min_len(4096)
        .map(|&n| predict_matmul(t, n, n, n, dtype).runtime_ms)
        .collect()
}

/// Predict one `M x N x K` matmul without building a [`Workload`].
pub fn predict_matmul(t: &Target<'_>, m: u64, n: u64, k: u64, dtype: Dtype) -> Prediction {
    let b = dtype.bytes_per_element();
    let (mf, nf, kf) = (m as f64, n as f64, k as f64);
    let bytes = b * (mf * kf + kf * nf + mf * nf);
    let pattern = mlsim_workload::AccessPattern {
        working_set_bytes: bytes,
        stride_bytes: kf * b,
        reuse_distance_bytes: kf * b,
        sequential_fraction: 0.75,
        read_ratio: 0.85,
    };
    predict_parts(
        t,
        &Op::MatMul { m, n, k },
        dtype,
        2.0 * mf * nf * kf,
        bytes,
        &pattern,
    )
}
