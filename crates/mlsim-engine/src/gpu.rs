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

/// The terms of one kernel, in seconds and bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmTerms {
    /// Time the SMs spend computing (padded tiles, in waves), or waiting on
    /// K-slices when too few are in flight.
    pub compute_s: f64,
    /// Time to move the bytes at the limiting memory level.
    pub memory_s: f64,
    /// Time spent converting loaded elements (emulated paths).
    pub conversion_s: f64,
    /// The kernel's fixed GPU-side time: start-up and teardown, the first
    /// K-slice's round trip, the output stores.
    pub floor_s: f64,
    /// Bytes read from and written to main memory.
    pub dram_bytes: f64,
    /// Bytes the SMs request (served by L2 or main memory).
    pub requested_bytes: f64,
    /// Whether main memory (rather than L2) limits the memory time.
    pub dram_limited: bool,
    /// Waves of tiles.
    pub waves: f64,
    /// Ways K is split across thread blocks (1: not split).
    pub split_k: u32,
    /// Useful FLOPs over FLOPs of the padded tiles, in (0, 1].
    pub tile_efficiency: f64,
    /// The effective rate of the path, FLOP/s.
    pub rate_flops: f64,
    /// Whether the dtype ran on its own hardware path.
    pub native: bool,
    /// Memory time exceeds compute time.
    pub memory_bound: bool,
}

impl GemmTerms {
    /// The kernel's duration on the GPU.
    pub fn kernel_s(&self) -> f64 {
        self.floor_s + self.compute_s.max(self.memory_s) + self.conversion_s
    }
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// What the model needs of a dtype's path on a target, resolved once.
#[derive(Debug, Clone, Copy)]
pub struct PathRates {
    /// FLOP/s a large GEMM reaches on the whole chip.
    pub rate_flops: f64,
    /// Whether the dtype runs on its own hardware.
    pub native: bool,
    /// Bytes per output element.
    pub output_bytes: f64,
    /// fp32 FLOP/s spent on conversion (emulated paths), else infinity.
    pub conversion_rate: f64,
    /// Conversion FLOPs per loaded element.
    pub convert_flops_per_element: f64,
}

/// The rate, width and conversion cost of `dtype` on `t`: chip-level
/// calibrations first, then the stack's values. `None` for chips without
/// compute paths.
pub fn path_rates(t: &Target<'_>, dtype: Dtype) -> Option<PathRates> {
    let chip = t.chip;
    let (native_dtype, native_path, native) = chip.resolve_path(dtype)?;
    let own = chip.compute.paths.get(dtype);
    let efficiency = own
        .and_then(|p| p.efficiency)
        .unwrap_or_else(|| t.stack.efficiency(dtype));
    // The half-accumulate rate belongs to the hardware path that runs.
    let half = t.stack.half_accumulate(dtype) || t.stack.half_accumulate(native_dtype);
    let (rate, peak_clock_hz) = native_path.kind.rate(half)?;
    // A kernel doing `efficiency` of the path's peak work per cycle draws
    // that share of its power: the clock follows (docs/model/sustained-clock.md).
    let clock_hz = chip.kernel_clock_hz(rate, efficiency);
    let conversion_rate = if native {
        f64::INFINITY
    } else {
        // Conversion runs on the fp32 lanes, at the kernel's clock.
        fp32_flops_at(chip, clock_hz).unwrap_or(f64::INFINITY)
    };
    Some(PathRates {
        rate_flops: rate.peak_flops * clock_hz / peak_clock_hz * efficiency,
        native,
        output_bytes: own
            .and_then(|p| p.output_bytes)
            .unwrap_or_else(|| t.stack.output_bytes(dtype)),
        conversion_rate,
        convert_flops_per_element: own.map_or(0.0, |p| p.convert_flops_per_element),
    })
}

/// The fp32 path's peak rate at `clock_hz` (conversion work runs there).
fn fp32_flops_at(chip: &Chip, clock_hz: f64) -> Option<f64> {
    let (rate, peak_clock_hz) = chip.compute.paths.get(Dtype::Fp32)?.kind.rate(false)?;
    Some(rate.peak_flops * clock_hz / peak_clock_hz)
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
pub fn gemm(t: &Target<'_>, m: u64, n: u64, k: u64, batch: u64, dtype: Dtype) -> Option<GemmTerms> {
    let chip = t.chip;
    let p = path_rates(t, dtype)?;
    let kernel = &t.stack.kernel;
    let units = f64::from(chip.compute.units);
    let per_unit_rate = p.rate_flops / units;
    let b_in = dtype.bytes_per_element();
    let b_out = p.output_bytes;
    let (mf, nf, kf, bf) = (m as f64, n as f64, k as f64, batch as f64);

    let dram = chip.main_memory();
    let dram_bw = dram.bandwidth_bytes_per_s * t.stack.memory_share(&dram.name, true);
    let l2 = chip.memory.len().checked_sub(2).map(|i| &chip.memory[i]);
    let l2_bw = l2.map(|l| l.bandwidth_bytes_per_s * t.stack.memory_share(&l.name, false));
    let operands = b_in * (mf * kf + kf * nf);
    let grid = units.sqrt().floor().max(1.0) as u64;
    let (main_latency_s, l2_latency_s) = latencies_s(chip);
    let floor_s = kernel.fixed_s + main_latency_s + l2_latency_s;
    // K-slice depth in elements (at least one).
    let slice = (kernel.k_slice_bytes / b_in).max(1.0);
    let slice_s = main_latency_s / f64::from(kernel.pipeline_stages);

    let mut best: Option<GemmTerms> = None;
    for &(tm, tn) in tiles(t, dtype) {
        let (tm, tn) = (u64::from(tm), u64::from(tn));
        let (tiles_m, tiles_n) = (ceil_div(m, tm), ceil_div(n, tn));
        // In f64: tiles_m x tiles_n x batch can exceed u64 for absurd shapes.
        let output_tiles = tiles_m as f64 * tiles_n as f64 * bf;
        let split_k = t.stack.split_k(dtype);
        for split in split_candidates(kernel, split_k, output_tiles, units) {
            let k_split = (kf / f64::from(split)).ceil();
            // A split's K loop runs whole K-slices: a split shorter than a
            // slice computes (and waits for) a whole one.
            let slices = (k_split / slice).ceil();
            let k_split = if split > 1 { slices * slice } else { k_split };
            let tile_count = output_tiles * f64::from(split);
            let waves = (tile_count / units).ceil();
            let tile_flops = 2.0 * (tm * tn) as f64 * k_split;
            let tile_s = (tile_flops / per_unit_rate).max(slices * slice_s);
            let compute_s = waves * tile_s;
            let useful = 2.0 * mf * nf * kf * bf;
            let tile_efficiency = useful / (tile_count * tile_flops);

            // Every tile reads its row panel of A and column panel of B.
            let panel_elements = bf * (mf * kf * tiles_n as f64 + kf * nf * tiles_m as f64);
            // A split K writes fp32 partial sums and reads them back.
            let partials = if split > 1 {
                2.0 * 4.0 * f64::from(split) * mf * nf * bf
            } else {
                0.0
            };
            let l2_bytes = b_in * panel_elements + bf * b_out * mf * nf + partials;
            let dram_bytes = partials
                + if l2.is_some_and(|l2| operands <= l2.size_bytes) {
                    bf * (operands + b_out * mf * nf)
                } else {
                    // Tiles of one wave share panels through L2: a wave covers
                    // about grid x grid tiles, so A is re-read once per
                    // wave-column.
                    let rereads_a = ceil_div(tiles_n, grid) as f64;
                    let rereads_b = ceil_div(tiles_m, grid) as f64;
                    bf * (b_in * (mf * kf * rereads_a + kf * nf * rereads_b) + b_out * mf * nf)
                };
            let dram_s = dram_bytes / dram_bw;
            let l2_s = l2_bw.map_or(0.0, |bw| l2_bytes / bw);
            let memory_s = dram_s.max(l2_s);
            let conversion_s = panel_elements * p.convert_flops_per_element / p.conversion_rate;
            // A split K ends with a reduction of the partial sums: a second,
            // small kernel (its own fixed time and a round trip to L2).
            let floor_s = if split > 1 {
                floor_s + kernel.fixed_s + l2_latency_s
            } else {
                floor_s
            };
            let terms = GemmTerms {
                compute_s,
                memory_s,
                conversion_s,
                floor_s,
                dram_bytes,
                requested_bytes: l2_bytes.max(dram_bytes),
                dram_limited: dram_s >= l2_s,
                waves,
                split_k: split,
                tile_efficiency,
                rate_flops: p.rate_flops,
                native: p.native,
                memory_bound: memory_s > compute_s,
            };
            if best.is_none_or(|b| terms.kernel_s() < b.kernel_s()) {
                best = Some(terms);
            }
        }
    }
    best
}

/// The K-splits a library would consider: none, and (when the stack splits
/// K and the output tiles leave SMs idle) as many as fill the SMs, up to the
/// stack's most. The number of splits depends on the output tiles only, not
/// on K, so a deeper GEMM never splits finer than a shallower one of the
/// same output (more work must never be faster); a split shorter than one
/// K-slice still pays a whole slice's latency.
fn split_candidates(
    kernel: &mlsim_hw::KernelTerms,
    split_k: bool,
    output_tiles: f64,
    units: f64,
) -> impl Iterator<Item = u32> {
    let most = if split_k && output_tiles < units {
        let fill = (units / output_tiles).floor();
        fill.min(f64::from(kernel.max_split_k)).max(1.0) as u32
    } else {
        1
    };
    std::iter::once(1).chain((most > 1).then_some(most))
}

/// The kernels of one op: up to three (attention's score, value and
/// projection GEMMs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpKernels {
    /// The kernels; the first `count` are used.
    pub kernels: [GemmTerms; 3],
    /// How many.
    pub count: usize,
}

impl OpKernels {
    fn one(t: GemmTerms) -> Self {
        Self {
            kernels: [t; 3],
            count: 1,
        }
    }

    /// The kernels in use.
    pub fn iter(&self) -> impl Iterator<Item = &GemmTerms> {
        self.kernels[..self.count].iter()
    }

    /// The terms of all kernels together (sums; the worst tile
    /// efficiency; the first kernel's flags).
    pub fn total(&self) -> GemmTerms {
        let sum = |f: fn(&GemmTerms) -> f64| self.iter().map(f).sum::<f64>();
        let first = self.kernels[0];
        let compute_s = sum(|t| t.compute_s);
        let memory_s = sum(|t| t.memory_s);
        GemmTerms {
            compute_s,
            memory_s,
            conversion_s: sum(|t| t.conversion_s),
            floor_s: sum(|t| t.floor_s),
            dram_bytes: sum(|t| t.dram_bytes),
            requested_bytes: sum(|t| t.requested_bytes),
            waves: sum(|t| t.waves),
            tile_efficiency: self.iter().map(|t| t.tile_efficiency).fold(1.0, f64::min),
            split_k: self.iter().map(|t| t.split_k).max().unwrap_or(1),
            memory_bound: memory_s > compute_s,
            ..first
        }
    }
}

/// The GPU model for any op: GEMM-shaped ops through [`gemm`] (a
/// convolution as an implicit GEMM; attention as its score, value and
/// projection GEMMs, one kernel each), elementwise ops through
/// [`roofline_terms`].
pub fn op_kernels(
    t: &Target<'_>,
    op: &mlsim_workload::Op,
    dtype: Dtype,
    flops: f64,
    bytes: f64,
) -> Option<OpKernels> {
    use mlsim_workload::Op;
    match *op {
        Op::MatMul { m, n, k } => Some(OpKernels::one(gemm(t, m, n, k, 1, dtype)?)),
        Op::Conv2d { .. } => {
            let (m, n, k) = op.implicit_gemm().expect("a convolution");
            Some(OpKernels::one(gemm(t, m, n, k, 1, dtype)?))
        }
        Op::Attention {
            batch,
            heads,
            seq,
            head_dim,
            causal,
        } => {
            let mask = if causal { 0.5 } else { 1.0 };
            let masked = |mut g: GemmTerms| {
                g.compute_s *= mask;
                g.memory_bound = g.memory_s > g.compute_s;
                g
            };
            let scores = masked(gemm(t, seq, seq, head_dim, batch * heads, dtype)?);
            let values = masked(gemm(t, seq, head_dim, seq, batch * heads, dtype)?);
            let proj = gemm(t, batch * seq, heads * head_dim, heads * head_dim, 1, dtype)?;
            Some(OpKernels {
                kernels: [scores, values, proj],
                count: 3,
            })
        }
        Op::Elementwise { .. } => Some(OpKernels::one(roofline_terms(t, flops, bytes, dtype)?)),
    }
}

/// A roofline estimate for ops that are not GEMMs (elementwise): memory
/// time at main-memory bandwidth (times the stack's share) against compute
/// at the dtype's path rate, plus the kernel floor.
pub fn roofline_terms(t: &Target<'_>, flops: f64, bytes: f64, dtype: Dtype) -> Option<GemmTerms> {
    let p = path_rates(t, dtype)?;
    let dram = t.chip.main_memory();
    let compute_s = flops / p.rate_flops;
    let memory_s = bytes / (dram.bandwidth_bytes_per_s * t.stack.memory_share(&dram.name, true));
    let (main_latency_s, l2_latency_s) = latencies_s(t.chip);
    Some(GemmTerms {
        compute_s,
        memory_s,
        conversion_s: 0.0,
        floor_s: t.stack.kernel.fixed_s + main_latency_s + l2_latency_s,
        dram_bytes: bytes,
        requested_bytes: bytes,
        dram_limited: true,
        waves: 1.0,
        split_k: 1,
        tile_efficiency: 1.0,
        rate_flops: p.rate_flops,
        native: p.native,
        memory_bound: memory_s > compute_s,
    })
}
