//! Per-chip suite summaries and the reports the original printed.

use mlsim_hw::Chip;
use mlsim_roofline::Bound;

use crate::SimResult;

/// Aggregate of one suite on one chip.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SuiteSummary {
    /// Chip name.
    pub hardware: String,
    /// Chip label.
    pub display_name: String,
    /// Workloads counted.
    pub workloads: usize,
    /// Sum of runtimes, ms.
    pub total_runtime_ms: f64,
    /// Sum of FLOPs.
    pub total_flops: f64,
    /// Sum of bytes.
    pub total_bytes: f64,
    /// Total FLOPs over total bytes.
    pub overall_arithmetic_intensity: f64,
    /// Mean compute utilisation.
    pub mean_utilization: f64,
    /// Mean cache hit rate.
    pub mean_hit_rate: f64,
    /// Total FLOPs over total runtime, TFLOP/s.
    pub achieved_tflops: f64,
    /// The chip's fp32 peak, TFLOP/s.
    pub peak_fp32_tflops: f64,
    /// Workloads classified memory-bound.
    pub memory_bound: usize,
    /// Workloads classified compute-bound.
    pub compute_bound: usize,
}

/// Summarise `results` (one chip's results for one suite).
pub fn summarise(chip: &Chip, results: &[&SimResult]) -> SuiteSummary {
    let n = results.len().max(1) as f64;
    let total_runtime_ms: f64 = results.iter().map(|r| r.prediction.runtime_ms).sum();
    let total_flops: f64 = results.iter().map(|r| r.prediction.flops).sum();
    let total_bytes: f64 = results.iter().map(|r| r.prediction.bytes).sum();
    let memory_bound = results
        .iter()
        .filter(|r| r.prediction.bottleneck == Bound::Memory)
        .count();
    SuiteSummary {
        hardware: chip.name.clone(),
        display_name: chip.display_name.clone(),
        workloads: results.len(),
        total_runtime_ms,
        total_flops,
        total_bytes,
        overall_arithmetic_intensity: if total_bytes > 0.0 {
            total_flops / total_bytes
        } else {
            0.0
        },
        mean_utilization: results
            .iter()
            .map(|r| r.prediction.compute_utilization)
            .sum::<f64>()
            / n,
        mean_hit_rate: results.iter().map(|r| r.prediction.hit_rate).sum::<f64>() / n,
        achieved_tflops: if total_runtime_ms > 0.0 {
            total_flops / (total_runtime_ms / 1e3) / 1e12
        } else {
            0.0
        },
        peak_fp32_tflops: chip.compute.peak_fp32_flops / 1e12,
        memory_bound,
        compute_bound: results.len() - memory_bound,
    }
}

/// Memory pressure from a hit rate, as the original reported it: low at
/// 0.9 and above, medium from 0.7, high below.
pub fn memory_pressure(hit_rate: f64) -> &'static str {
    if hit_rate >= 0.9 {
        "low"
    } else if hit_rate >= 0.7 {
        "medium"
    } else {
        "high"
    }
}
