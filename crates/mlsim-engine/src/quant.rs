//! The quantization analysis: each dtype's runtime plus the original's
//! overhead terms, against fp32.

use mlsim_hw::Target;
use mlsim_quant::{Dtype, seed};
use mlsim_workload::{ElementwiseKind, Op, Workload};

use crate::predict;

/// One row of the analysis: a dtype for a workload on a chip.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QuantRow {
    /// Chip name.
    pub hardware: String,
    /// Workload name.
    pub workload: String,
    /// Dtype analysed.
    pub dtype: Dtype,
    /// Simulated runtime at this dtype's rate, ms.
    pub base_runtime_ms: f64,
    /// The original's dequantization term, ms.
    pub dequant_overhead_ms: f64,
    /// The original's layout term, ms.
    pub layout_overhead_ms: f64,
    /// The original's scale-storage term, ms.
    pub scale_overhead_ms: f64,
    /// Base plus the three terms, ms.
    pub adjusted_runtime_ms: f64,
    /// fp32 adjusted runtime over this one.
    pub speedup_vs_fp32: f64,
    /// The original's analytical crossover AI (`None`: the formula has no
    /// finite crossover).
    pub crossover_ai: Option<f64>,
    /// mlsim's verdict: adjusted runtime below fp32's (`None` for fp32).
    pub beneficial: Option<bool>,
    /// The original's verdict: the workload's AI (as it computed it) at or
    /// above the crossover AI.
    pub original_verdict: bool,
}

/// Analyse `workload` (its FLOPs and shape; the dtype is varied) on `chip`
/// for fp32 and every dtype the chip has quantization costs for.
pub fn analyse(t: &Target<'_>, workload: &Workload) -> Vec<QuantRow> {
    let chip = t.chip;
    let fp32 = workload.with_dtype(Dtype::Fp32);
    let bytes_fp32 = fp32.bytes();
    let seed_ai = fp32.seed_arithmetic_intensity();
    let bandwidth = chip.main_memory().bandwidth_bytes_per_s;
    let dtypes =
        std::iter::once(Dtype::Fp32).chain(chip.quantization.keys().filter(|d| *d != Dtype::Fp32));
    let mut rows: Vec<QuantRow> = dtypes
        .map(|dtype| {
            let w = workload.with_dtype(dtype);
            let base = predict(t, &w).runtime_ms;
            let (dequant, layout, scale, crossover) = match chip.quantization.get(dtype) {
                Some(cost) if dtype != Dtype::Fp32 => (
                    seed::dequant_ms(w.flops(), cost, chip.frequency_hz),
                    seed::layout_ms(base, cost, dtype),
                    seed::scale_ms(bytes_fp32, cost, dtype, bandwidth),
                    seed::crossover_ai(dtype, cost),
                ),
                _ => (0.0, 0.0, 0.0, Some(0.0)),
            };
            QuantRow {
                hardware: chip.name.clone(),
                workload: workload.name.clone(),
                dtype,
                base_runtime_ms: base,
                dequant_overhead_ms: dequant,
                layout_overhead_ms: layout,
                scale_overhead_ms: scale,
                adjusted_runtime_ms: base + dequant + layout + scale,
                speedup_vs_fp32: f64::NAN, // filled below
                crossover_ai: crossover,
                beneficial: None,
                original_verdict: crossover.is_some_and(|c| seed_ai >= c),
            }
        })
        .collect();
    let fp32_ms = rows[0].adjusted_runtime_ms;
    for row in &mut rows {
        row.speedup_vs_fp32 = fp32_ms / row.adjusted_runtime_ms;
        if row.dtype != Dtype::Fp32 {
            row.beneficial = Some(row.adjusted_runtime_ms < fp32_ms);
        }
    }
    rows
}

/// The six workloads the original analysed: square matmuls of 64, 512 and
/// 4096, the llm suite's causal attention, a 3x3 64-channel convolution at
/// 56x56, and GeLU over 2^20 elements (all fp32 as the baseline).
pub fn standard_workloads() -> Vec<Workload> {
    let mk = |name: &str, op: Op| Workload::new(name, op, Dtype::Fp32).expect("valid shape");
    vec![
        mk("MatMul 64x64x64", Op::matmul(64, 64, 64)),
        mk("MatMul 512x512x512", Op::matmul(512, 512, 512)),
        mk("MatMul 4096x4096x4096", Op::matmul(4096, 4096, 4096)),
        mk(
            "Attention S=512",
            Op::Attention {
                batch: 1,
                heads: 32,
                seq: 512,
                head_dim: 128,
                causal: true,
            },
        ),
        mk(
            "Conv 3x3 64",
            Op::Conv2d {
                batch: 1,
                c_in: 64,
                h: 56,
                w: 56,
                c_out: 64,
                kh: 3,
                kw: 3,
                stride: 1,
                padding: 0,
            },
        ),
        mk(
            "GeLU 1M",
            Op::Elementwise {
                n: 1 << 20,
                kind: ElementwiseKind::Gelu,
            },
        ),
    ]
}
