//! The compute model: effective rate from peak, efficiency, dtype multiplier
//! and tiling efficiency.

use mlsim_hw::{Chip, ComputeArch};
use mlsim_workload::Op;

/// Tiling efficiency of `op` on the chip (the original's rule).
///
/// Non-systolic units: 0.85 for every op. Systolic arrays with edge
/// `a = floor(sqrt(units))`: a matmul gets `efficiency x min(1, M/a) x
/// min(1, N/a) x min(1, K/16)` floored at 0.95 when `M >= 512` and 0.80
/// otherwise; attention the same product over `(S, S, D)` without a floor;
/// any other op 0.80.
pub fn tiling_efficiency(chip: &Chip, op: &Op) -> f64 {
    if chip.compute.arch != ComputeArch::Systolic {
        return 0.85;
    }
    let edge = chip.compute.systolic_edge;
    let fill = |m: u64, n: u64, k: u64| {
        chip.compute.efficiency
            * (m as f64 / edge).min(1.0)
            * (n as f64 / edge).min(1.0)
            * (k as f64 / 16.0).min(1.0)
    };
    match *op {
        Op::MatMul { m, n, k } => {
            let floor = if m >= 512 { 0.95 } else { 0.80 };
            fill(m, n, k).max(floor)
        }
        Op::Attention { seq, head_dim, .. } => fill(seq, seq, head_dim),
        _ => 0.80,
    }
}
