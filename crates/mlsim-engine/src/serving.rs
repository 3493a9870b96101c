//! Serving a transformer on several chips of a system: tensor parallelism
//! (each layer's GEMMs split over `tp` chips, two all-reduces a layer),
//! pipeline parallelism (the layers in `pp` stages, micro-batches through
//! them), and the serving metrics of a batch: time to first token (the
//! prompt's prefill), time per output token (a decode step), end-to-end
//! latency, throughput per chip and KV-cache capacity, with data-parallel
//! replicas filling the system. Decision note: `docs/model/serving.md`.
//!
//! ```text
//! shard      heads, FFN width, vocabulary / tp; KV heads / tp (one each,
//!            replicated, when fewer than tp); latent attention: heads / tp, the
//!            latent projections and the latent KV cache whole on every chip;
//!            layers / pp (the largest stage, with as many layers of experts
//!            as the model has);
//!            a mixture of experts: experts / tp on each chip (expert
//!            parallelism, the shared experts whole) when tp divides them, else
//!            each expert split tp ways
//! stage      = step of the shard on one chip (model::predict_step)
//!              + layers x 2 all-reduces of tokens x d x activation bytes (tp > 1;
//!                expert parallelism: a layer of experts' FFN all-reduce becomes
//!                two all-to-alls of tokens x k x d x bytes / tp x imbalance a rank)
//!              + an all-gather of the logits, sequences x vocabulary x bytes
//! step       = pp x stage(batch / pp) + (pp - 1) x send(tokens x d x bytes)
//! TTFT       = prefill step (batch prompts);  TPOT = decode step at prompt + output / 2
//! replicas   = chips of the system / (tp x pp), rounded down, each with its batch
//! e2e        = TTFT + (output - 1) x TPOT;   throughput = replicas x batch / TPOT,
//!              per chip / the system's chips
//! energy     = chips x (prefill + (output - 1) x decode joules a chip) / (batch x output)
//!              (a chip: its stage's kernels at their power for each micro-batch,
//!              idle power the rest: energy.rs)
//! cost       = price a chip-hour x chips x e2e / (batch x output)
//! fits       weights / (tp pp) + KV of the batch at prompt + output <= chip memory
//! ```

use mlsim_hw::{System, Target};
use mlsim_workload::transformer::{ModelConfig, Phase, Scheme};

use crate::collectives::{Collective, Fabric, cost};
use crate::model::{predict_step, scheme_on};

/// How the model is split over chips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Parallelism {
    /// Tensor-parallel ways (chips sharing each layer).
    pub tp: u64,
    /// Pipeline stages.
    pub pp: u64,
}

impl Parallelism {
    /// Chips used.
    pub fn chips(self) -> u64 {
        self.tp * self.pp
    }
}

/// One chip's share of `cfg` under `par`, or why it cannot be split so.
pub fn shard(cfg: &ModelConfig, par: Parallelism) -> Result<ModelConfig, String> {
    let Parallelism { tp, pp } = par;
    if tp == 0 || pp == 0 {
        return Err("tp and pp are at least 1".into());
    }
    if !cfg.heads.is_multiple_of(tp) {
        return Err(format!("{} heads do not split over tp = {tp}", cfg.heads));
    }
    let kv_heads = if cfg.kv_heads >= tp {
        if !cfg.kv_heads.is_multiple_of(tp) {
            return Err(format!(
                "{} KV heads do not split over tp = {tp}",
                cfg.kv_heads
            ));
        }
        cfg.kv_heads / tp
    } else if tp.is_multiple_of(cfg.kv_heads) {
        1
    } else {
        return Err(format!(
            "{} KV heads are not replicated evenly over tp = {tp}",
            cfg.kv_heads
        ));
    };
    // A mixture of experts spreads its experts over the tp chips (expert
    // parallelism) when they divide evenly; otherwise, as a dense FFN,
    // each expert is split tp ways. Dense FFN layers (a dense model's, or
    // a mixture of experts' first layers) are split tp ways.
    let expert_parallel = expert_parallel(cfg, tp);
    let dense_ffn = cfg.dense_ffn_layers() > 0;
    if dense_ffn && !cfg.ffn_size.is_multiple_of(tp) {
        return Err(format!(
            "FFN width {} does not split over tp = {tp}",
            cfg.ffn_size
        ));
    }
    let expert_ffn = cfg.expert_ffn_size();
    if cfg.moe.is_some() && !expert_parallel && !expert_ffn.is_multiple_of(tp) {
        return Err(format!(
            "expert FFN width {expert_ffn} does not split over tp = {tp}"
        ));
    }
    if pp > cfg.layers {
        return Err(format!(
            "{} layers cannot fill pp = {pp} stages",
            cfg.layers
        ));
    }
    // The stage timed and sized is the largest, with as many layers of
    // experts as the model has (a later stage's, past the dense first
    // layers: the heaviest).
    let layers = cfg.layers.div_ceil(pp);
    Ok(ModelConfig {
        name: format!("{} (tp {tp}, pp {pp} shard)", cfg.name),
        heads: cfg.heads / tp,
        kv_heads,
        ffn_size: if dense_ffn {
            cfg.ffn_size / tp
        } else {
            cfg.ffn_size
        },
        vocab_size: cfg.vocab_size.div_ceil(tp),
        layers,
        moe: cfg.moe.map(|m| mlsim_workload::transformer::Moe {
            expert_shards: if expert_parallel { tp } else { 1 },
            expert_ffn_size: Some(if expert_parallel {
                expert_ffn
            } else {
                expert_ffn / tp
            }),
            dense_layers: layers - layers.min(cfg.moe_layers()),
            ..m
        }),
        ..cfg.clone()
    })
}

/// Whether `cfg`'s experts spread over `tp` chips, whole (a mixture of
/// experts whose expert count `tp` divides, tp > 1).
pub fn expert_parallel(cfg: &ModelConfig, tp: u64) -> bool {
    cfg.moe
        .is_some_and(|m| tp > 1 && m.experts.is_multiple_of(tp))
}

/// One step (prefill of the prompts or one decode step) on `par` chips.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepTime {
    /// The whole step, ms.
    pub step_ms: f64,
    /// Of which the kernels of one stage, per stage pass, ms.
    pub stage_compute_ms: f64,
    /// Of which tensor-parallel collectives, per stage pass, ms.
    pub stage_collective_ms: f64,
    /// Of those, the experts' all-to-alls (dispatch and combine, at the
    /// busiest chip's share), per stage pass, ms.
    pub stage_all_to_all_ms: f64,
    /// Of which sends between stages, ms.
    pub pipeline_send_ms: f64,
    /// Joules one chip spends on the step: its stage's kernels at their
    /// activity for each micro-batch, idle power the rest of the step
    /// (where the chip file has `[power]`).
    pub chip_joules: Option<f64>,
}

/// Time one step of `phase` (the whole batch) for `cfg` on `par` chips
/// of `system`, its chips predicted by `t`.
pub fn step(
    t: &Target<'_>,
    system: &System,
    cfg: &ModelConfig,
    par: Parallelism,
    phase: Phase,
    scheme: &Scheme,
) -> Result<StepTime, String> {
    let shard_cfg = shard(cfg, par)?;
    let fabric = |ranks: u64| {
        Fabric::of(system, u32::try_from(ranks).unwrap_or(u32::MAX))
            .ok_or_else(|| format!("{ranks} chips span nodes of a system without a network"))
    };
    if par.chips() > u64::from(system.chips()) {
        return Err(format!(
            "tp {} x pp {} = {} chips, more than the system's {}",
            par.tp,
            par.pp,
            par.chips(),
            system.chips()
        ));
    }
    // Micro-batches: the batch split over the stages.
    let (batch, tokens_each) = match phase {
        Phase::Prefill { batch, prompt } => (batch, prompt),
        Phase::Decode { batch, .. } => (batch, 1),
    };
    let micro = batch.div_ceil(par.pp).max(1);
    let micro_phase = match phase {
        Phase::Prefill { prompt, .. } => Phase::Prefill {
            batch: micro,
            prompt,
        },
        Phase::Decode { context, .. } => Phase::Decode {
            batch: micro,
            context,
        },
    };
    let stage = predict_step(t, &shard_cfg, micro_phase, scheme);
    let compute_ms = stage.step_ms;
    let act_bytes = scheme_on(t.chip, scheme)
        .activation_storage()
        .bytes_per_element();
    let tokens = (micro * tokens_each) as f64;
    let (collective_ms, all_to_all_ms) = if par.tp > 1 {
        let f = fabric(par.tp)?;
        let hidden = tokens * cfg.hidden_size as f64 * act_bytes;
        let all_reduce = cost(Collective::AllReduce, hidden, par.tp as u32, f).time_s;
        // After attention, an all-reduce; after the FFN, another, or with
        // the experts spread over the chips, an all-to-all sending each
        // token's k copies to their experts and one bringing them back
        // (each rank dispatching its 1/tp of the tokens; the busiest rank,
        // receiving `imbalance` times the mean, sets the time). Shared
        // experts then run on each rank's own tokens: nothing to send.
        let moe_ffn = match shard_cfg.moe {
            Some(m) if m.expert_shards > 1 => {
                let each = hidden * m.experts_per_token as f64 / par.tp as f64 * m.busiest();
                2.0 * cost(Collective::AllToAll, each, par.tp as u32, f).time_s
            }
            _ => all_reduce,
        };
        let dense = shard_cfg.dense_ffn_layers() as f64;
        let moe = shard_cfg.moe_layers() as f64;
        let layers = dense * (all_reduce + all_reduce) + moe * (all_reduce + moe_ffn);
        // The LM head scores each sequence's last token only.
        let logits = cost(
            Collective::AllGather,
            micro as f64 * cfg.vocab_size as f64 * act_bytes,
            par.tp as u32,
            f,
        )
        .time_s;
        let all_to_all = if shard_cfg.moe.is_some_and(|m| m.expert_shards > 1) {
            moe * moe_ffn
        } else {
            0.0
        };
        ((layers + logits) * 1e3, all_to_all * 1e3)
    } else {
        (0.0, 0.0)
    };
    let send_ms = if par.pp > 1 {
        let f = fabric(par.chips())?;
        let one =
            f.latency_s + tokens * cfg.hidden_size as f64 * act_bytes / f.bandwidth_bytes_per_s;
        (par.pp - 1) as f64 * one * 1e3
    } else {
        0.0
    };
    let step_ms = par.pp as f64 * (compute_ms + collective_ms) + send_ms;
    let chip_joules = crate::energy::step_joules(t.chip, &stage)
        .zip(t.chip.power)
        .map(|(j, p)| {
            let busy_ms = par.pp as f64 * compute_ms;
            par.pp as f64 * j + p.idle_w * (step_ms - busy_ms) / 1e3
        });
    Ok(StepTime {
        step_ms,
        stage_compute_ms: compute_ms,
        stage_collective_ms: collective_ms,
        stage_all_to_all_ms: all_to_all_ms,
        pipeline_send_ms: send_ms,
        chip_joules,
    })
}

/// A serving configuration and its metrics.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServingPoint {
    /// Precision scheme.
    pub scheme: String,
    /// Split.
    pub parallelism: Parallelism,
    /// Concurrent sequences.
    pub batch: u64,
    /// Prompt tokens per sequence.
    pub prompt: u64,
    /// Output tokens per sequence.
    pub output: u64,
    /// Time to first token (the batch's prefill), ms.
    pub ttft_ms: f64,
    /// Time per output token (a decode step at prompt + output / 2), ms.
    pub tpot_ms: f64,
    /// TTFT + (output - 1) x TPOT, ms.
    pub e2e_latency_ms: f64,
    /// Output tokens per second of one replica (tp x pp chips), all its
    /// sequences.
    pub output_tokens_per_s: f64,
    /// Data-parallel replicas of the split the system holds: its chips /
    /// (tp pp), rounded down; each serves its own batch.
    pub replicas: u64,
    /// Output tokens per second of every replica.
    pub system_output_tokens_per_s: f64,
    /// The system's output tokens per second over all its chips (chips
    /// no whole replica uses count, idle).
    pub output_tokens_per_s_per_chip: f64,
    /// Weight bytes on one chip.
    pub weight_bytes_per_chip: f64,
    /// KV-cache bytes one token adds on one chip: its KV heads', or with
    /// latent attention the whole latent (replicated on every tp chip).
    pub kv_bytes_per_token_per_chip: f64,
    /// KV-cache bytes on one chip for the batch at prompt + output.
    pub kv_bytes_per_chip: f64,
    /// The busiest chip's routed expert pairs over the mean, as this split
    /// applies it (`--moe-imbalance` up to the expert-parallel chips; 1
    /// when the experts are not spread); none for a dense model.
    pub moe_imbalance: Option<f64>,
    /// The prefill step's terms (TTFT).
    pub prefill_step: StepTime,
    /// The decode step's terms (TPOT).
    pub decode_step: StepTime,
    /// Sequences of prompt + output tokens whose KV cache fits next to
    /// the weights on each chip.
    pub max_sequences: u64,
    /// Whether the batch fits.
    pub fits: bool,
    /// Joules per output token, all chips, prefill included (where the
    /// chip file has `[power]`).
    pub joules_per_output_token: Option<f64>,
    /// Dollars per million output tokens at the given price per chip-hour,
    /// for the whole request time.
    pub usd_per_million_output_tokens: Option<f64>,
}

/// Serve `batch` sequences of `prompt` + `output` tokens of `cfg` on `par`
/// chips of `system`.
#[allow(clippy::too_many_arguments)]
pub fn serve(
    t: &Target<'_>,
    system: &System,
    cfg: &ModelConfig,
    par: Parallelism,
    scheme: &Scheme,
    batch: u64,
    prompt: u64,
    output: u64,
    usd_per_chip_hour: Option<f64>,
) -> Result<ServingPoint, String> {
    if batch == 0 || prompt == 0 || output == 0 {
        return Err("batch, prompt and output are at least 1".into());
    }
    let on_chip = scheme_on(t.chip, scheme);
    let shard_cfg = shard(cfg, par)?;
    let prefill = step(
        t,
        system,
        cfg,
        par,
        Phase::Prefill { batch, prompt },
        scheme,
    )?;
    let decode = step(
        t,
        system,
        cfg,
        par,
        Phase::Decode {
            batch,
            context: prompt + output / 2,
        },
        scheme,
    )?;
    let weights = shard_cfg.parameters() * on_chip.weights.bytes_per_element();
    let kv_per_token = shard_cfg.kv_bytes_per_token(on_chip.kv);
    let kv_per_sequence = kv_per_token * (prompt + output) as f64;
    let capacity = t.chip.main_memory().size_bytes;
    let max_sequences = if capacity > weights {
        ((capacity - weights) / kv_per_sequence).floor() as u64
    } else {
        0
    };
    let throughput = batch as f64 / (decode.step_ms / 1e3);
    let replicas = u64::from(system.chips()) / par.chips();
    let system_throughput = replicas as f64 * throughput;
    let e2e_ms = prefill.step_ms + (output - 1) as f64 * decode.step_ms;
    let tokens = (batch * output) as f64;
    let chips = par.chips() as f64;
    let joules = prefill
        .chip_joules
        .zip(decode.chip_joules)
        .map(|(p, d)| chips * (p + (output - 1) as f64 * d) / tokens);
    let usd = usd_per_chip_hour.map(|price| price * chips * e2e_ms / 3.6e6 / tokens * 1e6);
    Ok(ServingPoint {
        scheme: scheme.name.clone(),
        parallelism: par,
        batch,
        prompt,
        output,
        ttft_ms: prefill.step_ms,
        tpot_ms: decode.step_ms,
        e2e_latency_ms: e2e_ms,
        output_tokens_per_s: throughput,
        replicas,
        system_output_tokens_per_s: system_throughput,
        output_tokens_per_s_per_chip: system_throughput / f64::from(system.chips()),
        weight_bytes_per_chip: weights,
        kv_bytes_per_token_per_chip: kv_per_token,
        kv_bytes_per_chip: kv_per_sequence * batch as f64,
        moe_imbalance: shard_cfg.moe.map(|m| m.busiest()),
        prefill_step: prefill,
        decode_step: decode,
        max_sequences,
        fits: batch <= max_sequences,
        joules_per_output_token: joules,
        usd_per_million_output_tokens: usd,
    })
}

/// Latency limits a configuration must meet.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Limits {
    /// Largest time to first token, ms.
    pub ttft_ms: f64,
    /// Largest time per output token, ms.
    pub tpot_ms: f64,
}

/// The configuration with the most output tokens per second per chip that
/// fits and meets `limits`, over `schemes`, tp in 1, 2, 4, ... up to a
/// node, pp in 1, 2, 4, ... up to the system, batches 1, 2, 4, ... up to
/// `max_batch`, the system's chips / (tp pp) replicas of each (ties: fewer
/// chips a replica, then the earlier scheme). Every point tried is
/// returned with it, in search order.
#[allow(clippy::too_many_arguments)]
pub fn best(
    t: &Target<'_>,
    system: &System,
    cfg: &ModelConfig,
    schemes: &[Scheme],
    prompt: u64,
    output: u64,
    limits: Limits,
    max_batch: u64,
    usd_per_chip_hour: Option<f64>,
) -> (Option<ServingPoint>, Vec<ServingPoint>) {
    let powers =
        |limit: u64| std::iter::successors(Some(1u64), move |&x| (x * 2 <= limit).then_some(x * 2));
    let mut tried = Vec::new();
    let mut best: Option<ServingPoint> = None;
    for scheme in schemes {
        for tp in powers(u64::from(system.chips_per_node)) {
            for pp in powers(u64::from(system.chips()) / tp) {
                let par = Parallelism { tp, pp };
                for batch in powers(max_batch) {
                    let Ok(p) = serve(
                        t,
                        system,
                        cfg,
                        par,
                        scheme,
                        batch,
                        prompt,
                        output,
                        usd_per_chip_hour,
                    ) else {
                        continue;
                    };
                    let ok = p.fits && p.ttft_ms <= limits.ttft_ms && p.tpot_ms <= limits.tpot_ms;
                    let fits = p.fits;
                    if ok {
                        let better = best.as_ref().is_none_or(|b| {
                            p.output_tokens_per_s_per_chip > b.output_tokens_per_s_per_chip
                                || (p.output_tokens_per_s_per_chip
                                    == b.output_tokens_per_s_per_chip
                                    && p.parallelism.chips() < b.parallelism.chips())
                        });
                        if better {
                            best = Some(p.clone());
                        }
                    }
                    tried.push(p);
                    if !fits {
                        break;
                    }
                }
            }
        }
    }
    (best, tried)
}

/// The best configuration of each scheme (as [`best`] for that scheme
/// alone, in `schemes` order) and, of those, the one with the most output
/// tokens a second per chip (the first of equals): what `mlsim serve`
/// reports.
#[allow(clippy::too_many_arguments)]
pub fn best_per_scheme(
    t: &Target<'_>,
    system: &System,
    cfg: &ModelConfig,
    schemes: &[Scheme],
    prompt: u64,
    output: u64,
    limits: Limits,
    max_batch: u64,
    usd_per_chip_hour: Option<f64>,
) -> (Vec<(String, Option<ServingPoint>)>, Option<ServingPoint>) {
    let per_scheme: Vec<(String, Option<ServingPoint>)> = schemes
        .iter()
        .map(|s| {
            let (found, _) = best(
                t,
                system,
                cfg,
                std::slice::from_ref(s),
                prompt,
                output,
                limits,
                max_batch,
                usd_per_chip_hour,
            );
            (s.name.clone(), found)
        })
        .collect();
    let overall = per_scheme
        .iter()
        .filter_map(|(_, p)| p.as_ref())
        .fold(None::<&ServingPoint>, |b, p| match b {
            Some(b) if b.output_tokens_per_s_per_chip >= p.output_tokens_per_s_per_chip => Some(b),
            _ => Some(p),
        })
        .cloned();
    (per_scheme, overall)
}
