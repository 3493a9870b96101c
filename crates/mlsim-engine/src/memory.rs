//! The memory model: per-level hit probability and the byte cascade.

use crate::round::floor_non_negative;
use mlsim_hw::{Chip, MemoryLevel};
use mlsim_workload::AccessPattern;

/// What the memory hierarchy did with a workload's bytes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MemoryOutcome {
    /// Share of bytes served by some level, in [0, 1].
    pub hit_rate: f64,
    /// Index into the chip's memory levels of the slowest level that served
    /// any bytes (`None` when none did).
    pub serving_level: Option<usize>,
    /// Average access latency in cycles, weighted by bytes served.
    pub avg_latency_cycles: f64,
    /// Stall cycles for bytes that missed every level.
    pub stall_cycles: f64,
}

/// Probability that an access hits `level` for a working set of
/// `working_set_bytes` with the given sequential share (the original's rule).
pub fn hit_probability(
    level: &MemoryLevel,
    working_set_bytes: f64,
    sequential_fraction: f64,
) -> f64 {
    if working_set_bytes <= 0.0 {
        return 1.0;
    }
    hit_probability_from_ratio(
        level,
        level.size_bytes / working_set_bytes,
        sequential_fraction,
    )
}

/// [`hit_probability`] given `ratio = capacity / working set`.
#[inline]
fn hit_probability_from_ratio(level: &MemoryLevel, ratio: f64, sequential_fraction: f64) -> f64 {
    let base = if ratio >= 1.0 {
        0.97
    } else {
        0.97 * (1.0 - (-3.0 * ratio).exp())
    };
    let mut p = (base + 0.03 * sequential_fraction).min(0.99);
    if level.associativity < 8 && ratio > 0.7 {
        p = (p - 0.02 / f64::from(level.associativity) * (1.0 - sequential_fraction)).max(0.0);
    }
    p
}

/// Cascade `bytes` down the chip's levels, fastest first: each level serves
/// `floor(remaining x p)` bytes; what misses every level costs the last
/// level's miss penalty per line.
pub fn simulate_memory(chip: &Chip, bytes: f64, pattern: &AccessPattern) -> MemoryOutcome {
    let mut remaining = bytes;
    let mut latency = 0.0;
    let mut serving_level = None;
    for (i, level) in chip.memory.iter().enumerate() {
        if remaining <= 0.0 {
            break;
        }
        let p = hit_probability(
            level,
            pattern.working_set_bytes,
            pattern.sequential_fraction,
        );
        let hits = floor_non_negative(remaining * p);
        if hits > 0.0 {
            latency += level.latency_cycles * hits / bytes;
            serving_level = Some(i);
        }
        remaining -= hits;
    }
    let mut stall_cycles = 0.0;
    if remaining > 0.0 {
        let last = chip.main_memory();
        latency += last.latency_cycles;
        stall_cycles = last.miss_penalty_cycles * remaining / f64::from(last.line_bytes);
    }
    MemoryOutcome {
        hit_rate: if bytes > 0.0 {
            1.0 - remaining / bytes
        } else {
            1.0
        },
        serving_level,
        avg_latency_cycles: latency,
        stall_cycles,
    }
}
