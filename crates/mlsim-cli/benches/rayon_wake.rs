//! What a GEMM call on more than one thread pays to start and join its
//! threads with the gemm crate (0.19): gemm-common's `par_for_each` runs
//! `(0..n_threads).into_par_iter().for_each(..)` on rayon's global pool,
//! called from a thread outside the pool (as `mlsim measure cpu` calls
//! it), so the call injects a job, wakes the workers and sleeps until they
//! finish. This bench times exactly that with nothing to do, one call per
//! sample, back to back as `mlsim measure cpu` times its GEMMs, so that the
//! stacks `gemm-rs-avx512` and `gemm-rs-avx2` can state a measured
//! `[kernel] fixed_us` that no GEMM measurement was fitted to
//! (docs/model/cpu-blocked.md). Read the median. On the Zen 4 dev guest
//! (2026-12-04) six runs gave medians of 19-33 us (their median 23 us),
//! against the stacks' estimate of 5 us; the stacks keep 5 for now (the
//! decision note's "thread wake-up, measured" says why).

use rayon::prelude::*;

/// The dev machines' cores.
const THREADS: usize = 2;

fn main() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build_global()
        .expect("the global pool is built once, before any use");
    divan::main();
}

/// One empty fork-join over the pool's threads.
#[divan::bench(sample_size = 1, sample_count = 3000)]
fn fork_join_from_outside_the_pool() {
    (0..THREADS).into_par_iter().for_each(|t| {
        divan::black_box(t);
    });
}
