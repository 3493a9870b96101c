//! The clock each native path sustains under a long GEMM, from datasheet
//! clocks and power (docs/model/sustained-clock.md).
//!
//! Two datasheet facts and one assumption:
//!
//! - the base clock is the clock a vendor guarantees within the power limit
//!   under the heaviest sustained load; on a GPU that is dense matrix math
//!   on the tensor units, which switch the most operand bits per cycle;
//! - the boost clock is the highest clock the part runs when power allows;
//! - dynamic power grows as `f V^2` with the voltage rising in proportion
//!   to the clock over the boost range, so as `f^3`, and at a given clock
//!   in proportion to the operand bits a path processes per cycle
//!   (its per-clock FLOP rate times its element width).
//!
//! A path whose per-cycle bit rate is a share `a` of the heaviest path's
//! then meets the power limit at `base x a^(-1/3)`, and sustains
//! `min(boost, base x a^(-1/3))`. Every dense tensor-core path of a GPU
//! processes the same bits per cycle (fp8 runs twice fp16's FLOPs on half
//! the bits), so they all sustain the base clock; a vector (SIMT) fp32
//! path processes far fewer and runs faster, up to boost. A chip file
//! without a base clock or a power limit states no power cap: its paths
//! run at boost.

use mlsim_quant::{Dtype, DtypeMap};

use crate::chip::{ClockSource, ComputePath, PathKind, PowerCap};

/// Operand bits a path processes per cycle (per chip; SM counts cancel in
/// the ratios): FLOPs per cycle at the peak clock times element width.
pub(crate) fn bits_per_cycle(peak_flops: f64, peak_clock_hz: f64, dtype: Dtype) -> f64 {
    peak_flops / peak_clock_hz * f64::from(dtype.element_bits())
}

/// The sustained clock of a kernel processing `bits` per cycle, when the
/// heaviest path processes `heaviest` and the base clock holds it at the
/// power limit.
pub fn sustained_clock_hz(bits: f64, heaviest: f64, base_hz: f64, boost_hz: f64) -> f64 {
    let share = (bits / heaviest).clamp(f64::MIN_POSITIVE, 1.0);
    (base_hz * share.powf(-1.0 / 3.0)).min(boost_hz)
}

/// Set every native rate's activity (bits per cycle) and, where the chip
/// file states no sustained clock, its clock source and its clock at full
/// activity; return the chip's power cap (`None` without a base clock and
/// a power limit: paths run at boost).
pub(crate) fn derive_sustained_clocks(
    paths: &mut DtypeMap<ComputePath>,
    boost_hz: f64,
    base_hz: Option<f64>,
    power_limit_w: Option<f64>,
) -> Option<PowerCap> {
    for d in Dtype::ALL {
        if let Some(PathKind::Native {
            peak_clock_hz,
            rate,
            half_accumulate,
        }) = paths.get_mut(d).map(|p| &mut p.kind)
        {
            let clock = *peak_clock_hz;
            for r in std::iter::once(rate).chain(half_accumulate.iter_mut()) {
                r.bits_per_cycle = bits_per_cycle(r.peak_flops, clock, d);
            }
        }
    }
    let heaviest = Dtype::ALL
        .into_iter()
        .filter_map(|d| match paths.get(d).map(|p| &p.kind) {
            Some(PathKind::Native {
                rate,
                half_accumulate,
                ..
            }) => Some(
                rate.bits_per_cycle
                    .max(half_accumulate.map_or(0.0, |h| h.bits_per_cycle)),
            ),
            _ => None,
        })
        .fold(0.0_f64, f64::max);
    let cap = match (base_hz, power_limit_w) {
        (Some(base), Some(_)) if heaviest > 0.0 => Some(PowerCap {
            base_hz: base.min(boost_hz),
            heaviest_bits_per_cycle: heaviest,
        }),
        _ => None,
    };
    for d in Dtype::ALL {
        let Some(PathKind::Native {
            rate,
            half_accumulate,
            ..
        }) = paths.get_mut(d).map(|p| &mut p.kind)
        else {
            continue;
        };
        for r in std::iter::once(rate).chain(half_accumulate.iter_mut()) {
            if r.clock_source == ClockSource::Given {
                continue;
            }
            match cap {
                Some(c) => {
                    r.sustained_clock_hz = sustained_clock_hz(
                        r.bits_per_cycle,
                        c.heaviest_bits_per_cycle,
                        c.base_hz,
                        boost_hz,
                    );
                    r.clock_source = ClockSource::PowerModel;
                }
                None => {
                    r.sustained_clock_hz = boost_hz;
                    r.clock_source = ClockSource::Boost;
                }
            }
        }
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heaviest_path_sustains_base_and_lighter_ones_more_up_to_boost() {
        // T4: fp16 tensor 65 TFLOP/s and fp32 SIMT 8.1 TFLOP/s at 1.59 GHz,
        // base 0.585 GHz. fp16: 65e12 / 1.59e9 x 16 bits; fp32: 8.1e12 /
        // 1.59e9 x 32 bits, a share of 8.1 x 32 / (65 x 16) = 0.2492.
        let fp16 = bits_per_cycle(65e12, 1.59e9, Dtype::Fp16);
        let fp32 = bits_per_cycle(8.1e12, 1.59e9, Dtype::Fp32);
        assert_eq!(sustained_clock_hz(fp16, fp16, 0.585e9, 1.59e9), 0.585e9);
        // 0.585 x 0.2492^(-1/3) = 0.585 x 1.5886 = 0.9293 GHz (by hand).
        let f = sustained_clock_hz(fp32, fp16, 0.585e9, 1.59e9);
        assert!((f / 1e9 - 0.9293).abs() < 1e-3, "{f}");
        // A sixty-fourth of the bits: 4 x base = 2.34 GHz, above boost.
        assert_eq!(
            sustained_clock_hz(fp16 / 64.0, fp16, 0.585e9, 1.59e9),
            1.59e9
        );
        // A kernel doing half the heaviest path's work per cycle: 0.585 x
        // 2^(1/3) = 0.7371 GHz.
        let half = sustained_clock_hz(fp16 * 0.5, fp16, 0.585e9, 1.59e9);
        assert!((half / 1e9 - 0.7371).abs() < 1e-3, "{half}");
    }
}
