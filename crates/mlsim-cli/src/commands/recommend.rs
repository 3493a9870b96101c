//! `mlsim recommend`: the fastest precision scheme per op and for the whole
//! model, and the batch sizes where the recommendation changes.

use clap::Args;
use mlsim_engine::model::recommend;
use mlsim_workload::transformer::{Phase, Scheme, load_model};

use crate::commands::model::PhaseArg;
use crate::output::{Format, Table, csv_num, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim recommend --hw h100-sxm5 --model llama-3-8b --phase decode --seq 2048\n  mlsim recommend --hw t4 --model mistral-7b --phase decode --seq 1024 --schemes w16a16,bf16,w8a16,w4a16\n\nThe first scheme is the baseline of the speedups (default w16a16). A scheme whose compute dtype has\nno native path on the chip is flagged (bf16 on a T4 runs emulated, slower than fp16)."
)]
pub struct RecommendArgs {
    /// Chip preset name or TOML file.
    #[arg(long = "hw", value_name = "NAME|FILE")]
    hw: String,
    /// Model name or file.
    #[arg(long, value_name = "NAME|FILE")]
    model: String,
    /// Inference phase.
    #[arg(long, value_enum, default_value_t = PhaseArg::Decode)]
    phase: PhaseArg,
    /// Sequences in the batch for the per-op recommendation.
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// Prompt length (prefill) or context length (decode).
    #[arg(long)]
    seq: u64,
    /// Schemes to compare, the baseline first.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "w16a16,fp32,bf16,w8a8,w8a16,w4a16,fp8,fp8kv"
    )]
    schemes: Vec<Scheme>,
    /// Largest batch size scanned for changes of the recommendation.
    #[arg(long, default_value_t = 1024)]
    max_batch: u64,
    #[command(flatten)]
    launch: crate::LaunchArg,
    #[command(flatten)]
    format: FormatArg,
}

pub fn run(args: &RecommendArgs) -> CmdResult {
    let chip = args.launch.load(&args.hw)?;
    let cfg = load_model(&args.model)?;
    if args.batch == 0
        || args.seq == 0
        || args.max_batch == 0
        || args.max_batch > 1 << 16
        || args.seq > 1 << 24
    {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "--batch, --seq and --max-batch must be at least 1 (max-batch up to 65536)"
            ),
        });
    }
    let phase = match args.phase {
        PhaseArg::Prefill => Phase::Prefill {
            batch: args.batch,
            prompt: args.seq,
        },
        PhaseArg::Decode => Phase::Decode {
            batch: args.batch,
            context: args.seq,
        },
    };
    let rec = recommend(&chip, &cfg, phase, &args.schemes, args.max_batch);
    match args.format.format {
        Format::Json => write_json(&rec)?,
        Format::Csv => {
            let rows: Vec<Vec<String>> = rec
                .choices
                .iter()
                .map(|c| {
                    vec![
                        c.op.clone(),
                        c.scheme.clone(),
                        csv_num(c.time_ms),
                        csv_num(c.speedup),
                        c.native.to_string(),
                    ]
                })
                .collect();
            write_csv(
                &["op", "scheme", "time_ms", "speedup_vs_baseline", "native"],
                &rows,
            )?;
        }
        Format::Table => {
            outln!(
                "{} on {} [{}]: fastest scheme per op (speedup against {})\n",
                cfg.name,
                chip.display_name,
                chip.name,
                rec.baseline
            );
            let mut t = Table::new(["op", "scheme", "time ms", "speedup", "native"]);
            for c in &rec.choices {
                t.row([
                    c.op.clone(),
                    c.scheme.clone(),
                    sig(c.time_ms, 4),
                    format!("{}x", sig(c.speedup, 3)),
                    if c.native {
                        "yes".to_string()
                    } else {
                        "NO".to_string()
                    },
                ]);
            }
            out!("{}", t.render());
            outln!("\nWhole model by batch size (1 to {}):", args.max_batch);
            for s in &rec.switches {
                outln!("  from batch {:>5}: {}", s.from_batch, s.scheme);
            }
            for c in rec.choices.iter().filter(|c| !c.native) {
                outln!(
                    "warning: `{}` recommends {} whose compute dtype has no native path on {}",
                    c.op,
                    c.scheme,
                    chip.name
                );
            }
        }
    }
    Ok(())
}
