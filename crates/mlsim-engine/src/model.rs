//! A transformer inference step on a chip: each op of
//! `mlsim_workload::transformer::ops` timed, and the totals.
//!
//! Per op, one kernel of `floor + max(compute + dequantization, memory)`
//! costed by the target's timing method (the host's share; the original's
//! model: `launch + ...`), where
//! - compute comes from the chip's model for the GEMM in the scheme's
//!   compute (activation) dtype: on a `gpu` chip the tiled model's compute
//!   time (tiles and waves included); elsewhere FLOPs over the dtype's peak
//!   x efficiency;
//! - memory is the op's bytes (weights, activations and KV cache each in
//!   its own dtype) over main-memory bandwidth;
//! - dequantization is charged only where the weights' dtype differs from
//!   the compute dtype (weight-only schemes such as w4a16): one fp32
//!   operation per weight element loaded, at the chip's fp32 rate; a tile
//!   loads each weight once per 128 rows of tokens.
//!
//! Elementwise ops (norms, activation, embedding lookup) are memory passes.

use mlsim_hw::Target;
use mlsim_quant::Dtype;
use mlsim_roofline::Bound;
use mlsim_workload::transformer::{ModelConfig, ModelOp, OpShape, Phase, Scheme, ops};

use crate::gpu;

/// GEMMs with fewer rows than this are timed without tile padding.
pub const SKINNY_ROWS: u64 = 64;

/// Rows of tokens per weight-tile load (a typical M tile): weights are
/// dequantized once per such block.
pub const DEQUANT_ROWS: u64 = 128;

/// One op's prediction.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OpTime {
    /// The op and its costs.
    #[serde(flatten)]
    pub op: ModelOp,
    /// FLOPs per byte of one run.
    pub arithmetic_intensity: f64,
    /// Time of all `count` runs, ms.
    pub time_ms: f64,
    /// Which side limits it.
    pub bound: Bound,
    /// Share of the step's time.
    pub share: f64,
}

/// A whole inference step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepPrediction {
    /// Model name.
    pub model: String,
    /// Chip name.
    pub hardware: String,
    /// Phase and sizes.
    pub phase: Phase,
    /// Precision scheme.
    pub scheme: Scheme,
    /// Every op.
    pub ops: Vec<OpTime>,
    /// Time of the step, ms (a whole prompt in prefill, one token per
    /// sequence in decode).
    pub step_ms: f64,
    /// Tokens per second (prompt tokens in prefill, generated tokens in
    /// decode, over all sequences).
    pub tokens_per_s: f64,
    /// Weight bytes.
    pub weight_bytes: f64,
    /// KV-cache bytes at the end of the step.
    pub kv_cache_bytes: f64,
    /// Main-memory capacity, bytes.
    pub memory_capacity_bytes: f64,
    /// Whether weights and KV cache fit in main memory.
    pub fits: bool,
    /// Whether the compute dtype has a native path on the chip.
    pub native: bool,
}

/// Effective compute rate of `dtype` on a target (FLOP/s): the GPU model's
/// path rate (datasheet at the sustained clock x the stack's share), else
/// the chip's peak x efficiency.
fn rate(t: &Target<'_>, dtype: Dtype) -> f64 {
    match gpu::path_rates(t, dtype) {
        Some(p) => p.rate_flops,
        None => t.chip.peak_flops(dtype) * t.chip.compute.efficiency,
    }
}

fn time_op(t: &Target<'_>, op: &ModelOp, scheme: &Scheme) -> (f64, Bound) {
    let chip = t.chip;
    let dram = chip.main_memory();
    let bandwidth = dram.bandwidth_bytes_per_s * t.stack.memory_share(&dram.name, true);
    let compute_dtype = scheme.activations;
    let memory_s = op.bytes() / bandwidth;
    let (compute_s, dequant_s, floor_s) = match op.shape {
        OpShape::Gemm { batch, m, n, k } => {
            // Skinny GEMMs (decode: a few rows per sequence) run on
            // weight-streaming GEMV-style kernels in serving engines: no
            // 64-256-row tile of padded work. (torch.mm pads: see
            // docs/model/tiles-and-waves.md; its measurements are what the
            // tiled model is validated on.)
            let tiled = gpu::gemm(t, m, n, k, batch, compute_dtype);
            let compute = match tiled {
                Some(g) if m >= SKINNY_ROWS => g.compute_s,
                _ => op.flops / rate(t, compute_dtype),
            };
            // Each weight element is dequantized every time a tile loads it:
            // once per 128-row block of tokens (a typical M tile), so the
            // cost grows with the batch while the bytes saved do not.
            let dequant = if scheme.weight_only() && op.weight_bytes > 0.0 {
                (k * n) as f64 * m.div_ceil(DEQUANT_ROWS) as f64 / rate(t, Dtype::Fp32)
            } else {
                0.0
            };
            (compute, dequant, tiled.map_or(0.0, |g| g.floor_s))
        }
        OpShape::Elementwise { .. } => {
            let floor = gpu::roofline_terms(t, op.flops, op.bytes(), Dtype::Fp32)
                .map_or(0.0, |g| g.floor_s);
            (op.flops / rate(t, Dtype::Fp32), 0.0, floor)
        }
    };
    // Dequantization is ALU work beside the tensor cores' and overlaps the
    // memory stream like the rest of the compute.
    let busy = (compute_s + dequant_s).max(memory_s);
    let bound = if memory_s > compute_s + dequant_s {
        Bound::Memory
    } else {
        Bound::Compute
    };
    let per_run_s = if t.is_gpu() {
        t.call_s(compute_dtype, floor_s + busy)
    } else {
        chip.launch_overhead_s(compute_dtype) + busy
    };
    (per_run_s * op.count as f64 * 1e3, bound)
}

/// Predict one inference step.
pub fn predict_step(
    t: &Target<'_>,
    cfg: &ModelConfig,
    phase: Phase,
    scheme: &Scheme,
) -> StepPrediction {
    let list = ops(cfg, phase, scheme);
    let mut timed: Vec<OpTime> = list
        .into_iter()
        .map(|op| {
            let (time_ms, bound) = time_op(t, &op, scheme);
            let bytes = op.bytes();
            OpTime {
                arithmetic_intensity: if bytes > 0.0 { op.flops / bytes } else { 0.0 },
                op,
                time_ms,
                bound,
                share: 0.0,
            }
        })
        .collect();
    let step_ms: f64 = timed.iter().map(|o| o.time_ms).sum();
    for o in &mut timed {
        o.share = o.time_ms / step_ms;
    }
    let (batch, tokens, context) = match phase {
        Phase::Prefill { batch, prompt } => (batch, batch * prompt, prompt),
        Phase::Decode { batch, context } => (batch, batch, context),
    };
    let weight_bytes = cfg.parameters() * scheme.weights.bytes_per_element();
    let kv_cache_bytes = cfg.kv_bytes_per_token(scheme.kv) * (batch * context) as f64;
    let chip = t.chip;
    let capacity = chip.main_memory().size_bytes;
    StepPrediction {
        model: cfg.name.clone(),
        hardware: chip.name.clone(),
        phase,
        scheme: scheme.clone(),
        ops: timed,
        step_ms,
        tokens_per_s: tokens as f64 / (step_ms / 1e3),
        weight_bytes,
        kv_cache_bytes,
        memory_capacity_bytes: capacity,
        fits: weight_bytes + kv_cache_bytes <= capacity,
        native: chip.is_native(scheme.activations),
    }
}

/// The fastest scheme for one op or the whole step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Choice {
    /// Op name, or `model` for the whole step.
    pub op: String,
    /// The fastest scheme.
    pub scheme: String,
    /// Its time, ms.
    pub time_ms: f64,
    /// The baseline scheme's time over this one's.
    pub speedup: f64,
    /// Whether the chosen scheme's compute dtype has a native path.
    pub native: bool,
}

/// Where the whole-model recommendation changes with the batch size.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BatchSwitch {
    /// The first batch size at which `scheme` is the fastest.
    pub from_batch: u64,
    /// The scheme.
    pub scheme: String,
}

/// Per-op and whole-model recommendations.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recommendation {
    /// The baseline scheme speedups are measured against.
    pub baseline: String,
    /// Per op, then `model`.
    pub choices: Vec<Choice>,
    /// The whole-model recommendation over batch sizes 1 to `max_batch`.
    pub switches: Vec<BatchSwitch>,
}

fn fastest<'a>(times: impl Iterator<Item = (&'a Scheme, f64)>) -> (&'a Scheme, f64) {
    times
        .fold(None, |best: Option<(&Scheme, f64)>, (s, t)| match best {
            Some((_, bt)) if bt <= t => best,
            _ => Some((s, t)),
        })
        .expect("at least one scheme")
}

/// Recommend a scheme per op and for the model at `phase`, and find the
/// batch sizes (1 to `max_batch`, integer bisection between powers of two)
/// where the whole-model choice changes. `schemes[0]` is the baseline.
pub fn recommend(
    target: &Target<'_>,
    cfg: &ModelConfig,
    phase: Phase,
    schemes: &[Scheme],
    max_batch: u64,
) -> Recommendation {
    let steps: Vec<StepPrediction> = schemes
        .iter()
        .map(|s| predict_step(target, cfg, phase, s))
        .collect();
    let baseline = &steps[0];
    let mut choices = Vec::new();
    for (i, op) in baseline.ops.iter().enumerate() {
        let (s, t) = fastest(schemes.iter().zip(steps.iter().map(|st| st.ops[i].time_ms)));
        choices.push(Choice {
            op: op.op.name.to_string(),
            scheme: s.name.clone(),
            time_ms: t,
            speedup: op.time_ms / t,
            native: target.chip.is_native(s.activations),
        });
    }
    let (s, t) = fastest(schemes.iter().zip(steps.iter().map(|st| st.step_ms)));
    choices.push(Choice {
        op: "model".into(),
        scheme: s.name.clone(),
        time_ms: t,
        speedup: baseline.step_ms / t,
        native: target.chip.is_native(s.activations),
    });
    let with_batch = |b: u64| match phase {
        Phase::Prefill { prompt, .. } => Phase::Prefill { batch: b, prompt },
        Phase::Decode { context, .. } => Phase::Decode { batch: b, context },
    };
    let best_at = |b: u64| {
        let times = schemes
            .iter()
            .map(|s| (s, predict_step(target, cfg, with_batch(b), s).step_ms));
        fastest(times).0.name.clone()
    };
    let mut switches = vec![BatchSwitch {
        from_batch: 1,
        scheme: best_at(1),
    }];
    let mut lo = 1;
    while lo < max_batch {
        let hi = (lo * 2).min(max_batch);
        let at_hi = best_at(hi);
        if at_hi != switches.last().expect("non-empty").scheme {
            // Bisect for the first batch size choosing something new.
            let (mut a, mut b) = (lo, hi);
            while b - a > 1 {
                let mid = a + (b - a) / 2;
                if best_at(mid) == switches.last().expect("non-empty").scheme {
                    a = mid
                } else {
                    b = mid
                }
            }
            switches.push(BatchSwitch {
                from_batch: b,
                scheme: best_at(b),
            });
            if switches.last().expect("non-empty").scheme != at_hi {
                switches.push(BatchSwitch {
                    from_batch: hi,
                    scheme: at_hi,
                });
            }
        }
        lo = hi;
    }
    Recommendation {
        baseline: schemes[0].name.clone(),
        choices,
        switches,
    }
}
