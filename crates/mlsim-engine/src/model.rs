//! A transformer inference step on a chip: each op of
//! `mlsim_workload::transformer::ops` timed, and the totals.
//!
//! Per op, the kernel the chip's model gives for its shape in the scheme's
//! compute (activation) dtype, the kernel `mlsim sim` predicts for the
//! same shape (one path through the engine: [`crate::gemm_kernel`]), with
//! - memory time scaled to the op's own bytes (weights, activations and KV
//!   cache each in its own dtype), the same time when the scheme uses one
//!   dtype;
//! - dequantization is charged only where the weights' dtype differs from
//!   the compute dtype (weight-only schemes such as w4a16 and w4a8): the
//!   stack's `[dequantize]` operations per weight element loaded (a
//!   block-scaled format's scale included), at the chip's fp32 rate; a
//!   tile loads each weight once per 128 rows of tokens. Where both
//!   formats are floats of at most 8 bits with native paths (w4a8 on
//!   Blackwell and CDNA 4, whose fp8/fp6/fp4 MMA instructions take the two
//!   operands in different formats), the tensor cores take the weights as
//!   they are: no conversion, at the compute format's rate.
//!
//! Elementwise ops (norms, activation, embedding lookup) are memory passes
//! through the model's streaming kernel. The call is costed by the target's
//! timing method ([`crate::call_s`]). Chips on the original's model, which
//! has no kernel terms, get FLOPs at the dtype's rate against bytes at
//! main-memory bandwidth, plus their launch cost.

use mlsim_hw::Target;
use mlsim_quant::Dtype;
use mlsim_roofline::Bound;
use mlsim_workload::transformer::{ModelConfig, ModelOp, OpShape, Phase, Scheme, ops};

/// GEMMs with fewer rows than this run on GEMV-style kernels in serving
/// engines: timed without tile padding.
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

/// Effective compute rate of `dtype` on a target (FLOP/s): its path's
/// rate at the stack's share (the original's model: peak x efficiency).
fn rate(t: &Target<'_>, dtype: Dtype) -> f64 {
    if t.uses_stack() {
        crate::rates::rates(t, dtype).rate_flops
    } else {
        t.chip.peak_flops(dtype) * t.chip.compute.efficiency
    }
}

fn time_op(t: &Target<'_>, op: &ModelOp, scheme: &Scheme) -> (f64, Bound) {
    let compute_dtype = scheme.activations;
    if !t.uses_stack() {
        // The original's model has no kernel terms: the op's FLOPs at the
        // dtype's rate against its bytes at main-memory bandwidth, plus the
        // chip's launch cost (its own rule, kept as it was).
        let memory_s = op.bytes() / t.chip.main_memory().bandwidth_bytes_per_s;
        let compute_s = op.flops / rate(t, compute_dtype);
        let bound = if memory_s > compute_s {
            Bound::Memory
        } else {
            Bound::Compute
        };
        let per_run_s = t.chip.launch_overhead_s(compute_dtype) + compute_s.max(memory_s);
        return (per_run_s * op.count as f64 * 1e3, bound);
    }
    // mlsim's models: the kernel the chip's model gives for the op's shape
    // in the compute dtype (what `mlsim sim` runs), its memory time scaled
    // to the op's own bytes (weights, activations and KV cache each in its
    // dtype; the same bytes when the scheme uses one dtype).
    let (kernel, own_bytes) = match op.shape {
        OpShape::Gemm { batch, m, n, k } => {
            let b = compute_dtype.bytes_per_element();
            let (mf, nf, kf) = (m as f64, n as f64, k as f64);
            (
                crate::gemm_kernel(t, m, n, k, batch, compute_dtype),
                batch as f64 * b * (mf * kf + kf * nf + mf * nf),
            )
        }
        // A model's elementwise op (a norm, an activation, the embedding
        // lookup) writes its n outputs as stored activations, with plain
        // stores.
        OpShape::Elementwise { n } => (
            crate::stream_kernel(
                t,
                op.flops,
                op.bytes(),
                n as f64 * scheme.activation_storage().bytes_per_element(),
                compute_dtype,
            ),
            op.bytes(),
        ),
    };
    let mut kernel = kernel.expect("chips on mlsim's models have compute rates");
    // Skinny GEMMs (decode: a few rows per sequence) run on serving
    // engines' weight-streaming GEMV kernels: no 64-256-row tile of padded
    // work and no K loop of tile round trips, so their compute is their
    // FLOPs at the path's rate (torch.mm pads: docs/model/tiles-and-waves.md;
    // `mlsim sim` predicts torch.mm, and agrees with this from 64 rows on).
    if let OpShape::Gemm { m, .. } = op.shape
        && m < SKINNY_ROWS
    {
        kernel.compute_s = op.flops / rate(t, compute_dtype);
    }
    if own_bytes > 0.0 && op.bytes() != own_bytes {
        let ratio = op.bytes() / own_bytes;
        kernel = kernel.with_levels(kernel.level_s.scaled(ratio));
        kernel.dram_bytes *= ratio;
    }
    // Each weight element is dequantized every time a tile loads it: once
    // per 128-row block of tokens (a typical M tile), so the cost grows
    // with the batch while the bytes saved do not. Dequantization is ALU
    // work beside the matrix units' and overlaps the memory stream.
    if let OpShape::Gemm { m, n, k, .. } = op.shape
        && scheme.weight_only()
        && op.weight_bytes > 0.0
        && !mixed_format_mma(t.chip, scheme)
    {
        kernel.compute_s += (k * n) as f64
            * m.div_ceil(DEQUANT_ROWS) as f64
            * t.stack.dequantize_flops(scheme.weights)
            / rate(t, Dtype::Fp32);
    }
    let bound = if kernel.memory_bound() {
        Bound::Memory
    } else {
        Bound::Compute
    };
    let per_run_s = crate::call_s(t, compute_dtype, &kernel);
    (per_run_s * op.count as f64 * 1e3, bound)
}

/// Whether the chip's matrix units take the scheme's weights and
/// activations in their own formats in one instruction: both fp8, fp6 or
/// fp4, plain or MX-scaled, with native paths, as Blackwell's
/// `kind::mxf8f6f4` and CDNA 4's scaled MFMA do (NVFP4's E4M3 block scales
/// do not mix with another format there).
fn mixed_format_mma(chip: &mlsim_hw::Chip, scheme: &Scheme) -> bool {
    [scheme.weights, scheme.activations].iter().all(|&d| {
        d.float_fields().is_some()
            && d.element_bits() <= 8
            && d.block_scaling()
                .is_none_or(|s| s.scale == mlsim_quant::ScaleFormat::E8m0)
            && chip.has_native_path(d)
    })
}

/// `scheme` as it runs on `chip`: its fp8 formats in the chip's own fp8
/// variant (an MI300X's "fp8" is FNUZ E4M3), the name kept.
pub fn scheme_on(chip: &mlsim_hw::Chip, scheme: &Scheme) -> Scheme {
    Scheme {
        name: scheme.name.clone(),
        weights: chip.own_fp8_variant(scheme.weights),
        activations: chip.own_fp8_variant(scheme.activations),
        kv: chip.own_fp8_variant(scheme.kv),
    }
}

/// Predict one inference step.
pub fn predict_step(
    t: &Target<'_>,
    cfg: &ModelConfig,
    phase: Phase,
    scheme: &Scheme,
) -> StepPrediction {
    let scheme = &scheme_on(t.chip, scheme);
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
        native: t.is_native(scheme.activations),
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

/// One scheme's whole step on one chip: speed, and energy and cost per
/// token (output tokens in decode, prompt tokens in prefill).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SchemeCost {
    /// The scheme (as run on the chip).
    pub scheme: String,
    /// The step's time, ms.
    pub step_ms: f64,
    /// Tokens a second on the chip.
    pub tokens_per_s: f64,
    /// Joules a token (`energy::step_joules` over the step's tokens);
    /// `None` for a chip file without `[power]`.
    pub joules_per_token: Option<f64>,
    /// Dollars a million tokens at the given price of the chip an hour:
    /// price / 3600 / tokens a second x 1e6; `None` without a price.
    pub usd_per_million_tokens: Option<f64>,
    /// Whether weights and KV cache fit in the chip's memory.
    pub fits: bool,
    /// Whether the scheme's compute dtype has a native path.
    pub native: bool,
}

impl SchemeCost {
    /// The costs of `step` on `chip`, at `usd_per_hour` a chip-hour.
    pub fn of(chip: &mlsim_hw::Chip, step: &StepPrediction, usd_per_hour: Option<f64>) -> Self {
        let tokens_per_step = step.tokens_per_s * step.step_ms / 1e3;
        Self {
            scheme: step.scheme.name.clone(),
            step_ms: step.step_ms,
            tokens_per_s: step.tokens_per_s,
            joules_per_token: crate::energy::step_joules(chip, step).map(|j| j / tokens_per_step),
            usd_per_million_tokens: usd_per_hour.map(|p| p / 3600.0 / step.tokens_per_s * 1e6),
            fits: step.fits,
            native: step.native,
        }
    }
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
    /// Every scheme's whole step at the given batch: time, tokens a
    /// second, joules and dollars a token.
    pub schemes: Vec<SchemeCost>,
}

/// The first of the fastest (ties keep the earlier, the baseline first).
fn fastest<'a, T>(times: impl Iterator<Item = (&'a T, f64)>) -> (&'a T, f64) {
    times
        .fold(None, |best: Option<(&T, f64)>, (s, t)| match best {
            Some((_, bt)) if bt <= t => best,
            _ => Some((s, t)),
        })
        .expect("at least one scheme")
}

/// Recommend a scheme per op and for the model at `phase`, and find the
/// batch sizes (1 to `max_batch`, integer bisection between powers of two)
/// where the whole-model choice changes; with every scheme's energy and
/// (at `usd_per_hour` a chip-hour) cost per token. `schemes[0]` is the
/// baseline.
pub fn recommend(
    target: &Target<'_>,
    cfg: &ModelConfig,
    phase: Phase,
    schemes: &[Scheme],
    max_batch: u64,
    usd_per_hour: Option<f64>,
) -> Recommendation {
    let steps: Vec<StepPrediction> = schemes
        .iter()
        .map(|s| predict_step(target, cfg, phase, s))
        .collect();
    let baseline = &steps[0];
    let mut choices = Vec::new();
    // Each step knows its scheme as run on the chip and whether it is native.
    for (i, op) in baseline.ops.iter().enumerate() {
        let (st, t) = fastest(steps.iter().map(|st| (st, st.ops[i].time_ms)));
        choices.push(Choice {
            op: op.op.name.to_string(),
            scheme: st.scheme.name.clone(),
            time_ms: t,
            speedup: op.time_ms / t,
            native: st.native,
        });
    }
    let (st, t) = fastest(steps.iter().map(|st| (st, st.step_ms)));
    choices.push(Choice {
        op: "model".into(),
        scheme: st.scheme.name.clone(),
        time_ms: t,
        speedup: baseline.step_ms / t,
        native: st.native,
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
        schemes: steps
            .iter()
            .map(|st| SchemeCost::of(target.chip, st, usd_per_hour))
            .collect(),
    }
}
