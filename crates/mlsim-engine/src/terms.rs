//! What every chip model returns: the terms of one kernel call
//! ([`KernelCost`]), the kernels of one op ([`OpKernels`]), memory time per
//! level ([`LevelTimes`]) and each model's own detail ([`ModelDetail`]).
//!
//! The models differ in how they get the terms (tiles in waves on a GPU,
//! cache blocks over cores on a CPU, array passes on a systolic chip); the
//! terms mean the same for all of them, so one function turns them into a
//! [`crate::Prediction`].

use mlsim_hw::MAX_MEMORY_LEVELS;
use serde::ser::SerializeSeq;

/// A time per memory level, fastest level first, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LevelTimes {
    seconds: [f64; MAX_MEMORY_LEVELS],
    len: u8,
}

impl LevelTimes {
    /// `levels` zero times.
    pub fn zeros(levels: usize) -> Self {
        Self {
            seconds: [0.0; MAX_MEMORY_LEVELS],
            len: levels.min(MAX_MEMORY_LEVELS) as u8,
        }
    }

    /// Set level `i`'s time, seconds (ignored beyond the chip's levels).
    pub fn set(&mut self, i: usize, seconds: f64) {
        if i < usize::from(self.len) {
            self.seconds[i] = seconds;
        }
    }

    /// The times, seconds.
    pub fn as_slice(&self) -> &[f64] {
        &self.seconds[..usize::from(self.len)]
    }

    /// The longest time and its level (`None` with no levels).
    pub fn slowest(&self) -> Option<(usize, f64)> {
        self.as_slice()
            .iter()
            .copied()
            .enumerate()
            .fold(None, |best, (i, s)| match best {
                Some((_, b)) if b >= s => best,
                _ => Some((i, s)),
            })
    }

    /// Level by level sum.
    pub fn plus(&self, other: &Self) -> Self {
        let mut out = *self;
        out.len = self.len.max(other.len);
        for i in 0..usize::from(out.len) {
            out.seconds[i] = self.seconds[i] + other.seconds[i];
        }
        out
    }

    /// Every time scaled by `factor`.
    pub fn scaled(&self, factor: f64) -> Self {
        let mut out = *self;
        for s in &mut out.seconds {
            *s *= factor;
        }
        out
    }
}

impl serde::Serialize for LevelTimes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(usize::from(self.len)))?;
        for v in self.as_slice() {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

/// The original program's own terms (cycles, its memory cascade).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OriginalDetail {
    /// Cycles spent computing at the effective rate.
    pub compute_cycles: f64,
    /// Stall cycles from bytes that missed every memory level.
    pub memory_stall_cycles: f64,
    /// The part of the stall not hidden behind compute.
    pub exposed_stall_cycles: f64,
    /// Byte-weighted average access latency in cycles.
    pub avg_latency_cycles: f64,
}

/// The tiled GPU model's own terms.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GpuDetail {
    /// Waves of output tiles over the SMs.
    pub waves: f64,
    /// Ways K is split across thread blocks (1: not split).
    pub split_k: u32,
}

/// The CPU model's own terms.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CpuDetail {
    /// Cores (threads) the call runs on.
    pub threads: u32,
    /// Rows of A in the block kept in each core's L2 (`mc`).
    pub block_m: u64,
    /// Columns of B in the panel kept in the shared cache (`nc`).
    pub block_n: u64,
    /// Depth of the blocks (`kc`).
    pub block_k: u64,
}

/// The systolic model's own terms.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SystolicDetail {
    /// Weight tiles (array-sized blocks of B) loaded into the arrays.
    pub passes: f64,
    /// Rounds of passes over the arrays.
    pub rounds: f64,
}

/// What only one model computes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum ModelDetail {
    /// The original program's model.
    Original(OriginalDetail),
    /// The tiled GPU model.
    GpuTiled(GpuDetail),
    /// The cache-blocked CPU model.
    CpuBlocked(CpuDetail),
    /// The systolic-array model.
    Systolic(SystolicDetail),
}

impl ModelDetail {
    /// The model's name as chip files write it.
    pub fn model_name(&self) -> &'static str {
        match self {
            Self::Original(_) => "original",
            Self::GpuTiled(_) => "gpu-tiled",
            Self::CpuBlocked(_) => "cpu-blocked",
            Self::Systolic(_) => "systolic",
        }
    }

    /// Two kernels' details as one op's (sums of counts, the largest split
    /// or thread count).
    fn merge(self, other: Self) -> Self {
        match (self, other) {
            (Self::GpuTiled(a), Self::GpuTiled(b)) => Self::GpuTiled(GpuDetail {
                waves: a.waves + b.waves,
                split_k: a.split_k.max(b.split_k),
            }),
            (Self::CpuBlocked(a), Self::CpuBlocked(b)) => Self::CpuBlocked(CpuDetail {
                threads: a.threads.max(b.threads),
                ..a
            }),
            (Self::Systolic(a), Self::Systolic(b)) => Self::Systolic(SystolicDetail {
                passes: a.passes + b.passes,
                rounds: a.rounds + b.rounds,
            }),
            (a, _) => a,
        }
    }
}

/// The terms of one kernel call, in seconds and bytes: the same for every
/// one of mlsim's models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelCost {
    /// Time the compute units spend on the (padded) work.
    pub compute_s: f64,
    /// Time to move the bytes at the limiting memory level.
    pub memory_s: f64,
    /// Time to move the bytes at each memory level.
    pub level_s: LevelTimes,
    /// Time spent converting loaded elements (emulated paths).
    pub conversion_s: f64,
    /// The call's time that does not depend on the work (a GPU kernel's
    /// start-up and first round trip; a CPU call's thread wake-up).
    pub floor_s: f64,
    /// Bytes read from and written to main memory.
    pub dram_bytes: f64,
    /// Bytes the compute units request from the memory hierarchy.
    pub requested_bytes: f64,
    /// The slowest level that serves bytes.
    pub serving_level: usize,
    /// Useful FLOPs over FLOPs of the padded work, in (0, 1].
    pub tile_efficiency: f64,
    /// The effective rate of the path, FLOP/s.
    pub rate_flops: f64,
    /// Whether the dtype ran on its own hardware path.
    pub native: bool,
    /// Whether the call's host side is part of the device time (a CPU: no
    /// separate host, so the timing method adds nothing).
    pub on_host: bool,
    /// What only this model computes.
    pub detail: ModelDetail,
}

impl KernelCost {
    /// The kernel's duration: floor, then compute and memory overlapped,
    /// then conversion.
    pub fn kernel_s(&self) -> f64 {
        self.floor_s + self.compute_s.max(self.memory_s) + self.conversion_s
    }

    /// Memory time exceeds compute time.
    pub fn memory_bound(&self) -> bool {
        self.memory_s > self.compute_s
    }

    /// `level_s` filled, and the memory time as the slowest level's
    /// (levels overlap: each streams while the others do).
    pub(crate) fn with_levels(mut self, level_s: LevelTimes) -> Self {
        self.level_s = level_s;
        self.memory_s = level_s.slowest().map_or(0.0, |(_, s)| s);
        self
    }
}

/// The kernels of one op: one, or three (attention's score, value and
/// projection GEMMs). One kernel is held alone: a sweep of millions of
/// GEMMs moves it on every prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
// Boxing the three would allocate on every attention prediction
// (predictions are allocation-free); filling `One` writes one kernel.
#[expect(clippy::large_enum_variant)]
pub enum OpKernels {
    /// A GEMM, a convolution, an elementwise op.
    One(KernelCost),
    /// Attention's three GEMMs.
    Three([KernelCost; 3]),
}

impl OpKernels {
    /// One kernel.
    pub fn one(t: KernelCost) -> Self {
        Self::One(t)
    }

    /// The kernels, in order.
    pub fn as_slice(&self) -> &[KernelCost] {
        match self {
            Self::One(k) => std::slice::from_ref(k),
            Self::Three(ks) => ks,
        }
    }

    /// The kernels in use.
    pub fn iter(&self) -> impl Iterator<Item = &KernelCost> {
        self.as_slice().iter()
    }

    /// The terms of all kernels together (sums; the worst tile
    /// efficiency; the slowest serving level; the first kernel's rate).
    pub fn total(&self) -> KernelCost {
        let (first, rest) = match self {
            // As the sum over one kernel: the efficiency is at most 1.
            Self::One(k) => {
                return KernelCost {
                    tile_efficiency: 1f64.min(k.tile_efficiency),
                    ..*k
                };
            }
            Self::Three([first, rest @ ..]) => (*first, rest),
        };
        let sum = |f: fn(&KernelCost) -> f64| self.iter().map(f).sum::<f64>();
        KernelCost {
            compute_s: sum(|t| t.compute_s),
            memory_s: sum(|t| t.memory_s),
            level_s: rest
                .iter()
                .fold(first.level_s, |acc, k| acc.plus(&k.level_s)),
            conversion_s: sum(|t| t.conversion_s),
            floor_s: sum(|t| t.floor_s),
            dram_bytes: sum(|t| t.dram_bytes),
            requested_bytes: sum(|t| t.requested_bytes),
            serving_level: self.iter().map(|t| t.serving_level).max().unwrap_or(0),
            tile_efficiency: self.iter().map(|t| t.tile_efficiency).fold(1.0, f64::min),
            detail: rest.iter().fold(first.detail, |acc, k| acc.merge(k.detail)),
            ..first
        }
    }
}

/// The kernels of any op on a model given its GEMM and its streaming
/// kernel: GEMM-shaped ops through `gemm` (a convolution as an implicit
/// GEMM; attention as its score, value and projection GEMMs, one kernel
/// each, the masked half of a causal score skipped), elementwise ops
/// through `stream` (FLOPs, bytes, and the bytes written by plain stores,
/// which read their lines first: [`ElementwiseKind::allocating_store_share`]).
///
/// [`ElementwiseKind::allocating_store_share`]: mlsim_workload::ElementwiseKind::allocating_store_share
pub fn op_kernels(
    op: &mlsim_workload::Op,
    flops: f64,
    bytes: f64,
    gemm: impl Fn(u64, u64, u64, u64) -> Option<KernelCost>,
    stream: impl Fn(f64, f64, f64) -> Option<KernelCost>,
) -> Option<OpKernels> {
    use mlsim_workload::Op;
    match *op {
        Op::MatMul { m, n, k } => Some(OpKernels::one(gemm(m, n, k, 1)?)),
        Op::Conv2d { .. } => {
            let (m, n, k) = op.implicit_gemm().expect("a convolution");
            Some(OpKernels::one(gemm(m, n, k, 1)?))
        }
        Op::Attention {
            batch,
            heads,
            seq,
            head_dim,
            causal,
        } => {
            let mask = if causal { 0.5 } else { 1.0 };
            let masked = |mut g: KernelCost| {
                g.compute_s *= mask;
                g
            };
            let scores = masked(gemm(seq, seq, head_dim, batch * heads)?);
            let values = masked(gemm(seq, head_dim, seq, batch * heads)?);
            let proj = gemm(batch * seq, heads * head_dim, heads * head_dim, 1)?;
            Some(OpKernels::Three([scores, values, proj]))
        }
        Op::Elementwise { kind, .. } => Some(OpKernels::one(stream(
            flops,
            bytes,
            bytes * kind.allocating_store_share(),
        )?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_times_find_the_slowest_level_and_add_up() {
        let mut a = LevelTimes::zeros(3);
        a.set(0, 1.0);
        a.set(2, 3.0);
        a.set(7, 9.0); // beyond the chip's levels: ignored
        assert_eq!(a.as_slice(), &[1.0, 0.0, 3.0]);
        assert_eq!(a.slowest(), Some((2, 3.0)));
        let b = a.plus(&a.scaled(0.5));
        assert_eq!(b.as_slice(), &[1.5, 0.0, 4.5]);
        assert_eq!(LevelTimes::zeros(0).slowest(), None);
    }
}
