//! mlsim's systolic-array model (chips on model `systolic`: TPUs, NPUs):
//! weight-stationary arrays of `E x E` processing elements fed from an
//! on-chip scratchpad (a TPU's VMEM) that is filled from HBM.
//!
//! ```text
//! passes   = ceil(K / E) x ceil(N / E) x batch       (E x E weight tiles, padded)
//! rounds   = ceil(passes / arrays)
//! compute  = rounds x 2 E^2 (M + E) / (per-array rate)   (M rows stream through; E cycles of
//!            fill and drain per pass)
//! per-array rate = peak(dtype) / arrays x stack efficiency
//! scratchpad bytes = b (M K ceil(N / E) + K N) + 2 x 4 M N ceil(K / E)
//!            (rows re-streamed per weight column of tiles, fp32 partial sums per K tile)
//! HBM bytes = b (M K + K N) + b_out M N        when A and B fit in the scratchpad, else the
//!            operands re-read once per block of the stack's largest tile (tm x tn)
//! kernel   = floor + max(compute, HBM time, scratchpad time) + conversion
//! floor    = stack fixed_us + one HBM round trip
//! ```
//!
//! A scratchpad keeps nothing between kernels (the compiler fills it per
//! op), so every call reads its operands from HBM at least once, and
//! elementwise ops stream their bytes from HBM. The host adds its share by
//! the timing method, as on a GPU. Decision note: `docs/model/systolic.md`.

use mlsim_hw::Target;
use mlsim_quant::Dtype;

use crate::rates::rates;
use crate::terms::{KernelCost, LevelTimes, ModelDetail, SystolicDetail};

/// Index of the scratchpad (the level before HBM; HBM itself when the chip
/// lists one level).
fn scratchpad(t: &Target<'_>) -> usize {
    t.chip.memory.len().saturating_sub(2)
}

fn bandwidth(t: &Target<'_>, i: usize) -> f64 {
    let level = &t.chip.memory[i];
    level.bandwidth_bytes_per_s
        * t.stack
            .memory_share(&level.name, i + 1 == t.chip.memory.len())
}

fn floor_s(t: &Target<'_>) -> f64 {
    let hbm = t.chip.main_memory();
    t.stack.kernel.fixed_s + hbm.latency_cycles / t.chip.frequency_hz
}

/// Predict `batch` independent `m x n x k` GEMMs in `dtype` as one kernel.
pub fn gemm(t: &Target<'_>, m: u64, n: u64, k: u64, batch: u64, dtype: Dtype) -> KernelCost {
    let chip = t.chip;
    let p = rates(t, dtype);
    let edge = chip.compute.systolic_edge.max(1.0);
    let e = edge as u64;
    let arrays = f64::from(chip.compute.units);
    let b = dtype.bytes_per_element();
    let b_out = p.output_bytes;
    let (mf, nf, kf, bf) = (m as f64, n as f64, k as f64, batch as f64);

    let k_tiles = k.div_ceil(e) as f64;
    let n_tiles = n.div_ceil(e) as f64;
    let passes = k_tiles * n_tiles * bf;
    let rounds = (passes / arrays).ceil();
    let pass_flops = 2.0 * edge * edge * (mf + edge);
    let compute_s = rounds * pass_flops / (p.rate_flops / arrays);
    let useful = 2.0 * mf * nf * kf * bf;

    let levels = chip.memory.len();
    let hbm = levels - 1;
    let pad = scratchpad(t);
    let operands = b * (mf * kf + kf * nf);
    let fits = pad < hbm && operands <= chip.memory[pad].size_bytes;
    let hbm_bytes = bf
        * if fits {
            operands + b_out * mf * nf
        } else {
            let (tm, tn) = crate::gpu::tiles(t, dtype)
                .first()
                .map_or((m, n), |&(r, c)| (u64::from(r), u64::from(c)));
            b * (mf * kf * n.div_ceil(tn) as f64 + kf * nf * m.div_ceil(tm) as f64)
                + b_out * mf * nf
        };
    let pad_bytes = bf * (b * (mf * kf * n_tiles + kf * nf) + 2.0 * 4.0 * mf * nf * k_tiles);
    let mut level_s = LevelTimes::zeros(levels);
    level_s.set(hbm, hbm_bytes / bandwidth(t, hbm));
    if pad < hbm {
        level_s.set(pad, pad_bytes / bandwidth(t, pad));
    }
    let conversion_s = bf * (mf * kf + kf * nf) * p.convert_flops_per_element / p.conversion_rate;
    KernelCost {
        compute_s,
        memory_s: 0.0,
        level_s,
        conversion_s,
        floor_s: floor_s(t),
        dram_bytes: hbm_bytes,
        requested_bytes: pad_bytes.max(hbm_bytes),
        serving_level: hbm,
        tile_efficiency: useful / (rounds * arrays * pass_flops),
        rate_flops: p.rate_flops,
        native: p.native,
        on_host: false,
        detail: ModelDetail::Systolic(SystolicDetail { passes, rounds }),
    }
    .with_levels(level_s)
}

/// A streaming op: its bytes from HBM, its FLOPs on the fp32 path.
pub fn stream(t: &Target<'_>, flops: f64, bytes: f64, dtype: Dtype) -> KernelCost {
    let p = rates(t, dtype);
    let hbm = t.chip.memory.len() - 1;
    let mut level_s = LevelTimes::zeros(t.chip.memory.len());
    level_s.set(hbm, bytes / bandwidth(t, hbm));
    KernelCost {
        compute_s: flops / rates(t, Dtype::Fp32).rate_flops,
        memory_s: 0.0,
        level_s,
        conversion_s: 0.0,
        floor_s: floor_s(t),
        dram_bytes: bytes,
        requested_bytes: bytes,
        serving_level: hbm,
        tile_efficiency: 1.0,
        rate_flops: p.rate_flops,
        native: p.native,
        on_host: false,
        detail: ModelDetail::Systolic(SystolicDetail {
            passes: 0.0,
            rounds: 0.0,
        }),
    }
    .with_levels(level_s)
}
