//! `mlsim model`: one inference step of a transformer on a chip, op by op.

use clap::{Args, ValueEnum};
use mlsim_engine::model::predict_step;
use mlsim_workload::transformer::{Phase, Scheme, load_model};

use crate::output::{Format, Table, csv_num, eng, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    /// A whole prompt of --seq tokens per sequence.
    Prefill,
    /// One new token per sequence, attending to --seq tokens.
    Decode,
}

impl PhaseArg {
    /// The phase for `batch` sequences of `seq` tokens (prompt or context).
    pub fn phase(self, batch: u64, seq: u64) -> Phase {
        match self {
            PhaseArg::Prefill => Phase::Prefill { batch, prompt: seq },
            PhaseArg::Decode => Phase::Decode {
                batch,
                context: seq,
            },
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim model --hw h100-sxm5 --model llama-3-8b --phase decode --batch 1 --seq 2048 --scheme w4a16\n  mlsim model --hw t4 --model mistral-7b --phase prefill --batch 1 --seq 512\n  mlsim model --hw l4 --model path/to/config.json --phase decode --batch 8 --seq 4096 --framework cuda-graph --timing back-to-back\n\nModels: gpt2, llama-3-8b, llama-3-70b, mistral-7b, mixtral-8x7b (models/), a model TOML file or a Hugging Face config.json.\nSchemes: fp32, w16a16, bf16, w8a8, w8a16, w4a16, fp8, fp8kv (weights / activations / KV cache).\n--framework cuda-graph --timing back-to-back models a CUDA-graph engine (near-zero host cost per kernel)."
)]
pub struct ModelArgs {
    /// Chip preset name or TOML file.
    #[arg(long = "hw", value_name = "NAME|FILE")]
    hw: String,
    /// Model name or file.
    #[arg(long, value_name = "NAME|FILE")]
    model: String,
    /// Inference phase.
    #[arg(long, value_enum)]
    phase: PhaseArg,
    /// Sequences in the batch.
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// Prompt length (prefill) or context length (decode).
    #[arg(long)]
    seq: u64,
    /// Precision scheme.
    #[arg(long, default_value = "w16a16")]
    scheme: Scheme,
    #[command(flatten)]
    setup: crate::SetupArgs,
    #[command(flatten)]
    format: FormatArg,
}

pub fn run(args: &ModelArgs) -> CmdResult {
    let setup = args.setup.load(&args.hw)?;
    let chip = &setup.chip;
    let cfg = load_model(&args.model)?;
    if args.batch == 0 || args.seq == 0 || args.batch > 1 << 20 || args.seq > 1 << 24 {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "--batch and --seq must be at least 1 (batch up to 2^20, seq up to 2^24)"
            ),
        });
    }
    let phase = args.phase.phase(args.batch, args.seq);
    let step = predict_step(&setup.target(), &cfg, phase, &args.scheme);
    match args.format.format {
        Format::Json => write_json(&step)?,
        Format::Csv => {
            let headers = [
                "op",
                "count",
                "flops",
                "bytes",
                "arithmetic_intensity",
                "bound",
                "time_ms",
                "share",
            ];
            let rows: Vec<Vec<String>> = step
                .ops
                .iter()
                .map(|o| {
                    vec![
                        o.op.name.to_string(),
                        o.op.count.to_string(),
                        csv_num(o.op.flops),
                        csv_num(o.op.bytes()),
                        csv_num(o.arithmetic_intensity),
                        o.bound.to_string(),
                        csv_num(o.time_ms),
                        csv_num(o.share),
                    ]
                })
                .collect();
            write_csv(&headers, &rows)?;
        }
        Format::Table => {
            let phase_label = match phase {
                Phase::Prefill { batch, prompt } => {
                    format!("prefill, batch {batch}, prompt {prompt}")
                }
                Phase::Decode { batch, context } => {
                    format!("decode, batch {batch}, context {context}")
                }
            };
            outln!(
                "{} on {} [{}], {phase_label}, scheme {} (weights {}, activations {}, KV {})\n",
                cfg.name,
                chip.display_name,
                chip.name,
                args.scheme.name,
                args.scheme.weights,
                args.scheme.activations,
                args.scheme.kv
            );
            let mut t = Table::new([
                "op", "x", "FLOPs", "bytes", "AI", "bound", "time ms", "share",
            ]);
            for o in &step.ops {
                t.row([
                    o.op.name.to_string(),
                    o.op.count.to_string(),
                    eng(o.op.flops),
                    eng(o.op.bytes()),
                    sig(o.arithmetic_intensity, 3),
                    o.bound.to_string(),
                    sig(o.time_ms, 4),
                    format!("{:.1}%", 100.0 * o.share),
                ]);
            }
            out!("{}", t.render());
            let unit = if matches!(phase, Phase::Prefill { .. }) {
                "prompt"
            } else {
                "token"
            };
            outln!(
                "\ntime per {unit} step: {} ms; {} tokens/s",
                sig(step.step_ms, 4),
                sig(step.tokens_per_s, 4)
            );
            outln!(
                "memory: weights {}B + KV cache {}B of {}B: {}",
                eng(step.weight_bytes),
                eng(step.kv_cache_bytes),
                eng(step.memory_capacity_bytes),
                if step.fits { "fits" } else { "does NOT fit" }
            );
            if !step.native {
                outln!(
                    "warning: {} has no native path on {}: it runs emulated",
                    args.scheme.activations,
                    chip.name
                );
            }
        }
    }
    Ok(())
}
