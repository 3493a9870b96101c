//! mlsim's tiled GPU model (chips with arch `gpu`), read from a chip
//! (datasheet), a kernel-library stack and a timing method.
//!
//! A GEMM is run by a library kernel that tiles the output into `tm x tn`
//! blocks, possibly splitting K across blocks when the tiles alone would
//! leave SMs idle; blocks are spread over the SMs in waves. One kernel takes
//!
//! ```text
//! kernel     = floor + max(compute, memory) + conversion
//! floor      = fixed (stack) + main-memory latency (first K-slice) + L2 latency (output stores)
//!              (+ fixed + L2 latency again for the reduction of a split K)
//! compute    = waves x max(2 tm tn K_split / (per-SM rate),  K-slices x main-memory latency / stages)
//! per-SM rate = datasheet peak x (sustained / peak clock) x stack efficiency / SMs
//! memory     = max(DRAM bytes / (DRAM bandwidth x share), L2 bytes / (L2 bandwidth x share))
//! L2 bytes   = b_in (M K tiles_n + K N tiles_m) + b_out M N   (every tile reads its panels)
//! DRAM bytes = b_in (M K + K N) + b_out M N (+ fp32 partials of a split K)  when A and B fit
//!              in L2, else the panels are re-read once per wave-column / wave-row of tiles
//! conversion = (elements loaded into SMs) x convert FLOPs / fp32 rate  (emulated paths)
//! ```
//!
//! The kernel's tile and split are the candidates that give the shortest
//! time, as a library's heuristic would pick. A dtype without a native path
//! runs through the path it is emulated by (bf16 on a T4: the fp32 path)
//! and pays the conversion of every element it loads. What the caller's
//! host adds depends on the timing method ([`mlsim_hw::Target::call_s`]).
//! Decision notes: `docs/model/`.

use mlsim_hw::{Chip, PathKind, Target};
use mlsim_quant::Dtype;

pub use crate::rates::{PathRates, path_rates};
use crate::round::{ceil_non_negative, floor_non_negative};
use crate::terms::{GpuDetail, KernelCost, LevelTimes, ModelDetail};

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// The tiles a dtype's kernels use on `t`: a chip-level calibration, else
/// the stack's own for the dtype, else (a dtype emulated through another
/// path, bf16 on a T4) the tiles of the path it runs through.
pub fn tiles<'t>(t: &Target<'t>, dtype: Dtype) -> &'t [(u32, u32)] {
    match t.chip.compute.paths.get(dtype) {
        Some(p) if !p.tiles.is_empty() => &p.tiles,
        Some(mlsim_hw::ComputePath {
            kind: PathKind::Emulated { via },
            ..
        }) if t.stack.paths.get(dtype).is_none_or(|p| p.tiles.is_empty()) => tiles(t, *via),
        _ => t.stack.tiles(dtype),
    }
}

/// Seconds of a main-memory and of an L2 round trip on `chip`.
fn latencies_s(chip: &Chip) -> (f64, f64) {
    let main = chip.main_memory().latency_cycles / chip.frequency_hz;
    let l2 = chip
        .memory
        .len()
        .checked_sub(2)
        .map_or(main, |i| chip.memory[i].latency_cycles / chip.frequency_hz);
    (main, l2)
}

/// Predict `batch` independent `m x n x k` GEMMs in `dtype` as one kernel.
/// Returns `None` when the chip has no compute paths.
pub fn gemm(
    t: &Target<'_>,
    m: u64,
    n: u64,
    k: u64,
    batch: u64,
    dtype: Dtype,
) -> Option<KernelCost> {
    GemmPlan::new(t, dtype)?.cost(m, n, k, batch)
}

/// What a GEMM kernel in one dtype costs on one target apart from its
/// shape: the path's rates, the tiles, bandwidths, latencies and floors,
/// resolved once (a [`crate::Predictor`] keeps one per dtype, so that a
/// sweep of millions of shapes looks none of them up again).
#[derive(Debug, Clone)]
pub struct GemmPlan<'t> {
    rates: PathRates,
    tiles: &'t [(u32, u32)],
    /// SMs (compute units).
    units: f64,
    /// FLOP/s of one SM.
    per_unit_rate: f64,
    /// Bytes per input element.
    b_in: f64,
    /// Main memory's bandwidth times the stack's share of it.
    dram_bw: f64,
    /// The level before main memory: its bandwidth (times the stack's
    /// share) and size.
    l2: Option<(f64, f64)>,
    /// Tiles on a side of the square a wave covers.
    grid: u64,
    l2_latency_s: f64,
    /// Floor of an unsplit kernel.
    floor_s: f64,
    /// The stack's fixed time per kernel.
    fixed_s: f64,
    /// K-slice depth in elements (at least one).
    slice: f64,
    /// Seconds a K-slice waits for main memory, over the pipeline stages.
    slice_s: f64,
    split_k: bool,
    max_split_k: u32,
    /// The chip's memory levels.
    levels: usize,
}

impl<'t> GemmPlan<'t> {
    /// `dtype`'s plan on `t`; `None` when the chip has no path for it.
    pub fn new(t: &Target<'t>, dtype: Dtype) -> Option<Self> {
        let rates = path_rates(t, dtype)?;
        let chip = t.chip;
        let kernel = &t.stack.kernel;
        let units = f64::from(chip.compute.units);
        let b_in = dtype.bytes_per_element();
        let dram = chip.main_memory();
        let l2 = chip.memory.len().checked_sub(2).map(|i| &chip.memory[i]);
        let (main_latency_s, l2_latency_s) = latencies_s(chip);
        Some(Self {
            rates,
            tiles: tiles(t, dtype),
            units,
            per_unit_rate: rates.rate_flops / units,
            b_in,
            dram_bw: dram.bandwidth_bytes_per_s * t.stack.memory_share(&dram.name, true),
            l2: l2.map(|l| {
                let bw = l.bandwidth_bytes_per_s * t.stack.memory_share(&l.name, false);
                (bw, l.size_bytes)
            }),
            grid: floor_non_negative(units.sqrt()).max(1.0) as u64,
            l2_latency_s,
            floor_s: kernel.fixed_s + main_latency_s + l2_latency_s,
            fixed_s: kernel.fixed_s,
            slice: (kernel.k_slice_bytes / b_in).max(1.0),
            slice_s: main_latency_s / f64::from(kernel.pipeline_stages),
            split_k: t.stack.split_k(dtype),
            max_split_k: kernel.max_split_k,
            levels: chip.memory.len(),
        })
    }

    /// `batch` independent `m x n x k` GEMMs as one kernel: the tile and
    /// split that give the shortest kernel.
    pub fn cost(&self, m: u64, n: u64, k: u64, batch: u64) -> Option<KernelCost> {
        let p = &self.rates;
        let (units, b_in, b_out) = (self.units, self.b_in, p.output_bytes);
        let (mf, nf, kf, bf) = (m as f64, n as f64, k as f64, batch as f64);
        let operands = b_in * (mf * kf + kf * nf);
        // The candidates are compared on their kernel time alone; the terms
        // are built once, for the fastest (what a sweep of millions spends
        // most of its time on).
        let mut best: Option<Candidate> = None;
        let mut best_s = f64::INFINITY;
        let operands_fit_l2 = self.l2.is_some_and(|(_, size)| operands <= size);
        for &(tm, tn) in self.tiles {
            let (tm, tn) = (u64::from(tm), u64::from(tn));
            let (tiles_m, tiles_n) = (ceil_div(m, tm), ceil_div(n, tn));
            // In f64: tiles_m x tiles_n x batch can exceed u64 for absurd shapes.
            let output_tiles = tiles_m as f64 * tiles_n as f64 * bf;
            // Every tile reads its row panel of A and column panel of B.
            let panel_elements = bf * (mf * kf * tiles_n as f64 + kf * nf * tiles_m as f64);
            let conversion_s = panel_elements * p.convert_flops_per_element / p.conversion_rate;
            for split in split_candidates(self.max_split_k, self.split_k, output_tiles, units) {
                let k_split = ceil_non_negative(kf / f64::from(split));
                // A split's K loop runs whole K-slices: a split shorter than
                // a slice computes (and waits for) a whole one.
                let slices = ceil_non_negative(k_split / self.slice);
                let k_split = if split > 1 {
                    slices * self.slice
                } else {
                    k_split
                };
                let tile_count = output_tiles * f64::from(split);
                let waves = ceil_non_negative(tile_count / units);
                let tile_flops = 2.0 * (tm * tn) as f64 * k_split;
                let tile_s = (tile_flops / self.per_unit_rate).max(slices * self.slice_s);
                let compute_s = waves * tile_s;
                // A split K ends with a reduction of the partial sums: a
                // second, small kernel (its own fixed time and a round trip
                // to L2).
                let floor_s = if split > 1 {
                    self.floor_s + self.fixed_s + self.l2_latency_s
                } else {
                    self.floor_s
                };
                // A split K writes fp32 partial sums and reads them back.
                let partials = if split > 1 {
                    2.0 * 4.0 * f64::from(split) * mf * nf * bf
                } else {
                    0.0
                };
                let l2_bytes = b_in * panel_elements + bf * b_out * mf * nf + partials;
                let dram_bytes = partials
                    + if operands_fit_l2 {
                        bf * (operands + b_out * mf * nf)
                    } else {
                        // Tiles of one wave share panels through L2: a wave
                        // covers about grid x grid tiles, so A is re-read
                        // once per wave-column.
                        let rereads_a = ceil_div(tiles_n, self.grid) as f64;
                        let rereads_b = ceil_div(tiles_m, self.grid) as f64;
                        bf * (b_in * (mf * kf * rereads_a + kf * nf * rereads_b) + b_out * mf * nf)
                    };
                let dram_s = dram_bytes / self.dram_bw;
                let l2_s = self.l2.map_or(0.0, |(bw, _)| l2_bytes / bw);
                let c = Candidate {
                    compute_s,
                    dram_s,
                    l2_s,
                    conversion_s,
                    floor_s,
                    dram_bytes,
                    l2_bytes,
                    tile_work: tile_count * tile_flops,
                    waves,
                    split,
                };
                let kernel_s = c.kernel_s();
                if best.is_none() || kernel_s < best_s {
                    best = Some(c);
                    best_s = kernel_s;
                }
            }
        }
        let c = best?;
        let dram_index = self.levels - 1;
        let mut level_s = LevelTimes::zeros(self.levels);
        level_s.set(dram_index, c.dram_s);
        if dram_index > 0 {
            level_s.set(dram_index - 1, c.l2_s);
        }
        Some(
            KernelCost {
                compute_s: c.compute_s,
                memory_s: 0.0,
                level_s,
                conversion_s: c.conversion_s,
                floor_s: c.floor_s,
                dram_bytes: c.dram_bytes,
                requested_bytes: c.l2_bytes.max(c.dram_bytes),
                serving_level: if c.dram_s >= c.l2_s || dram_index == 0 {
                    dram_index
                } else {
                    dram_index - 1
                },
                tile_efficiency: 2.0 * mf * nf * kf * bf / c.tile_work,
                rate_flops: p.rate_flops,
                native: p.native,
                on_host: false,
                detail: ModelDetail::GpuTiled(GpuDetail {
                    waves: c.waves,
                    split_k: c.split,
                }),
            }
            .with_levels(level_s),
        )
    }
}

/// One tile and K-split a library could run a GEMM with: its terms.
#[derive(Clone, Copy)]
struct Candidate {
    compute_s: f64,
    dram_s: f64,
    /// 0 on a chip with main memory alone.
    l2_s: f64,
    conversion_s: f64,
    floor_s: f64,
    dram_bytes: f64,
    l2_bytes: f64,
    /// FLOPs the tiles compute, padding included.
    tile_work: f64,
    waves: f64,
    split: u32,
}

impl Candidate {
    /// [`KernelCost::kernel_s`] of the terms it builds: memory time is the
    /// slower level's.
    fn kernel_s(&self) -> f64 {
        self.floor_s + self.compute_s.max(self.dram_s.max(self.l2_s)) + self.conversion_s
    }
}

/// The K-splits a library would consider: none, and (when the stack splits
/// K and the output tiles leave SMs idle) as many as fill the SMs, up to the
/// stack's most. The number of splits depends on the output tiles only, not
/// on K, so a deeper GEMM never splits finer than a shallower one of the
/// same output (more work must never be faster); a split shorter than one
/// K-slice still pays a whole slice's latency.
fn split_candidates(
    max_split_k: u32,
    split_k: bool,
    output_tiles: f64,
    units: f64,
) -> impl Iterator<Item = u32> {
    let most = if split_k && output_tiles < units {
        let fill = floor_non_negative(units / output_tiles);
        fill.min(f64::from(max_split_k)).max(1.0) as u32
    } else {
        1
    };
    std::iter::once(1).chain((most > 1).then_some(most))
}

/// A roofline estimate for ops that are not GEMMs (elementwise): memory
/// time at main-memory bandwidth (times the stack's share) against compute
/// at the dtype's path rate, plus the kernel floor.
pub fn roofline_terms(t: &Target<'_>, flops: f64, bytes: f64, dtype: Dtype) -> Option<KernelCost> {
    let p = path_rates(t, dtype)?;
    let dram = t.chip.main_memory();
    let dram_index = t.chip.memory.len() - 1;
    let compute_s = flops / p.rate_flops;
    let mut level_s = LevelTimes::zeros(t.chip.memory.len());
    level_s.set(
        dram_index,
        bytes / (dram.bandwidth_bytes_per_s * t.stack.memory_share(&dram.name, true)),
    );
    let (main_latency_s, l2_latency_s) = latencies_s(t.chip);
    Some(
        KernelCost {
            compute_s,
            memory_s: 0.0,
            level_s,
            conversion_s: 0.0,
            floor_s: t.stack.kernel.fixed_s + main_latency_s + l2_latency_s,
            dram_bytes: bytes,
            requested_bytes: bytes,
            serving_level: dram_index,
            tile_efficiency: 1.0,
            rate_flops: p.rate_flops,
            native: p.native,
            on_host: false,
            detail: ModelDetail::GpuTiled(GpuDetail {
                waves: 1.0,
                split_k: 1,
            }),
        }
        .with_levels(level_s),
    )
}
