//! mlsim's tiled GPU model (chips with arch `gpu`).
//!
//! A GEMM is run by a library kernel that tiles the output into `tm x tn`
//! blocks; blocks are spread over the SMs in waves. Its time is
//!
//! ```text
//! launch + max(compute, memory) + conversion
//! compute    = waves x (2 tm tn K) / (per-SM rate)        (padded tiles, partial last wave)
//! per-SM rate = peak x (sustained clock / boost clock) x path efficiency / SMs
//! memory     = max(DRAM bytes / DRAM bandwidth, L2 bytes / L2 bandwidth)
//! L2 bytes   = b_in (M K tiles_n + K N tiles_m) + b_out M N   (every tile reads its panels)
//! DRAM bytes = b_in (M K + K N) + b_out M N   when A and B fit in L2, else the
//!              panels are re-read once per wave-column / wave-row of tiles
//! conversion = (elements loaded into SMs) x convert FLOPs / fp32 rate  (emulated paths)
//! ```
//!
//! The kernel's tile is the candidate that gives the shortest time, as a
//! library's heuristic would pick. A dtype without a native path runs
//! through the path it is emulated by (bf16 on a T4: the fp32 path) and
//! pays the conversion of every element it loads. Decision notes:
//! `docs/model/`.

use mlsim_hw::{Chip, ComputePath, PathKind};
use mlsim_quant::Dtype;

/// The terms of a tiled GEMM prediction, in seconds and bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmTerms {
    /// Time the SMs spend computing (padded tiles, in waves).
    pub compute_s: f64,
    /// Time to move the bytes at the limiting memory level.
    pub memory_s: f64,
    /// Time spent converting loaded elements (emulated paths).
    pub conversion_s: f64,
    /// Bytes read from and written to main memory.
    pub dram_bytes: f64,
    /// Bytes the SMs request (served by L2 or main memory).
    pub requested_bytes: f64,
    /// Whether main memory (rather than L2) limits the memory time.
    pub dram_limited: bool,
    /// Waves of tiles.
    pub waves: f64,
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
    /// Kernel time without the launch overhead.
    pub fn busy_s(&self) -> f64 {
        self.compute_s.max(self.memory_s) + self.conversion_s
    }
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// Predict `batch` independent `m x n x k` GEMMs in `dtype` on a GPU chip.
/// Returns `None` when the chip has no compute paths.
pub fn gemm(chip: &Chip, m: u64, n: u64, k: u64, batch: u64, dtype: Dtype) -> Option<GemmTerms> {
    let (native_dtype, native_path, native) = chip.resolve_path(dtype)?;
    let PathKind::Native {
        peak_flops,
        clock_ratio,
    } = &native_path.kind
    else {
        return None;
    };
    // Efficiency, output width and tiles are the requested dtype's own (an
    // emulated path has its own kernels running on the other's hardware).
    let own: &ComputePath = chip.compute.paths.get(dtype).unwrap_or(native_path);
    let tiles = if own.tiles.is_empty() {
        &native_path.tiles
    } else {
        &own.tiles
    };
    let rate = peak_flops * clock_ratio * own.efficiency;
    let units = f64::from(chip.compute.units);
    let per_unit_rate = rate / units;
    let b_in = dtype.bytes_per_element();
    let b_out = own.output_bytes;
    let (mf, nf, kf, bf) = (m as f64, n as f64, k as f64, batch as f64);

    let dram = chip.main_memory();
    let l2 = chip.memory.len().checked_sub(2).map(|i| &chip.memory[i]);
    let operands = b_in * (mf * kf + kf * nf);
    let grid = units.sqrt().floor().max(1.0) as u64;

    let conversion_rate = match (native, chip.compute.paths.get(Dtype::Fp32).map(|p| &p.kind)) {
        (
            false,
            Some(PathKind::Native {
                peak_flops,
                clock_ratio,
                ..
            }),
        ) => peak_flops * clock_ratio,
        _ => f64::INFINITY,
    };

    let mut best: Option<GemmTerms> = None;
    for &(tm, tn) in tiles {
        let (tm, tn) = (u64::from(tm), u64::from(tn));
        let (tiles_m, tiles_n) = (ceil_div(m, tm), ceil_div(n, tn));
        // In f64: tiles_m x tiles_n x batch can exceed u64 for absurd shapes.
        let tile_count = tiles_m as f64 * tiles_n as f64 * bf;
        let waves = (tile_count / units).ceil();
        let tile_flops = 2.0 * (tm * tn) as f64 * kf;
        let compute_s = waves * tile_flops / per_unit_rate;
        let useful = 2.0 * mf * nf * kf * bf;
        let tile_efficiency = useful / (tile_count * tile_flops);

        // Every tile reads its row panel of A and column panel of B.
        let panel_elements = bf * (mf * kf * tiles_n as f64 + kf * nf * tiles_m as f64);
        let l2_bytes = b_in * panel_elements + bf * b_out * mf * nf;
        let dram_bytes = if l2.is_some_and(|l2| operands <= l2.size_bytes) {
            bf * (operands + b_out * mf * nf)
        } else {
            // Tiles of one wave share panels through L2: a wave covers about
            // grid x grid tiles, so A is re-read once per wave-column.
            let rereads_a = ceil_div(tiles_n, grid) as f64;
            let rereads_b = ceil_div(tiles_m, grid) as f64;
            bf * (b_in * (mf * kf * rereads_a + kf * nf * rereads_b) + b_out * mf * nf)
        };
        let dram_s = dram_bytes / dram.bandwidth_bytes_per_s;
        let l2_s = l2.map_or(0.0, |l2| l2_bytes / l2.bandwidth_bytes_per_s);
        let memory_s = dram_s.max(l2_s);
        let conversion_s = panel_elements * own.convert_flops_per_element / conversion_rate;
        let terms = GemmTerms {
            compute_s,
            memory_s,
            conversion_s,
            dram_bytes,
            requested_bytes: l2_bytes.max(dram_bytes),
            dram_limited: dram_s >= l2_s,
            waves,
            tile_efficiency,
            rate_flops: rate,
            native,
            memory_bound: memory_s > compute_s,
        };
        if best.is_none_or(|b| terms.busy_s() < b.busy_s()) {
            best = Some(terms);
        }
    }
    let _ = native_dtype;
    best
}

/// The GPU model for any op: GEMM-shaped ops through [`gemm`] (a
/// convolution as an implicit GEMM; attention as its score, value and
/// projection GEMMs, one kernel each), elementwise ops through
/// [`roofline_terms`]. Returns the terms and the number of kernels.
pub fn op_terms(
    chip: &Chip,
    op: &mlsim_workload::Op,
    dtype: Dtype,
    flops: f64,
    bytes: f64,
) -> Option<(GemmTerms, u32)> {
    use mlsim_workload::Op;
    match *op {
        Op::MatMul { m, n, k } => Some((gemm(chip, m, n, k, 1, dtype)?, 1)),
        Op::Conv2d { .. } => {
            let (m, n, k) = op.implicit_gemm().expect("a convolution");
            Some((gemm(chip, m, n, k, 1, dtype)?, 1))
        }
        Op::Attention {
            batch,
            heads,
            seq,
            head_dim,
            causal,
        } => {
            let mask = if causal { 0.5 } else { 1.0 };
            let scores = gemm(chip, seq, seq, head_dim, batch * heads, dtype)?;
            let values = gemm(chip, seq, head_dim, seq, batch * heads, dtype)?;
            let proj = gemm(
                chip,
                batch * seq,
                heads * head_dim,
                heads * head_dim,
                1,
                dtype,
            )?;
            let sum =
                |f: fn(&GemmTerms) -> f64, scale: f64| (f(&scores) + f(&values)) * scale + f(&proj);
            let compute_s = sum(|t| t.compute_s, mask);
            let memory_s = sum(|t| t.memory_s, 1.0);
            Some((
                GemmTerms {
                    compute_s,
                    memory_s,
                    conversion_s: sum(|t| t.conversion_s, 1.0),
                    dram_bytes: sum(|t| t.dram_bytes, 1.0),
                    requested_bytes: sum(|t| t.requested_bytes, 1.0),
                    dram_limited: scores.dram_limited,
                    waves: sum(|t| t.waves, 1.0),
                    // The worst of the three kernels.
                    tile_efficiency: scores
                        .tile_efficiency
                        .min(values.tile_efficiency)
                        .min(proj.tile_efficiency),
                    rate_flops: proj.rate_flops,
                    native: proj.native,
                    memory_bound: memory_s > compute_s,
                },
                3,
            ))
        }
        Op::Elementwise { .. } => Some((roofline_terms(chip, flops, bytes, dtype)?, 1)),
    }
}

/// A roofline estimate for ops that are not GEMMs (elementwise): memory
/// time at main-memory bandwidth against compute at the fp32 path's rate.
pub fn roofline_terms(chip: &Chip, flops: f64, bytes: f64, dtype: Dtype) -> Option<GemmTerms> {
    let (_, path, native) = chip.resolve_path(dtype)?;
    let PathKind::Native {
        peak_flops,
        clock_ratio,
        ..
    } = &path.kind
    else {
        return None;
    };
    let rate = peak_flops * clock_ratio * path.efficiency;
    let compute_s = flops / rate;
    let memory_s = bytes / chip.main_memory().bandwidth_bytes_per_s;
    Some(GemmTerms {
        compute_s,
        memory_s,
        conversion_s: 0.0,
        dram_bytes: bytes,
        requested_bytes: bytes,
        dram_limited: true,
        waves: 1.0,
        tile_efficiency: 1.0,
        rate_flops: rate,
        native,
        memory_bound: memory_s > compute_s,
    })
}
