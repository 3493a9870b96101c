//! `mlsim recommend`: the fastest precision scheme per op and for the whole
//! model, and the batch sizes where the recommendation changes.

use clap::Args;
use mlsim_engine::model::recommend;
use mlsim_workload::transformer::{Scheme, load_model};

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
    model: Option<String>,
    /// A workload suite instead of a model: llm, vision or scaling.
    #[arg(long, value_enum)]
    suite: Option<crate::commands::run::SuiteArg>,
    /// Inference phase.
    #[arg(long, value_enum, default_value_t = PhaseArg::Decode)]
    phase: PhaseArg,
    /// Sequences in the batch for the per-op recommendation.
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// Prompt length (prefill) or context length (decode).
    #[arg(long, required_unless_present = "suite", default_value_t = 1)]
    seq: u64,
    /// Schemes to compare, the baseline first.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "w16a16,fp32,bf16,w8a8,w8a16,w4a16,fp8,fp8kv,mxfp6,mxfp4,nvfp4,w4a8"
    )]
    schemes: Vec<Scheme>,
    /// Largest batch size scanned for changes of the recommendation.
    #[arg(long, default_value_t = 1024)]
    max_batch: u64,
    /// Price of the chip for an hour, dollars: adds each scheme's cost per
    /// million tokens.
    #[arg(long = "usd-per-hour", value_name = "USD")]
    usd_per_chip_hour: Option<f64>,
    #[command(flatten)]
    setup: crate::SetupArgs,
    #[command(flatten)]
    format: FormatArg,
}

pub fn run(args: &RecommendArgs) -> CmdResult {
    let setup = args.setup.load(&args.hw)?;
    let target = setup.target();
    let chip = &setup.chip;
    if let Some(suite) = args.suite {
        return suite_recommendation(&target, suite, &args.schemes, args.format.format);
    }
    let cfg = load_model(
        args.model
            .as_deref()
            .expect("clap requires --model or --suite"),
    )?;
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
    crate::commands::serve::check_price(args.usd_per_chip_hour)?;
    let phase = args.phase.phase(args.batch, args.seq);
    let rec = recommend(
        &target,
        &cfg,
        phase,
        &args.schemes,
        args.max_batch,
        args.usd_per_chip_hour,
    );
    match args.format.format {
        Format::Json => write_json(&rec)?,
        Format::Csv => choices_csv("op", &rec.choices)?,
        Format::Table => {
            outln!(
                "{} on {} [{}]: fastest scheme per op (speedup against {})\n",
                cfg.name,
                chip.display_name,
                chip.name,
                rec.baseline
            );
            out!("{}", choices_table("op", &rec.choices));
            outln!("\nWhole model by batch size (1 to {}):", args.max_batch);
            for s in &rec.switches {
                outln!("  from batch {:>5}: {}", s.from_batch, s.scheme);
            }
            outln!(
                "\nEvery scheme at batch {}: time, tokens a second, energy and cost a token:",
                args.batch
            );
            out!("{}", costs_table(&rec.schemes));
            if chip.power.is_none() {
                outln!(
                    "note: {} has no [power] in its chip file: no joules a token",
                    chip.name
                );
            }
            warn_non_native(&chip.name, &rec.choices)?;
            note_emulated(&target, &args.schemes)?;
        }
    }
    Ok(())
}

/// `--suite`: each workload of a suite in each scheme's compute dtype.
fn suite_recommendation(
    target: &mlsim_hw::Target<'_>,
    suite: crate::commands::run::SuiteArg,
    schemes: &[Scheme],
    format: Format,
) -> CmdResult {
    use crate::commands::run::SuiteArg;
    let chip = target.chip;
    use mlsim_workload::suites::Suite;
    let suites: Vec<Suite> = match suite {
        SuiteArg::Llm => vec![Suite::Llm],
        SuiteArg::Vision => vec![Suite::Vision],
        SuiteArg::Scaling => vec![Suite::Scaling],
        SuiteArg::All => Suite::ALL.to_vec(),
    };
    let mut choices = Vec::new();
    // Each scheme in the chip's own fp8 variant (FNUZ on CDNA 3).
    let on_chip: Vec<Scheme> = schemes
        .iter()
        .map(|s| mlsim_engine::model::scheme_on(chip, s))
        .collect();
    for w in suites.iter().flat_map(|s| s.workloads()) {
        let times: Vec<(&Scheme, f64)> = on_chip
            .iter()
            .map(|s| {
                (
                    s,
                    mlsim_engine::predict(target, &w.with_dtype(s.activations)).runtime_ms,
                )
            })
            .collect();
        let baseline = times[0].1;
        let (best, t) = times
            .iter()
            .fold(times[0], |b, c| if c.1 < b.1 { *c } else { b });
        choices.push(mlsim_engine::model::Choice {
            op: w.name.clone(),
            scheme: best.name.clone(),
            time_ms: t,
            speedup: baseline / t,
            native: target.is_native(best.activations),
        });
    }
    match format {
        Format::Json => write_json(&choices)?,
        Format::Csv => choices_csv("workload", &choices)?,
        Format::Table => {
            outln!(
                "{} [{}]: fastest scheme per workload (speedup against {})\n",
                chip.display_name,
                chip.name,
                schemes[0].name
            );
            out!("{}", choices_table("workload", &choices));
            warn_non_native(&chip.name, &choices)?;
            note_emulated(target, schemes)?;
        }
    }
    Ok(())
}

/// The choices as CSV: one row per op or workload.
fn choices_csv(first: &str, choices: &[mlsim_engine::model::Choice]) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = choices
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
        &[first, "scheme", "time_ms", "speedup_vs_baseline", "native"],
        &rows,
    )
}

/// Each scheme's whole step: time, tokens a second, joules and dollars a
/// token (the dollar column only with a price).
fn costs_table(costs: &[mlsim_engine::model::SchemeCost]) -> String {
    let priced = costs.iter().any(|c| c.usd_per_million_tokens.is_some());
    let mut headers = vec!["scheme", "step ms", "tokens/s", "J/token", "fits", "native"];
    if priced {
        headers.insert(4, "$/M tokens");
    }
    let mut t = Table::new(headers);
    for c in costs {
        let mut row = vec![
            c.scheme.clone(),
            sig(c.step_ms, 4),
            sig(c.tokens_per_s, 4),
            c.joules_per_token.map_or("-".into(), |j| sig(j, 3)),
            if c.fits { "yes" } else { "NO" }.to_string(),
            if c.native { "yes" } else { "NO" }.to_string(),
        ];
        if let Some(usd) = c.usd_per_million_tokens.filter(|_| priced) {
            row.insert(4, sig(usd, 3));
        }
        t.row(row);
    }
    t.render()
}

/// The choices as a table: one row per op or workload.
fn choices_table(first: &str, choices: &[mlsim_engine::model::Choice]) -> String {
    let mut t = Table::new([first, "scheme", "time ms", "speedup", "native"]);
    for c in choices {
        t.row([
            c.op.clone(),
            c.scheme.clone(),
            sig(c.time_ms, 4),
            format!("{}x", sig(c.speedup, 3)),
            if c.native { "yes" } else { "NO" }.to_string(),
        ]);
    }
    t.render()
}

/// Say how each compared scheme whose compute format has no native path
/// runs (the path it is dequantized to or emulated by), so its time is
/// never read as the native format's. Weight-only schemes (w4a16, w4a8)
/// convert their weights to the compute format by design, not noted.
fn note_emulated(target: &mlsim_hw::Target<'_>, schemes: &[Scheme]) -> std::io::Result<()> {
    let chip = target.chip;
    for s in schemes {
        let dtype = mlsim_engine::model::scheme_on(chip, s).activations;
        if target.is_native(dtype) {
            continue;
        }
        if let Some(via) = target.library_runs_as(dtype) {
            outln!(
                "note: {} runs emulated on {} under {}: the library computes {dtype} through its {via} kernels, converting as it loads",
                s.name,
                chip.name,
                target.stack.name
            );
            continue;
        }
        let via = chip
            .resolve_path(dtype)
            .map_or_else(|| "fp32".to_string(), |(via, _, _)| via.to_string());
        outln!(
            "note: {} runs emulated on {}: {dtype} has no native path; it is converted to {via} as it is loaded",
            s.name,
            chip.name
        );
    }
    Ok(())
}

/// A warning line for every choice whose compute dtype is not native.
fn warn_non_native(chip: &str, choices: &[mlsim_engine::model::Choice]) -> std::io::Result<()> {
    for c in choices.iter().filter(|c| !c.native) {
        outln!(
            "warning: `{}` recommends {} whose compute dtype has no native path on {chip}",
            c.op,
            c.scheme
        );
    }
    Ok(())
}
