//! `mlsim crossover`: the original's analytical crossover AI per dtype and
//! the quantization analysis of workloads against fp32.

use clap::Args;
use mlsim_engine::quant::{QuantRow, analyse, standard_workloads};
use mlsim_quant::seed;

use crate::output::{Format, Table, sig, write_csv, write_json};
use crate::shapes::OpArgs;
use crate::{CmdResult, FormatArg, load_chip};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim crossover --hw t4-seed\n  mlsim crossover --hw cpu-avx512-desktop matmul --m 512 --n 512 --k 512\n  mlsim crossover --hw npu-systolic --format json\n\nWithout a workload, the original's six (matmul 64/512/4096, attention, conv, GeLU) are analysed.\n`beneficial` is mlsim's verdict (adjusted runtime below fp32's); `original` is the original\nprogram's (workload AI at or above the crossover AI), shown where they differ."
)]
pub struct CrossoverArgs {
    /// Chip preset name or TOML file.
    #[arg(long = "hw", value_name = "NAME|FILE", global = true)]
    hw: Option<String>,
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
    let chip = load_chip(hw)?;
    let workloads = match &args.op {
        Some(op) => vec![op.workload(mlsim_quant::Dtype::Fp32)?],
        None => standard_workloads(),
    };
    let rows: Vec<QuantRow> = workloads.iter().flat_map(|w| analyse(&chip, w)).collect();
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
            println!("{} [{}]\n", chip.display_name, chip.name);
            println!("Original analytical crossover AI (ignores compute rate)");
            let mut t = Table::new(["dtype", "crossover AI", "speedup multiplier"]);
            for (d, ai) in &formula {
                t.row([
                    d.to_string(),
                    ai.map_or_else(|| "none".into(), |v| sig(v, 6)),
                    sig(chip.compute.speedup(*d), 4),
                ]);
            }
            println!("{}", t.render());
            for w in &workloads {
                println!(
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
                println!("{}", t.render());
            }
        }
    }
    Ok(())
}
