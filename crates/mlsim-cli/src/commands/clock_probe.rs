//! The core clock, measured: `mlsim hw detect --measure-clock`.
//!
//! A virtual machine's `/proc/cpuinfo` reports the time-stamp counter's
//! rate as its "cpu MHz" (2.6 GHz on the EPYC dev guests, whose cores ran
//! at about 3.5-3.9 GHz), and a guest has no cpufreq to ask. A chain of
//! dependent single-cycle integer operations counts cycles instead: each
//! iteration of `x = (x + y) ^ z` waits for the one before it, and an add
//! and an xor take one cycle each on every x86-64 and Arm core, so an
//! iteration takes 2 cycles whatever the core's width. The optimiser cannot
//! fold the loop (the xor breaks the arithmetic series an add alone would
//! be summed into), and `y`, `z` and the count come through `black_box`.
//!
//! Every logical CPU runs the chain at once, as a GEMM on every core does:
//! the clock measured is the all-core one the CPU model takes. It is the
//! integer clock, an upper bound for the FMAs: a core that runs wide vector
//! work below it (Intel's AVX-512 licence levels, or a power limit reached
//! under all-core FMA load) runs its FMAs slower.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Cycles one iteration of [`chain`] takes: its add and its xor.
const CYCLES_PER_ITERATION: f64 = 2.0;

/// Iterations timed at once: 40 M cycles, 10-40 ms at 4-1 GHz, long enough
/// that the timer's resolution does not matter (the whole probe takes
/// about 0.1 s optimised).
const ITERATIONS: u64 = 20_000_000;

/// Timed runs per thread; the fastest counts (an interrupt or a neighbour
/// on the host only ever slows a run).
const RUNS: usize = 7;

/// `n` iterations of the dependent add-xor chain.
#[inline(never)]
fn chain(n: u64, y: u64, z: u64) -> u64 {
    let mut x = 0u64;
    for _ in 0..n {
        x = x.wrapping_add(y) ^ z;
    }
    x
}

/// One thread's clock, GHz: its fastest of [`RUNS`] timed chains, after
/// one untimed (the core leaves its idle clock).
fn one_thread_ghz() -> f64 {
    let (y, z) = (black_box(0x9e37_79b9_7f4a_7c15_u64), black_box(0x5555_u64));
    black_box(chain(black_box(ITERATIONS), y, z));
    let fastest = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(chain(black_box(ITERATIONS), y, z));
            start.elapsed()
        })
        .min()
        .unwrap_or(Duration::MAX);
    CYCLES_PER_ITERATION * ITERATIONS as f64 / fastest.as_secs_f64() / 1e9
}

/// The all-core clock and how it was measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clock {
    /// The median of the threads' clocks, GHz.
    pub(crate) ghz: f64,
    /// The slowest and fastest thread's, GHz.
    pub(crate) range: (f64, f64),
    pub(crate) threads: usize,
}

impl Clock {
    /// What the chip file's comment says about the value.
    pub(crate) fn how(&self) -> String {
        format!(
            "measured: a chain of dependent integer adds and xors (2 cycles an iteration) on all {} logical CPUs at once, the median of their fastest of {RUNS} runs ({:.2}-{:.2} GHz) (mlsim hw detect --measure-clock)",
            self.threads, self.range.0, self.range.1
        )
    }
}

/// Run the chain on `threads` threads at once; `None` if no thread gave a
/// clock (each one's panic or a zero-length timing).
pub(crate) fn measure(threads: usize) -> Option<Clock> {
    let threads = threads.max(1);
    let mut ghz: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(one_thread_ghz)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(f64::NAN))
            .filter(|g| g.is_finite() && *g > 0.0)
            .collect()
    });
    ghz.sort_by(f64::total_cmp);
    let (&slowest, &fastest) = (ghz.first()?, ghz.last()?);
    let n = ghz.len();
    let median = if n % 2 == 1 {
        ghz[n / 2]
    } else {
        (ghz[n / 2 - 1] + ghz[n / 2]) / 2.0
    };
    Some(Clock {
        ghz: median,
        range: (slowest, fastest),
        threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain computes what its definition says (so that the loop the
    /// clock is read from is the add-xor recurrence, not something folded
    /// into fewer steps with another result).
    #[test]
    fn the_chain_is_the_add_xor_recurrence() {
        let (y, z) = (7, 3);
        let mut x = 0u64;
        for _ in 0..5 {
            x = x.wrapping_add(y) ^ z;
        }
        // By hand: 0+7=7^3=4; 4+7=11^3=8; 8+7=15^3=12; 12+7=19^3=16;
        // 16+7=23^3=20.
        assert_eq!(x, 20);
        assert_eq!(chain(5, y, z), 20);
    }

    /// A measurement gives one clock per thread and their median between
    /// the slowest and the fastest. Optimised, the clock is one no real
    /// core has been outside of (0.3 to 7 GHz; a probe that lost its
    /// dependency chain would read tens of GHz). Not a speed target; an
    /// unoptimised build runs the chain through stack memory and reads
    /// about a tenth of the clock, which `hw detect` says.
    #[test]
    fn the_measured_clock_is_a_core_clock() {
        let c = measure(2).expect("a clock");
        assert_eq!(c.threads, 2);
        assert!(c.ghz.is_finite() && c.ghz > 0.0, "{c:?}");
        assert!(c.range.0 <= c.ghz && c.ghz <= c.range.1, "{c:?}");
        if !cfg!(debug_assertions) {
            assert!((0.3..7.0).contains(&c.ghz), "{c:?}");
        }
    }
}
