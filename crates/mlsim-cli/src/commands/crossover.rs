//! `mlsim crossover`: the original's analytical crossover AI per dtype and
//! the quantization analysis of workloads against fp32.

use clap::Args;
use mlsim_engine::quant::{QuantRow, analyse, standard_workloads};
use mlsim_quant::seed;

use clap::ValueEnum;
use mlsim_calibrate::report::dtype_crossovers;
use mlsim_engine::crossover::{Family, SearchedCrossover};

use crate::output::{Format, Table, sig, write_csv, write_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// N x N x N.
    Square,
    /// M x fixed-n x fixed-k.
    M,
}

use crate::shapes::OpArgs;
use crate::{CmdResult, FormatArg, SetupArgs};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim crossover --hw t4-seed\n  mlsim crossover --hw cpu-avx512-desktop matmul --m 512 --n 512 --k 512\n  mlsim crossover --hw npu-systolic --format json\n\nWithout a workload, the original's six (matmul 64/512/4096, attention, conv, GeLU) are analysed.\n`beneficial` is mlsim's verdict (adjusted runtime below fp32's); `original` is the original\nprogram's (workload AI at or above the crossover AI), shown where they differ."
)]
pub struct CrossoverArgs {
    /// Chip preset name or TOML file.
    #[arg(long = "hw", value_name = "NAME|FILE", global = true)]
    hw: Option<String>,
    /// Measurements whose measured crossover is shown next to the model's.
    #[arg(long, value_name = "FILE", global = true)]
    measurements: Option<std::path::PathBuf>,
    /// Family searched: square GEMMs by N, or GEMMs by M with --fixed-n and --fixed-k.
    #[arg(long, value_enum, default_value_t = FamilyArg::Square, global = true)]
    family: FamilyArg,
    /// N of the `m` family.
    #[arg(long, default_value_t = 4096, global = true)]
    fixed_n: u64,
    /// K of the `m` family.
    #[arg(long, default_value_t = 4096, global = true)]
    fixed_k: u64,
    /// Smallest size searched.
    #[arg(long, default_value_t = 16, global = true)]
    from: u64,
    /// Largest size searched.
    #[arg(long, default_value_t = 16384, global = true)]
    to: u64,
    #[command(flatten)]
    setup: SetupArgs,
    #[command(flatten)]
    format: FormatArg,
    /// A workload to analyse instead of the standard six.
    #[command(subcommand)]
    op: Option<OpArgs>,
}

pub fn run(args: &CrossoverArgs) -> CmdResult {
    let Some(hw) = &args.hw else {
        return Err(crate::Failure {
            code: 2,
            error: anyhow::anyhow!(
                "no chip given\n  hint: add --hw NAME (see `mlsim presets list`)"
            ),
        });
    };
    let setup = args.setup.load(hw)?;
    let target = setup.target();
    let chip = &setup.chip;
    if args.from == 0 || args.to < args.from {
        return Err(crate::Failure {
            code: 2,
            error: anyhow::anyhow!(
                "--from {} --to {}: expected 1 <= from <= to",
                args.from,
                args.to
            ),
        });
    }
    let family = match args.family {
        FamilyArg::Square => Family::Square,
        FamilyArg::M => Family::M {
            n: args.fixed_n.max(1),
            k: args.fixed_k.max(1),
        },
    };
    let (m, n, k) = family.shape(args.to);
    if 2.0 * m as f64 * n as f64 * k as f64 >= 9_007_199_254_740_992.0 {
        return Err(crate::Failure {
            code: 2,
            error: anyhow::anyhow!(
                "--to {}: a {m}x{n}x{k} GEMM is more than 2^53 FLOPs, beyond exact arithmetic\n  hint: square sizes up to 131072",
                args.to
            ),
        });
    }
    let measured = match &args.measurements {
        Some(path) => {
            let set = super::validate::load_measurements(path)?;
            set.check_runs_on(&setup.chip)?;
            let rows = mlsim_calibrate::targets::RowTargets::new(
                setup.chip.clone(),
                &args.setup.spec()?,
                &set.rows,
            )?;
            let pts = mlsim_calibrate::validate::points(&rows, &set.rows);
            mlsim_calibrate::validate::crossovers(&pts)
        }
        None => Vec::new(),
    };
    let crossover_rows = dtype_crossovers(&target, family, args.from, args.to, &measured);
    let workloads = match &args.op {
        Some(op) => vec![op.workload(mlsim_quant::Dtype::Fp32)?],
        None => standard_workloads(),
    };
    let rows: Vec<QuantRow> = workloads.iter().flat_map(|w| analyse(&target, w)).collect();
    let formula: Vec<(mlsim_quant::Dtype, Option<f64>)> = chip
        .quantization
        .iter()
        .map(|(d, c)| (d, seed::crossover_ai(d, c)))
        .collect();
    match args.format.format {
        Format::Json => {
            let formula_json: Vec<_> = formula
                .iter()
                .map(|(d, ai)| serde_json::json!({ "dtype": d, "original_crossover_ai": ai }))
                .collect();
            write_json(&serde_json::json!({
                "hardware": chip.name,
                "family": family,
                "crossovers": crossover_rows,
                "original_formula": formula_json,
                "analysis": rows,
            }))?;
        }
        Format::Csv => {
            let headers = [
                "hardware",
                "workload",
                "dtype",
                "base_runtime_ms",
                "dequant_overhead_ms",
                "layout_overhead_ms",
                "scale_overhead_ms",
                "adjusted_runtime_ms",
                "speedup_vs_fp32",
                "crossover_ai",
                "beneficial",
                "original_verdict",
            ];
            let num = crate::output::csv_num;
            let data: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.hardware.clone(),
                        r.workload.clone(),
                        r.dtype.to_string(),
                        num(r.base_runtime_ms),
                        num(r.dequant_overhead_ms),
                        num(r.layout_overhead_ms),
                        num(r.scale_overhead_ms),
                        num(r.adjusted_runtime_ms),
                        num(r.speedup_vs_fp32),
                        r.crossover_ai.map(num).unwrap_or_default(),
                        r.beneficial.map(|b| b.to_string()).unwrap_or_default(),
                        r.original_verdict.to_string(),
                    ]
                })
                .collect();
            write_csv(&headers, &data)?;
        }
        Format::Table => {
            outln!("{} [{}]\n", chip.display_name, chip.name);
            let family_label = match family {
                Family::Square => "square N x N x N".to_string(),
                Family::M { n, k } => format!("M x {n} x {k}"),
            };
            outln!(
                "Crossover against fp32 ({family_label}, sizes {} to {})",
                args.from,
                args.to
            );
            let mut t = Table::new([
                "dtype",
                "native",
                "original formula AI",
                "roofline closed form",
                "model: from size",
                "model: AI",
                "measured",
            ]);
            for r in &crossover_rows {
                let (size, ai) = match r.model {
                    SearchedCrossover::Always => ("always".to_string(), "-".to_string()),
                    SearchedCrossover::Never => ("never".to_string(), "-".to_string()),
                    SearchedCrossover::From { size, ai } => (size.to_string(), sig(ai, 4)),
                };
                t.row([
                    r.dtype.to_string(),
                    match r.native {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "-",
                    }
                    .to_string(),
                    r.original_formula_ai
                        .map_or_else(|| "-".into(), |v| sig(v, 6)),
                    r.closed_form.clone(),
                    size,
                    ai,
                    r.measured.clone().unwrap_or_else(|| "-".into()),
                ]);
            }
            outln!("{}", t.render());
            outln!(
                "original formula: the original program's AI threshold (ignores compute rate); roofline closed form:"
            );
            outln!(
                "rooflines of the dtype's path and fp32's (rates and native support; no launch, tiles or conversion); model: search"
            );
            outln!(
                "over the full model's predictions (launch, tiles, waves, memory, conversion).\n"
            );
            if chip.quantization.is_empty() {
                return Ok(());
            }
            for w in &workloads {
                outln!(
                    "{} (AI {} FLOP/B in fp32)",
                    w.name,
                    sig(w.arithmetic_intensity(), 4)
                );
                let mut t = Table::new([
                    "dtype",
                    "base ms",
                    "dequant ms",
                    "layout ms",
                    "scale ms",
                    "adjusted ms",
                    "speedup",
                    "beneficial",
                    "original",
                ]);
                for r in rows.iter().filter(|r| r.workload == w.name) {
                    let ours = r
                        .beneficial
                        .map_or("baseline", |b| if b { "yes" } else { "no" });
                    let original = match r.beneficial {
                        Some(b) if b != r.original_verdict => {
                            if r.original_verdict {
                                "yes (differs)"
                            } else {
                                "no (differs)"
                            }
                        }
                        _ => "",
                    };
                    t.row([
                        r.dtype.to_string(),
                        sig(r.base_runtime_ms, 4),
                        sig(r.dequant_overhead_ms, 4),
                        sig(r.layout_overhead_ms, 4),
                        sig(r.scale_overhead_ms, 4),
                        sig(r.adjusted_runtime_ms, 4),
                        format!("{}x", sig(r.speedup_vs_fp32, 4)),
                        ours.to_string(),
                        original.to_string(),
                    ]);
                }
                outln!("{}", t.render());
            }
        }
    }
    Ok(())
}
