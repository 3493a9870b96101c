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

use mlsim_hw::Target;
use mlsim_quant::Dtype;
use mlsim_roofline::Bound;
use mlsim_workload::{Op, Workload};
use rayon::prelude::*;

pub mod compute;
pub mod conformance;
pub mod crossover;
pub mod gpu;
pub mod memory;
pub mod model;
pub mod quant;
pub mod summary;

/// Exposed stall above this share of compute cycles makes a workload
/// memory-bound (the original's threshold).
pub const MEMORY_BOUND_STALL_SHARE: f64 = 0.2;

/// Everything the model computed for one (chip, op, dtype), as numbers.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// FLOPs of the workload.
    pub flops: f64,
    /// Bytes moved.
    pub bytes: f64,
    /// FLOPs per byte.
    pub arithmetic_intensity: f64,
    /// Predicted runtime in milliseconds, launch overhead included.
    pub runtime_ms: f64,
    /// Cycles spent computing at the effective rate.
    pub compute_cycles: f64,
    /// Stall cycles from bytes that missed every memory level.
    pub memory_stall_cycles: f64,
    /// The part of the stall not hidden behind compute.
    pub exposed_stall_cycles: f64,
    /// Host time included in `runtime_ms`, in milliseconds: the launch
    /// cost of the original's model; on the GPU model, what the host adds
    /// to the kernels under the timing method (`runtime - kernel`).
    pub launch_ms: f64,
    /// The kernels' own duration on the device, ms (the original's model:
    /// its compute and exposed stall).
    pub kernel_ms: f64,
    /// The part of `kernel_ms` that does not depend on the work: start-up,
    /// first K-slice, output stores (GPU model; 0 otherwise).
    pub kernel_floor_ms: f64,
    /// Ways K is split across thread blocks (GPU model; 1 otherwise).
    pub split_k: u32,
    /// Time to move the bytes at the limiting memory level, ms (tiled GPU
    /// model; the original's model has no such term and reports 0).
    pub memory_ms: f64,
    /// Time converting loaded elements for an emulated dtype, ms.
    pub conversion_ms: f64,
    /// Bytes moved to and from main memory (the tiled GPU model counts
    /// operand re-reads; the original's model reports the ideal bytes).
    pub dram_bytes: f64,
    /// Waves of output tiles over the SMs (tiled GPU model; 0 otherwise).
    pub waves: f64,
    /// Whether the dtype ran on hardware built for it (false: emulated
    /// through another path).
    pub native: bool,
    /// `compute / max(1, compute + exposed stall)`.
    pub compute_utilization: f64,
    /// Achieved TFLOP/s over the whole runtime.
    pub achieved_tflops: f64,
    /// The effective compute rate in TFLOP/s (peak x efficiency x dtype
    /// multiplier x tiling).
    pub effective_tflops: f64,
    /// Tiling efficiency used.
    pub tiling_efficiency: f64,
    /// Share of bytes served by the memory hierarchy.
    pub hit_rate: f64,
    /// Index of the slowest memory level that served bytes.
    pub serving_level_index: Option<usize>,
    /// Byte-weighted average access latency in cycles.
    pub avg_latency_cycles: f64,
    /// Memory-bound when exposed stall exceeds 20% of compute cycles.
    pub bottleneck: Bound,
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
    if t.is_gpu() {
        if let Some(p) = predict_gpu(t, op, dtype, flops, bytes) {
            return p;
        }
    }
    predict_original(t.chip, op, dtype, flops, bytes, pattern)
}

/// The tiled GPU model (kept out of line so the original model's path stays
/// small and fast).
#[inline(never)]
fn predict_gpu(
    t: &Target<'_>,
    op: &Op,
    dtype: Dtype,
    flops: f64,
    bytes: f64,
) -> Option<Prediction> {
    let kernels = gpu::op_kernels(t, op, dtype, flops, bytes)?;
    Some(from_gpu_kernels(t, dtype, flops, bytes, &kernels))
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
    Prediction {
        flops,
        bytes,
        arithmetic_intensity: flops / bytes,
        runtime_ms,
        compute_cycles,
        memory_stall_cycles: mem.stall_cycles,
        exposed_stall_cycles: exposed,
        launch_ms,
        kernel_ms: busy_s * 1e3,
        kernel_floor_ms: 0.0,
        split_k: 1,
        memory_ms: 0.0,
        conversion_ms: 0.0,
        dram_bytes: bytes,
        waves: 0.0,
        native: chip.compute.dtype_speedup.contains(dtype) || dtype == Dtype::Fp32,
        compute_utilization: compute_cycles / total_cycles.max(1.0),
        achieved_tflops: flops / (runtime_ms * 1e-3).max(1e-12) * 1e-12,
        effective_tflops: rate_flops * 1e-12,
        tiling_efficiency: tiling,
        hit_rate: mem.hit_rate,
        serving_level_index: mem.serving_level,
        avg_latency_cycles: mem.avg_latency_cycles,
        bottleneck,
    }
}

/// Fill a [`Prediction`] from the tiled GPU model's kernels: each call's
/// cost under the target's timing method, summed over the op's kernels.
fn from_gpu_kernels(
    t: &Target<'_>,
    dtype: Dtype,
    flops: f64,
    bytes: f64,
    kernels: &gpu::OpKernels,
) -> Prediction {
    let chip = t.chip;
    let freq = chip.frequency_hz;
    let total = kernels.total();
    let kernel_s: f64 = kernels.iter().map(gpu::GemmTerms::kernel_s).sum();
    let runtime_s: f64 = kernels.iter().map(|k| t.call_s(dtype, k.kernel_s())).sum();
    let runtime_ms = runtime_s * 1e3;
    let busy_s = kernel_s - total.floor_s;
    let exposed_s = (total.memory_s - total.compute_s).max(0.0);
    let dram_index = chip.memory.len() - 1;
    Prediction {
        flops,
        bytes,
        arithmetic_intensity: flops / bytes,
        runtime_ms,
        compute_cycles: total.compute_s * freq,
        memory_stall_cycles: exposed_s * freq,
        exposed_stall_cycles: exposed_s * freq,
        launch_ms: (runtime_s - kernel_s).max(0.0) * 1e3,
        kernel_ms: kernel_s * 1e3,
        kernel_floor_ms: total.floor_s * 1e3,
        split_k: total.split_k,
        memory_ms: total.memory_s * 1e3,
        conversion_ms: total.conversion_s * 1e3,
        dram_bytes: total.dram_bytes,
        waves: total.waves,
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
        serving_level_index: Some(if total.dram_limited || dram_index == 0 {
            dram_index
        } else {
            dram_index - 1
        }),
        avg_latency_cycles: 0.0,
        bottleneck: if total.memory_bound {
            Bound::Memory
        } else {
            Bound::Compute
        },
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
    let gpu = t.is_gpu();
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
