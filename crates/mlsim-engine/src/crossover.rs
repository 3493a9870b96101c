//! Where a dtype starts to beat fp32: a search over the model's own
//! predictions, and a closed form from the rooflines.
//!
//! The search evaluates the full model (launch, tiles, waves, memory,
//! conversion) along a workload family: square GEMMs by `N`, or GEMMs by `M`
//! with `N` and `K` fixed. It scans a geometric grid, brackets the last
//! change from "not faster" to "faster than fp32", and bisects on integer
//! sizes inside the bracket. The answer is the smallest size from which the
//! dtype is faster at every grid point up to the end of the range, or
//! "always" / "never".

use mlsim_hw::Target;
use mlsim_quant::Dtype;
use mlsim_roofline::{Crossover, Roofline, Which, crossover_ai};

use crate::predict_matmul;

/// A family of GEMMs parametrised by one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum Family {
    /// `N x N x N`.
    Square,
    /// `M x n x k` with `n` and `k` fixed, `M` varying (e.g. batch x tokens
    /// against a weight matrix).
    M {
        /// Fixed N.
        n: u64,
        /// Fixed K.
        k: u64,
    },
}

impl Family {
    /// The shape at size `s`.
    pub fn shape(self, s: u64) -> (u64, u64, u64) {
        match self {
            Family::Square => (s, s, s),
            Family::M { n, k } => (s, n, k),
        }
    }
}

/// The outcome of a crossover search.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SearchedCrossover {
    /// Faster than fp32 over the whole range.
    Always,
    /// Not faster at the end of the range.
    Never,
    /// Faster from `size` on (to the end of the range).
    From {
        /// The smallest size from which the dtype is faster.
        size: u64,
        /// Arithmetic intensity (FLOP/byte, in the dtype's own bytes) of the
        /// GEMM at that size.
        ai: f64,
    },
}

/// The dtype a search compares against and the dtype it searches for.
#[derive(Clone, Copy)]
struct Pair {
    dtype: Dtype,
    baseline: Dtype,
}

fn faster(t: &Target<'_>, pair: Pair, family: Family, s: u64) -> bool {
    let (m, n, k) = family.shape(s);
    predict_matmul(t, m, n, k, pair.dtype).runtime_ms
        < predict_matmul(t, m, n, k, pair.baseline).runtime_ms
}

/// Geometric grid from `lo` to `hi` (inclusive), `per_octave` points per
/// doubling, as distinct integers.
pub fn grid(lo: u64, hi: u64, per_octave: u32) -> Vec<u64> {
    let lo = lo.max(1);
    let hi = hi.max(lo);
    let steps = ((hi as f64 / lo as f64).log2() * f64::from(per_octave)).ceil() as u64;
    let mut out: Vec<u64> = (0..=steps)
        .map(|i| {
            let x = lo as f64 * 2f64.powf(i as f64 / f64::from(per_octave));
            (x.round() as u64).clamp(lo, hi)
        })
        .collect();
    out.push(hi);
    out.dedup();
    out
}

/// Ranges up to this many sizes are verified size by size.
pub const EXACT_RANGE: u64 = 1 << 20;

/// Search the smallest size in `[lo, hi]` from which `dtype` is predicted
/// faster than fp32 at every larger size.
///
/// Tile and wave quantization make "faster" flip back and forth between
/// neighbouring sizes, so bracketing on the grid and bisecting can land on
/// a size with slower sizes above it. The bisection's answer is therefore
/// verified: every size between it and the end of the range is checked, and
/// the search resumes below the highest slower size found (exact for ranges
/// of up to [`EXACT_RANGE`] sizes; beyond that the grid answer stands).
pub fn search(t: &Target<'_>, dtype: Dtype, family: Family, lo: u64, hi: u64) -> SearchedCrossover {
    search_against(t, dtype, Dtype::Fp32, family, lo, hi)
}

/// [`search`] against another dtype than fp32: the smallest size from
/// which `dtype` is predicted faster than `baseline` (fp8 or fp4 against
/// bf16) at every larger size.
pub fn search_against(
    t: &Target<'_>,
    dtype: Dtype,
    baseline: Dtype,
    family: Family,
    lo: u64,
    hi: u64,
) -> SearchedCrossover {
    let pair = Pair { dtype, baseline };
    let g = grid(lo, hi, 16);
    let verdicts: Vec<bool> = g.iter().map(|&s| faster(t, pair, family, s)).collect();
    let Some(last_slow) = verdicts.iter().rposition(|f| !f) else {
        return verified(t, pair, family, lo, hi, lo);
    };
    if last_slow == g.len() - 1 {
        return SearchedCrossover::Never;
    }
    // Bisect on integers between the last slow grid point and the next
    // (fast) one: the smallest fast size in the bracket.
    let (mut slow, mut fast) = (g[last_slow], g[last_slow + 1]);
    while fast - slow > 1 {
        let mid = slow + (fast - slow) / 2;
        if faster(t, pair, family, mid) {
            fast = mid;
        } else {
            slow = mid;
        }
    }
    verified(t, pair, family, lo, hi, fast)
}

/// Check every size from `candidate` to `hi`; the answer is the size above
/// the highest slower one.
fn verified(
    t: &Target<'_>,
    pair: Pair,
    family: Family,
    lo: u64,
    hi: u64,
    candidate: u64,
) -> SearchedCrossover {
    let mut from = candidate;
    if hi - lo <= EXACT_RANGE
        && let Some(slow) = (candidate..=hi)
            .rev()
            .find(|&s| !faster(t, pair, family, s))
    {
        if slow == hi {
            return SearchedCrossover::Never;
        }
        from = slow + 1;
    }
    if from == lo {
        return SearchedCrossover::Always;
    }
    let (m, n, k) = family.shape(from);
    let b = pair.dtype.bytes_per_element();
    let ai = 2.0 * m as f64 * n as f64 * k as f64
        / (b * (m as f64 * k as f64 + k as f64 * n as f64 + m as f64 * n as f64));
    SearchedCrossover::From { size: from, ai }
}

/// The closed-form crossover from the rooflines, in fp32 arithmetic
/// intensity (FLOPs per fp32 byte), including the compute-rate ratio and
/// native support: each dtype's roofline has the effective rate of the path
/// it runs on (an emulated dtype gets the rate of the path it runs
/// through, at its own efficiency) and main-memory bandwidth scaled by how
/// many fewer bytes its elements take. Ignores launch overhead, tiles and
/// the conversion an emulated dtype pays per element loaded (so bf16
/// emulated on fp32 units at fp32's efficiency comes out "always": half the
/// bytes at the same rate): the search above includes them.
///
/// `Crossover::At { ai, below: Which::First }` means the dtype wins below
/// `ai` (memory-bound shapes) and loses above it.
pub fn closed_form(t: &Target<'_>, dtype: Dtype) -> Option<Crossover> {
    let chip = t.chip;
    let rate = |d: Dtype| -> f64 {
        match crate::gpu::path_rates(t, d) {
            Some(p) => p.rate_flops,
            None => chip.peak_flops(d) * chip.compute.efficiency,
        }
    };
    let dram = chip.main_memory();
    let bandwidth = dram.bandwidth_bytes_per_s * t.stack.memory_share(&dram.name, true);
    let ours = Roofline::new(rate(dtype), bandwidth * dtype.memory_reduction_vs_fp32()).ok()?;
    let fp32 = Roofline::new(rate(Dtype::Fp32), bandwidth).ok()?;
    Some(crossover_ai(&ours, &fp32))
}

/// Words for a [`Crossover`] from [`closed_form`].
pub fn describe_closed_form(c: &Crossover) -> String {
    match c {
        Crossover::FirstAlwaysAbove => "always (never slower on the roofline)".into(),
        Crossover::SecondAlwaysAbove => "never (fp32 roofline is never lower)".into(),
        Crossover::At {
            ai,
            below: Which::First,
        } => format!("wins below fp32 AI {ai:.3}"),
        Crossover::At {
            ai,
            below: Which::Second,
        } => format!("wins above fp32 AI {ai:.3}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_geometric_sorted_and_inclusive() {
        let g = grid(16, 8192, 4);
        assert_eq!(g.first(), Some(&16));
        assert_eq!(g.last(), Some(&8192));
        assert!(g.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(grid(5, 5, 4), vec![5]);
    }
}
