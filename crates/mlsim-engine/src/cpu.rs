//! mlsim's CPU model (chips on model `cpu-blocked`): a cache-blocked GEMM
//! over cores, as a BLAS runs it (Goto's algorithm, as in BLIS, OpenBLAS,
//! oneDNN and the `gemm` crate), with time at every memory level.
//!
//! ```text
//! threads  = the count in 1, 2, 4, ..., cores that makes the call fastest
//!            (a GEMV, M or N = 1: at most the stack path's `gemv_threads`)
//! compute  = padded FLOPs x ceil(U / threads) / U / (per-core rate)   U = micro-tiles
//! per-core rate = peak(dtype) / cores x stack efficiency
//! blocks   kc = L1 per core / (2 nr b)       (a kc x nr panel of B in half of L1)
//!          mc = L2 per core / (2 kc b)       (an mc x kc block of A in half of L2)
//!          nc = shared cache / (2 kc b)      (a kc x nc panel of B in half of L3)
//! traffic  L1   : B micro-panels, once per mr rows        b K N_p M_p / mr
//!          L2   : A micro-panels, once per nr columns     b M_p K N_p / nr
//!          L3   : A packed once per nc, B once per mc, C once per kc
//!                 b (M K ceil(N/nc) + K N_p ceil(M/mc)) + b_out M N (2 ceil(K/kc) - 1)
//!          main : b (M K ceil(N/nc) + K N) + b_out M N (2 ceil(K/kc) - 1)
//! warm     the operands stay in the first level that holds them all
//!          (repeated calls): no traffic beyond it, at least the working set there
//! level time = traffic / (bandwidth for the threads x stack share);
//!          main memory's reads of packed operands (not a GEMV's) at the
//!          stack's `pack_main_memory_share` of it
//! conversion = (emulated dtype) vectorised, or element by element at the
//!          stack's `convert_cycles_per_element`: A per packing, C per pass
//!          (a private level: per-core bandwidth x threads; a shared one:
//!          its bandwidth x threads / cores)
//! kernel   = floor + max(compute, slowest level) + conversion
//! floor    = the stack's fixed_us when a call wakes more than one thread
//!            and calls are timed one by one (per-call); 0 otherwise
//! ```
//!
//! Elementwise ops (and STREAM's kernels) go through the same memory path:
//! their bytes at the first level that holds them all. A CPU has no
//! separate host: the call is the kernel, and the timing method only
//! decides whether the thread wake-up is paid. Decision note:
//! `docs/model/cpu-blocked.md`.

use mlsim_hw::{Chip, MemoryLevel, Target, Timing};
use mlsim_quant::Dtype;

use crate::rates::{PathRates, rates};
use crate::terms::{CpuDetail, KernelCost, LevelTimes, ModelDetail};

/// The thread counts a library may run a call on: 1, 2, 4, ... and every
/// core. The model takes the fastest (a small call stays on one core: the
/// wake-up of the others would cost more than they save). The same
/// candidates for every size, so a larger call is never faster.
fn thread_candidates(chip: &Chip) -> impl Iterator<Item = f64> {
    let cores = chip.compute.units;
    std::iter::successors(Some(1u32), move |&t| (t < cores / 2).then_some(t * 2))
        .chain(std::iter::once(cores))
        .map(f64::from)
}

/// The fastest of `cost` over the thread candidates up to `max_threads`.
fn fastest(chip: &Chip, max_threads: f64, cost: impl Fn(f64) -> KernelCost) -> KernelCost {
    thread_candidates(chip)
        .filter(|&t| t <= max_threads.max(1.0))
        .map(cost)
        .reduce(|best, k| {
            if k.kernel_s() < best.kernel_s() {
                k
            } else {
                best
            }
        })
        .expect("at least one thread")
}

/// Bandwidth of `level` for `threads` of the chip's cores, at the stack's
/// share: a private level's per-core bandwidth for each thread, a shared
/// level's split equally over the cores.
fn level_bandwidth(t: &Target<'_>, i: usize, threads: f64) -> f64 {
    let chip = t.chip;
    let level = &chip.memory[i];
    let cores = f64::from(chip.compute.units);
    let raw = if level.per_core {
        level.bandwidth_for(threads)
    } else {
        level.bandwidth_bytes_per_s * (threads / cores).min(1.0)
    };
    raw * t
        .stack
        .memory_share(&level.name, i + 1 == chip.memory.len())
}

/// One core's share of a level's capacity, bytes.
fn per_core_bytes(chip: &Chip, level: &MemoryLevel) -> f64 {
    if level.per_core {
        level.size_bytes
    } else {
        level.size_bytes / f64::from(chip.compute.units)
    }
}

/// The first level that holds `bytes` for `threads` cores (main memory
/// holds everything).
fn home_level(chip: &Chip, bytes: f64, threads: f64) -> usize {
    chip.memory
        .iter()
        .position(|l| l.capacity_for(threads) >= bytes)
        .unwrap_or(chip.memory.len() - 1)
}

/// The per-call floor: thread wake-up, when the call uses several threads
/// and is timed by itself.
fn floor_s(t: &Target<'_>, threads: f64) -> f64 {
    if threads > 1.0 && t.timing == Timing::PerCall {
        t.stack.kernel.fixed_s
    } else {
        0.0
    }
}

/// Traffic by level (bytes each level serves), with the warm-cache rule:
/// the operands live in `home`; what a level beyond it would serve is
/// served there, except main memory's first touch, which a repeated call
/// does not pay; `home` serves at least the working set.
fn settle(traffic: &mut [f64], home: usize, working_set: f64) {
    let main = traffic.len() - 1;
    for i in home + 1..traffic.len() {
        let moved = std::mem::take(&mut traffic[i]);
        if i < main {
            traffic[home] += moved;
        }
    }
    traffic[home] = traffic[home].max(working_set);
}

/// The kernel terms from traffic per level; `packed_main_bytes` of main
/// memory's traffic are operands packed in short runs, at the stack's
/// `pack_main_memory_share` of its bandwidth.
#[allow(clippy::too_many_arguments)]
fn cost(
    t: &Target<'_>,
    p: &PathRates,
    traffic: &[f64],
    packed_main_bytes: f64,
    threads: f64,
    compute_s: f64,
    conversion_s: f64,
    tile_efficiency: f64,
    home: usize,
    detail: CpuDetail,
) -> KernelCost {
    let chip = t.chip;
    let main = chip.memory.len() - 1;
    let mut level_s = LevelTimes::zeros(chip.memory.len());
    for (i, bytes) in traffic.iter().enumerate() {
        let bandwidth = level_bandwidth(t, i, threads);
        let packed = if i == main {
            packed_main_bytes.min(*bytes)
        } else {
            0.0
        };
        let share = t.stack.kernel.pack_main_memory_share;
        level_s.set(
            i,
            (bytes - packed) / bandwidth + packed / (bandwidth * share),
        );
    }
    KernelCost {
        compute_s,
        memory_s: 0.0,
        level_s,
        conversion_s,
        floor_s: floor_s(t, threads),
        dram_bytes: traffic[main],
        requested_bytes: traffic.iter().sum(),
        serving_level: home,
        tile_efficiency,
        rate_flops: p.rate_flops,
        native: p.native,
        on_host: true,
        detail: ModelDetail::CpuBlocked(detail),
    }
    .with_levels(level_s)
}

/// Predict `batch` independent `m x n x k` GEMMs in `dtype` as one call,
/// on the thread count that makes it fastest (a GEMV on no more than the
/// stack's `gemv_threads` for `dtype`).
pub fn gemm(t: &Target<'_>, m: u64, n: u64, k: u64, batch: u64, dtype: Dtype) -> KernelCost {
    let max_threads = match t.stack.gemv_threads(dtype) {
        Some(cap) if is_gemv(m, n) => f64::from(cap),
        _ => f64::INFINITY,
    };
    fastest(t.chip, max_threads, |threads| {
        gemm_on(t, m, n, k, batch, dtype, threads)
    })
}

/// A matrix-vector product (M = 1 or N = 1): BLAS libraries run it
/// without packing (and some on one thread).
fn is_gemv(m: u64, n: u64) -> bool {
    m == 1 || n == 1
}

/// [`gemm`] on `threads` cores.
fn gemm_on(
    t: &Target<'_>,
    m: u64,
    n: u64,
    k: u64,
    batch: u64,
    dtype: Dtype,
    threads: f64,
) -> KernelCost {
    let chip = t.chip;
    let p = rates(t, dtype);
    let cores = f64::from(chip.compute.units);
    let b = dtype.bytes_per_element();
    // Packed panels hold the format the arithmetic runs in: an emulated
    // dtype is packed converted (fp16 as fp32), and the blocks are sized
    // for that.
    let packed = t
        .resolve_path(dtype)
        .map_or(b, |(runs_in, _, _)| runs_in.bytes_per_element().max(b));
    let b_out = p.output_bytes;
    let (mf, nf, kf, bf) = (m as f64, n as f64, k as f64, batch as f64);
    let useful = 2.0 * mf * nf * kf * bf;

    // The micro-kernel's register tile, no larger than the matrix (a GEMV
    // runs on one row or column).
    let (mr, nr) = micro_tile(t, dtype);
    let (mr, nr) = (mr.min(m).max(1), nr.min(n).max(1));
    let (tiles_m, tiles_n) = (m.div_ceil(mr), n.div_ceil(nr));
    let (mp, np) = ((tiles_m * mr) as f64, (tiles_n * nr) as f64);
    let padded = 2.0 * mp * np * kf * bf;
    let micro_tiles = tiles_m as f64 * tiles_n as f64 * bf;
    let per_core_rate = p.rate_flops / cores;
    let compute_s = padded * ((micro_tiles / threads).ceil() / micro_tiles) / per_core_rate;

    // Blocks from the cache sizes.
    let levels = chip.memory.len();
    let main = levels - 1;
    let cache = |i: usize| (i < main).then(|| &chip.memory[i]);
    let l1 = per_core_bytes(chip, &chip.memory[0]);
    let kc = ((l1 / (2.0 * nr as f64 * packed)).floor().max(1.0) as u64).min(k);
    // A's block sits in the last private level (L2), B's panel in the last
    // shared cache (L3); without them, in the level before.
    let a_level = (1..main)
        .take_while(|&i| chip.memory[i].per_core)
        .last()
        .unwrap_or(0)
        .min(main.saturating_sub(1));
    // The last cache before main memory (a_level <= main - 1 already).
    let llc = main.saturating_sub(1);
    let mc = cache(a_level).map_or(m, |l| {
        ((per_core_bytes(chip, l) / (2.0 * kc as f64 * packed)).floor() as u64).clamp(1, m)
    });
    let nc = cache(llc).filter(|l| !l.per_core).map_or(n, |l| {
        ((l.size_bytes / (2.0 * kc as f64 * packed)).floor() as u64).clamp(1, n)
    });
    let k_blocks = k.div_ceil(kc) as f64;
    // C is written once per K block and read back for every block but the
    // first. The first write of each line reads it too: a store that misses
    // the private caches brings its line in before writing it
    // (write-allocate; BLAS micro-kernels store C with plain stores, the
    // gemm crate's included), so the levels
    // beyond the private caches, where C is counted, serve it once more
    // than its data passes (docs/model/cpu-blocked.md). When the whole
    // working set fits a private cache, `settle` moves that traffic there
    // with the rest.
    let c_passes = 2.0 * k_blocks - 1.0;
    let c_passes_shared = c_passes + 1.0;
    let a_packs = n.div_ceil(nc) as f64;

    let mut traffic = vec![0.0; levels];
    traffic[0] += bf * packed * kf * np * (mp / mr as f64);
    traffic[a_level] += bf * packed * mp * kf * (np / nr as f64);
    traffic[llc] += bf
        * (b * mf * kf * a_packs
            + packed * kf * np * m.div_ceil(mc) as f64
            + b_out * mf * nf * c_passes_shared);
    traffic[main] += bf * (b * (mf * kf * a_packs + kf * nf) + b_out * mf * nf * c_passes_shared);
    let working_set = bf * (b * (mf * kf + kf * nf) + b_out * mf * nf);
    let home = home_level(chip, working_set, threads);
    settle(&mut traffic, home, working_set);
    // What main memory serves of the operands is read by packing (a GEMV
    // reads them in order, unpacked).
    let packed_main = if is_gemv(m, n) {
        0.0
    } else {
        bf * b * (mf * kf * a_packs + kf * nf)
    };

    // An emulated dtype is converted as it is packed: vectorised at the
    // chip path's cost, or (a library that converts element by element) A
    // at each packing and the output at each of its passes, one conversion
    // each, at the stack's cycles per element. A GEMV packs nothing: it
    // converts vectorised as it streams.
    let vector_s = |elements: f64| {
        elements * p.convert_flops_per_element / (p.conversion_rate * threads / cores)
    };
    let conversion_s = match p.scalar_convert_s {
        Some(s) if !is_gemv(m, n) => {
            bf * (mf * kf * a_packs + mf * nf * c_passes) * s / threads + vector_s(bf * kf * nf)
        }
        _ => vector_s(bf * (mf * kf * a_packs + kf * nf)),
    };
    cost(
        t,
        &p,
        &traffic,
        packed_main,
        threads,
        compute_s,
        conversion_s,
        useful / padded,
        home,
        CpuDetail {
            threads: threads as u32,
            block_m: mc,
            block_n: nc,
            block_k: kc,
        },
    )
}

/// The register tile `(mr, nr)` of `dtype`'s micro-kernel: the stack's
/// first tile (a CPU stack lists micro-kernel tiles, not GPU block tiles).
fn micro_tile(t: &Target<'_>, dtype: Dtype) -> (u64, u64) {
    crate::gpu::tiles(t, dtype)
        .first()
        .map_or((1, 1), |&(r, c)| (u64::from(r), u64::from(c)))
}

/// A streaming op (elementwise, STREAM's kernels) of `bytes` and `flops`:
/// its bytes at the first level that holds them all, on the fastest thread
/// count. `allocating_bytes` of them are written by plain stores: the
/// caches beyond L1 serve those once more (a store that misses L1 reads
/// its line before writing it).
pub fn stream(
    t: &Target<'_>,
    flops: f64,
    bytes: f64,
    allocating_bytes: f64,
    dtype: Dtype,
) -> KernelCost {
    fastest(t.chip, f64::INFINITY, |threads| {
        stream_on(t, flops, bytes, allocating_bytes, dtype, threads)
    })
}

fn stream_on(
    t: &Target<'_>,
    flops: f64,
    bytes: f64,
    allocating_bytes: f64,
    dtype: Dtype,
    threads: f64,
) -> KernelCost {
    let chip = t.chip;
    let p = rates(t, dtype);
    let main = chip.memory.len() - 1;
    let home = home_level(chip, bytes, threads);
    // The cache before the serving level still holds part of a repeated
    // sweep too large for it.
    let partial = home.checked_sub(1);
    let hit = partial.map_or(0.0, |f| {
        resident_share(bytes, chip.memory[f].capacity_for(threads))
    });
    // Write-allocate: a level between L1 and main memory that serves the
    // sweep also serves the lines its plain stores read before writing,
    // unless the chip file says that read costs it nothing
    // (`plain_store_reads_line = false`, measured by `mlsim hw memory`).
    // Main memory does not: the chip file's value is the rate STREAM
    // counts, and its kernels, with the read (scale) or without it (copy's
    // non-temporal stores), reach about the same counted rate there
    // (docs/model/cpu-blocked.md).
    let served = |level: usize, share: f64| {
        let read_for_ownership =
            if level > 0 && level < main && chip.memory[level].plain_store_reads_line {
                allocating_bytes
            } else {
                0.0
            };
        share * (bytes + read_for_ownership)
    };
    let mut traffic = vec![0.0; chip.memory.len()];
    if let Some(f) = partial {
        traffic[f] = served(f, hit);
    }
    traffic[home] = served(home, 1.0 - hit);
    let k = cost(
        t,
        &p,
        &traffic,
        0.0,
        threads,
        flops / (p.rate_flops * threads / f64::from(chip.compute.units)),
        0.0,
        1.0,
        home,
        CpuDetail {
            threads: threads as u32,
            block_m: 0,
            block_n: 0,
            block_k: 0,
        },
    );
    // Hits and misses of one sweep take turns in the same stream: the
    // serving level's time carries both (their sum keeps a larger sweep
    // never faster; overlapping them would not).
    match partial {
        Some(f) if hit > 0.0 => {
            let mut levels = k.level_s;
            let [fast, slow] = [f, home].map(|i| levels.as_slice()[i]);
            levels.set(home, slow + fast);
            k.with_levels(levels)
        }
        _ => k,
    }
}

/// Share of a repeated sweep over `bytes` that a cache of `capacity` bytes
/// still serves when they do not fit (1 when they do). Under random
/// replacement, a cache without LRU's cliff, the hit fraction h of a
/// cyclic sweep solves h = exp(-x (1 - h)) with x = bytes / capacity: the
/// root below 1/x, found by bisection. It falls from 1 at x = 1 to 0.42
/// at x = 1.5, 0.20 at 2 and 0.06 at 3, and the bytes it serves,
/// h x capacity, shrink as the sweep grows (docs/model/cpu-blocked.md).
pub fn resident_share(bytes: f64, capacity: f64) -> f64 {
    if bytes <= capacity {
        return 1.0;
    }
    if capacity <= 0.0 {
        return 0.0;
    }
    let x = bytes / capacity;
    let (mut lo, mut hi) = (0.0_f64, 1.0 / x);
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if mid < (-x * (1.0 - mid)).exp() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}
