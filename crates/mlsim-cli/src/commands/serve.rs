//! `mlsim serve`: the best way to serve a model on a system under latency
//! limits: precision scheme, tensor and pipeline parallelism and batch,
//! with time to first token, time per output token and throughput per
//! chip, data-parallel replicas filling the system (docs/model/serving.md).

use clap::Args;
use mlsim_engine::serving::{Limits, best_per_scheme};
use mlsim_workload::transformer::{Scheme, load_model};

use crate::output::{Format, Table, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    mlsim serve --model llama-3-70b --system hgx-h100-8 --ttft-ms 500 --tpot-ms 50\n  \
    mlsim serve --model llama-3-8b --system mi300x-8 --schemes bf16,fp8 --prompt 2048 --output 512\n  \
    mlsim serve --model deepseek-v3 --system hgx-h200-8 --schemes fp8 --moe-imbalance 1.5\n\n\
    The chips run a CUDA-graph engine (--framework cuda-graph --timing back-to-back) unless\n\
    --framework or --timing says otherwise.")]
pub struct ServeArgs {
    /// Model name (models/) or file.
    #[arg(long, value_name = "NAME|FILE")]
    model: String,
    /// System name (`mlsim systems list`) or file.
    #[arg(long, value_name = "NAME|FILE")]
    system: String,
    /// Precision schemes to try, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "bf16,fp8,w8a16,w4a16")]
    schemes: Vec<Scheme>,
    /// Prompt tokens per sequence.
    #[arg(long, default_value_t = 1024)]
    prompt: u64,
    /// Output tokens per sequence.
    #[arg(long, default_value_t = 256)]
    output: u64,
    /// Largest time to first token, ms.
    #[arg(long = "ttft-ms", default_value_t = f64::INFINITY)]
    ttft_ms: f64,
    /// Largest time per output token, ms.
    #[arg(long = "tpot-ms", default_value_t = f64::INFINITY)]
    tpot_ms: f64,
    /// Price of one chip for an hour, dollars: adds the cost per million
    /// output tokens.
    #[arg(long = "usd-per-hour", value_name = "USD")]
    usd_per_chip_hour: Option<f64>,
    /// Largest batch (concurrent sequences) tried: 1, 2, 4, ... up to it.
    #[arg(long = "max-batch", default_value_t = 1024)]
    max_batch: u64,
    /// Routing imbalance of a mixture of experts: the busiest
    /// expert-parallel chip's routed tokens over the mean (1: balanced;
    /// at most the chips the experts are spread over).
    #[arg(long = "moe-imbalance", value_name = "RATIO")]
    moe_imbalance: Option<f64>,
    #[command(flatten)]
    setup: crate::SetupArgs,
    #[command(flatten)]
    format: FormatArg,
}

/// A latency limit for the table: its value, or `none`.
fn limit(ms: f64) -> String {
    if ms.is_finite() {
        format!("{} ms", sig(ms, 4))
    } else {
        "none".into()
    }
}

/// `--usd-per-hour` (serve, recommend): a price of at least 0.
pub(crate) fn check_price(usd_per_hour: Option<f64>) -> Result<(), Failure> {
    match usd_per_hour {
        Some(v) if !(v.is_finite() && v >= 0.0) => Err(Failure {
            code: 2,
            error: anyhow::anyhow!("--usd-per-hour must be a price of at least 0, got {v}"),
        }),
        _ => Ok(()),
    }
}

pub fn run(args: &ServeArgs) -> CmdResult {
    let bad = |msg: String| Failure {
        code: 2,
        error: anyhow::anyhow!(msg),
    };
    check_price(args.usd_per_chip_hour)?;
    for (flag, v) in [("--ttft-ms", args.ttft_ms), ("--tpot-ms", args.tpot_ms)] {
        if v.is_nan() || v <= 0.0 {
            return Err(bad(format!("{flag} must be above 0, got {v}")));
        }
    }
    for (flag, v) in [
        ("--prompt", args.prompt),
        ("--output", args.output),
        ("--max-batch", args.max_batch),
    ] {
        if v == 0 || v > 1 << 24 {
            return Err(bad(format!("{flag} must be from 1 to 2^24, got {v}")));
        }
    }
    let mut cfg = load_model(&args.model).map_err(|e| bad(e.to_string()))?;
    if let Some(v) = args.moe_imbalance {
        cfg = cfg
            .with_moe_imbalance(v)
            .map_err(|e| bad(format!("--moe-imbalance: {e}")))?;
    }
    let system = mlsim_hw::load_system(&args.system)?;
    let mut setup_args = args.setup.clone();
    if setup_args.framework.is_none() && setup_args.timing.is_none() {
        setup_args.framework = Some("cuda-graph".into());
        setup_args.timing = Some(mlsim_hw::Timing::BackToBack);
    }
    let setup = setup_args.with_chip(system.chip.clone())?;
    let target = setup.target();
    let limits = Limits {
        ttft_ms: args.ttft_ms,
        tpot_ms: args.tpot_ms,
    };
    // The best per scheme, then the best of all.
    let (per_scheme, overall) = best_per_scheme(
        &target,
        &system,
        &cfg,
        &args.schemes,
        args.prompt,
        args.output,
        limits,
        args.max_batch,
        args.usd_per_chip_hour,
    );
    let overall = overall.as_ref();
    match args.format.format {
        Format::Json => write_json(&serde_json::json!({
            "model": cfg.name,
            "system": system.name,
            "framework": setup.framework.name,
            "limits": limits,
            "best": overall,
            "per_scheme": per_scheme.iter().map(|(s, p)| serde_json::json!({"scheme": s, "best": p})).collect::<Vec<_>>(),
        }))?,
        Format::Csv => {
            let rows: Vec<Vec<String>> = per_scheme
                .iter()
                .filter_map(|(_, p)| p.as_ref())
                .map(|p| {
                    vec![
                        p.scheme.clone(),
                        p.parallelism.tp.to_string(),
                        p.parallelism.pp.to_string(),
                        p.replicas.to_string(),
                        p.batch.to_string(),
                        crate::output::csv_num(p.ttft_ms),
                        crate::output::csv_num(p.tpot_ms),
                        crate::output::csv_num(p.e2e_latency_ms),
                        crate::output::csv_num(p.output_tokens_per_s),
                        crate::output::csv_num(p.system_output_tokens_per_s),
                        crate::output::csv_num(p.output_tokens_per_s_per_chip),
                        p.max_sequences.to_string(),
                        p.joules_per_output_token
                            .map(crate::output::csv_num)
                            .unwrap_or_default(),
                        p.usd_per_million_output_tokens
                            .map(crate::output::csv_num)
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            write_csv(
                &[
                    "scheme",
                    "tp",
                    "pp",
                    "replicas",
                    "batch",
                    "ttft_ms",
                    "tpot_ms",
                    "e2e_latency_ms",
                    "output_tokens_per_s",
                    "system_output_tokens_per_s",
                    "output_tokens_per_s_per_chip",
                    "max_sequences",
                    "joules_per_output_token",
                    "usd_per_million_output_tokens",
                ],
                &rows,
            )?;
        }
        Format::Table => {
            outln!(
                "{} on {} ({} x {} chips, framework {}), {} prompt + {} output tokens; limits: TTFT {}, TPOT {}{}",
                cfg.name,
                system.name,
                system.nodes,
                system.chips_per_node,
                setup.framework.name,
                args.prompt,
                args.output,
                limit(args.ttft_ms),
                limit(args.tpot_ms),
                args.moe_imbalance
                    .map_or(String::new(), |v| format!("; MoE imbalance {}", sig(v, 4)))
            );
            let mut t = Table::new([
                "scheme",
                "tp",
                "pp",
                "replicas",
                "batch",
                "TTFT ms",
                "TPOT ms",
                "e2e ms",
                "tok/s",
                "system tok/s",
                "tok/s/chip",
                "max seqs",
                "J/token",
                "$/M tokens",
            ]);
            for (s, p) in &per_scheme {
                match p {
                    Some(p) => t.row([
                        s.clone(),
                        p.parallelism.tp.to_string(),
                        p.parallelism.pp.to_string(),
                        p.replicas.to_string(),
                        p.batch.to_string(),
                        sig(p.ttft_ms, 4),
                        sig(p.tpot_ms, 4),
                        sig(p.e2e_latency_ms, 4),
                        sig(p.output_tokens_per_s, 4),
                        sig(p.system_output_tokens_per_s, 4),
                        sig(p.output_tokens_per_s_per_chip, 4),
                        p.max_sequences.to_string(),
                        p.joules_per_output_token.map_or("-".into(), |j| sig(j, 3)),
                        p.usd_per_million_output_tokens
                            .map_or("-".into(), |u| sig(u, 3)),
                    ]),
                    None => t.row([
                        s.clone(),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        "no configuration fits and meets the limits".into(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ]),
                }
            }
            out!("{}", t.render());
            match overall {
                Some(p) => outln!(
                    "best: {} on tp {} x pp {} ({} chips) x {} replica{}, batch {} each: {} output tokens/s per chip",
                    p.scheme,
                    p.parallelism.tp,
                    p.parallelism.pp,
                    p.parallelism.chips(),
                    p.replicas,
                    if p.replicas == 1 { "" } else { "s" },
                    p.batch,
                    sig(p.output_tokens_per_s_per_chip, 4)
                ),
                None => outln!("no scheme fits and meets the limits"),
            }
        }
    }
    Ok(())
}
