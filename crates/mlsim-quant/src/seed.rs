//! The original program's quantization formulas, kept as they were.
//!
//! These are the terms of the Python mlsim (paper DOI 10.5281/zenodo.19685708)
//! as specified in the project's docs: dequantization charged per FLOP, the
//! layout penalty on the dtype's own base runtime, scale storage read at the
//! chip's memory bandwidth, and the analytical crossover AI that ignores
//! compute throughput. They are reproduced exactly so that mlsim's own model
//! can be compared with them; they are not mlsim's model.

use crate::{Dtype, QuantCost};

/// Dequantization time (ms) as the original charged it: per FLOP,
/// `flops x fraction x cycles / frequency`.
///
/// Known defect (kept on purpose): it scales with FLOPs, not with the
/// elements loaded.
pub fn dequant_ms(flops: f64, cost: &QuantCost, frequency_hz: f64) -> f64 {
    flops * cost.dequant_fraction * cost.dequant_cycles_per_element / frequency_hz * 1e3
}

/// Layout-penalty time (ms): `base x (penalty - 1) x bytes_q / bytes_fp32`,
/// where `base_ms` is the dtype's own runtime.
pub fn layout_ms(base_ms: f64, cost: &QuantCost, dtype: Dtype) -> f64 {
    base_ms * (cost.layout_penalty - 1.0) / dtype.memory_reduction_vs_fp32()
}

/// Scale-storage time (ms): the scales (a share of the quantized bytes) read
/// at `bandwidth_bytes_per_s`.
pub fn scale_ms(
    bytes_fp32: f64,
    cost: &QuantCost,
    dtype: Dtype,
    bandwidth_bytes_per_s: f64,
) -> f64 {
    let bytes_q = bytes_fp32 / dtype.memory_reduction_vs_fp32();
    bytes_q * cost.scale_storage_fraction / bandwidth_bytes_per_s * 1e3
}

/// The original's analytical crossover arithmetic intensity:
/// `2(1 + 0.01 d) / (1 - l / r)`, with `d` = dequant fraction x cycles and
/// `r = reduction / ((1 + scale) l)`.
///
/// Returns `Some(0.0)` for fp32 (the baseline, as the original printed) and
/// `None` when `l / r >= 1` (the formula has no finite crossover). Known
/// flaw, stated by its author: it ignores compute throughput, so fp16 and
/// bf16 get the same value whatever the chip can do with them.
pub fn crossover_ai(dtype: Dtype, cost: &QuantCost) -> Option<f64> {
    if dtype == Dtype::Fp32 {
        return Some(0.0);
    }
    let d = cost.dequant_fraction * cost.dequant_cycles_per_element;
    let l = cost.layout_penalty;
    let r = dtype.memory_reduction_vs_fp32() / ((1.0 + cost.scale_storage_fraction) * l);
    let denominator = 1.0 - l / r;
    (denominator > 0.0).then(|| 2.0 * (1.0 + 0.01 * d) / denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(f: f64, c: f64, l: f64, s: f64) -> QuantCost {
        QuantCost {
            dequant_fraction: f,
            dequant_cycles_per_element: c,
            layout_penalty: l,
            scale_storage_fraction: s,
            accumulation_buffer: false,
        }
    }

    /// Values from the original program's crossover table (seed-crossover.csv),
    /// printed there to 6 significant digits.
    #[test]
    fn crossover_matches_original_outputs() {
        let cases = [
            (Dtype::Fp16, cost(0.15, 1.5, 1.02, 0.0), 4.17778),
            (Dtype::Bf16, cost(0.10, 1.2, 1.01, 0.0), 4.08695),
            (Dtype::Int8, cost(0.30, 3.0, 1.08, 0.03), 2.88429),
            (Dtype::Int4, cost(0.5, 5.0, 1.2, 0.06), 2.53337),
            (Dtype::Int8, cost(0.1, 1.0, 1.03, 0.02), 2.74446),
            (Dtype::Int4, cost(0.15, 1.5, 1.05, 0.03), 2.3361),
            (Dtype::Fp16, cost(0.02, 0.3, 1.0, 0.0), 4.00024),
        ];
        for (dtype, c, expected) in cases {
            let got = crossover_ai(dtype, &c).unwrap();
            assert!(
                (got - expected).abs() / expected < 5e-6,
                "{dtype}: {got} vs {expected}"
            );
        }
        assert_eq!(crossover_ai(Dtype::Fp32, &QuantCost::FREE), Some(0.0));
        // A layout penalty so large the formula has no crossover.
        assert_eq!(crossover_ai(Dtype::Fp16, &cost(0.0, 0.0, 1.5, 0.0)), None);
    }

    #[test]
    fn overhead_terms_by_hand() {
        // CPU fp16 on a 64^3 matmul (seed-crossover.csv row 3): 0.0337042286 ms.
        let c = cost(0.15, 1.5, 1.02, 0.0);
        // The fixture prints 9 significant digits: compare within 1e-8 relative.
        let rel = |a: f64, b: f64| (a - b).abs() / b;
        assert!(rel(dequant_ms(524_288.0, &c, 3.5e9), 0.033_704_228_6) < 1e-8);
        // Layout: base 0.000695356931 ms x 0.02 / 2.
        assert!(
            rel(
                layout_ms(0.000_695_356_931, &c, Dtype::Fp16),
                6.953_569_31e-6
            ) < 1e-8
        );
        // Scale: 49152 fp32 bytes -> 12288 int8 bytes x 0.03 at 50 GB/s.
        let s = scale_ms(49_152.0, &cost(0.3, 3.0, 1.08, 0.03), Dtype::Int8, 50e9);
        assert!(rel(s, 7.3728e-6) < 1e-12);
    }
}
