//! What a dtype's path gives a kernel on a target: the rate a library
//! reaches, whether it is native, the output width and the conversion an
//! emulated dtype pays. Shared by mlsim's models.

use mlsim_hw::{Chip, PathKind, Target};
use mlsim_quant::Dtype;

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
    /// Seconds of one core per element the library converts one at a time
    /// (an emulated path whose stack states `convert_cycles_per_element`),
    /// else `None`.
    pub scalar_convert_s: Option<f64>,
}

/// The rate, width and conversion cost of `dtype` on `t`: chip-level
/// calibrations first, then the stack's values. `None` for chips without
/// compute paths.
pub fn path_rates(t: &Target<'_>, dtype: Dtype) -> Option<PathRates> {
    let chip = t.chip;
    let (native_dtype, native_path, native) = t.resolve_path(dtype)?;
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
        scalar_convert_s: (!native)
            .then(|| t.stack.convert_cycles_per_element(dtype))
            .flatten()
            .map(|cycles| cycles / clock_hz),
        // An emulated path states its own conversion; a format without a
        // path of its own is dequantized by the library (its `[dequantize]`).
        // A library that computes a native dtype through another path
        // converts it as a format without a path of its own.
        convert_flops_per_element: match own {
            Some(p) if native_dtype != dtype && matches!(p.kind, PathKind::Native { .. }) => {
                t.stack.dequantize_flops(dtype)
            }
            Some(p) => p.convert_flops_per_element,
            None if native_dtype != dtype => t.stack.dequantize_flops(dtype),
            None => 0.0,
        },
    })
}

/// The fp32 path's peak rate at `clock_hz` (conversion work runs there).
fn fp32_flops_at(chip: &Chip, clock_hz: f64) -> Option<f64> {
    let (rate, peak_clock_hz) = chip.compute.paths.get(Dtype::Fp32)?.kind.rate(false)?;
    Some(rate.peak_flops * clock_hz / peak_clock_hz)
}

/// [`path_rates`] for any chip: a chip without compute paths (a CPU
/// described by `dtype_speedup`) runs `dtype` at fp32 peak x its multiplier
/// x the stack's share; it counts as native when the file gives it a
/// multiplier (or it is fp32).
///
/// A stack that computes `dtype` through another dtype (`runs_as`) runs it
/// at that dtype's rate, converting as an emulated path does: vectorised at
/// its `[dequantize]` cost on the fp32 lanes, or element by element at its
/// `convert_cycles_per_element`.
pub fn rates(t: &Target<'_>, dtype: Dtype) -> PathRates {
    path_rates(t, dtype).unwrap_or_else(|| {
        let chip = t.chip;
        let library_via = t.library_runs_as(dtype);
        let runs_in = library_via.unwrap_or(dtype);
        let converts = library_via.is_some();
        PathRates {
            rate_flops: chip.peak_flops(runs_in) * t.stack.efficiency(dtype),
            native: !converts
                && (dtype == Dtype::Fp32 || chip.compute.dtype_speedup.contains(dtype)),
            output_bytes: t.stack.output_bytes(dtype),
            conversion_rate: if converts {
                chip.compute.peak_fp32_flops
            } else {
                f64::INFINITY
            },
            convert_flops_per_element: if converts {
                t.stack.dequantize_flops(dtype)
            } else {
                0.0
            },
            scalar_convert_s: library_via
                .and_then(|_| t.stack.convert_cycles_per_element(dtype))
                .map(|cycles| cycles / chip.frequency_hz),
        }
    })
}
