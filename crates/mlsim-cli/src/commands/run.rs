//! `mlsim run`: suites on chips, with summaries, speedups and memory pressure.

use clap::{Args, ValueEnum};
use mlsim_engine::summary::{SuiteSummary, memory_pressure, summarise};
use mlsim_engine::{SimResult, sweep};
use mlsim_workload::suites::Suite;

use crate::output::{Format, Table, eng, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg, SetupArgs};

/// The chips `run` uses when no `--hw` is given: real chips of the
/// original's three classes (a server CPU, a datacenter accelerator, a
/// laptop SoC), on mlsim's models.
pub const DEFAULT_CHIPS: [&str; 3] = ["xeon-sapphire-rapids", "tpu-v5e", "apple-m2"];

/// The original program's three chips, on its model (`--original`).
pub const ORIGINAL_CHIPS: [&str; 3] = ["cpu-avx512-desktop", "npu-systolic", "mobile-neon"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SuiteArg {
    /// A GPT-like decoder layer (d_model 4096, seq 512, fp16).
    Llm,
    /// The front of ResNet-50 (fp32).
    Vision,
    /// Square fp32 matmuls from 32 to 8192.
    Scaling,
    /// All three.
    All,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim run all\n  mlsim run all --original\n  mlsim run all --plot charts/\n  mlsim run llm --hw t4-seed --hw npu-systolic --format json\n  mlsim run vision --hw my-chip.toml --format csv\n\nThe first chip is the baseline of the speedup table.\nWith --plot DIR, each suite also gets DIR/SUITE-runtime.png and .svg (runtime per workload\nacross the chips) and DIR/SUITE-roofline-CHIP.png and .svg (the chip's rooflines with the\nsuite's workloads), drawn by the code that draws the paper's figures."
)]
pub struct RunArgs {
    /// Which suite to run.
    #[arg(value_enum)]
    suite: SuiteArg,
    /// Chip preset name or TOML file; repeat for several (default: a
    /// server CPU, a TPU and a laptop SoC: xeon-sapphire-rapids, tpu-v5e,
    /// apple-m2).
    #[arg(long = "hw", value_name = "NAME|FILE")]
    hw: Vec<String>,
    /// Run the original program's three chips (cpu-avx512-desktop,
    /// npu-systolic, mobile-neon) on its model: its output, exactly.
    #[arg(long, conflicts_with = "hw")]
    original: bool,
    /// Also write charts (PNG and SVG) into this directory, created if
    /// needed: runtime per workload across chips, and each chip's roofline
    /// with the workloads.
    #[arg(long, value_name = "DIR")]
    plot: Option<std::path::PathBuf>,
    #[command(flatten)]
    setup: SetupArgs,
    #[command(flatten)]
    format: FormatArg,
}

/// One suite's output, as JSON.
#[derive(Debug, serde::Serialize)]
struct SuiteReport {
    suite: &'static str,
    baseline: String,
    results: Vec<SimResult>,
    summaries: Vec<SuiteSummary>,
}

pub fn run(args: &RunArgs) -> CmdResult {
    let names: Vec<String> = if args.original {
        ORIGINAL_CHIPS.iter().map(|s| s.to_string()).collect()
    } else if args.hw.is_empty() {
        DEFAULT_CHIPS.iter().map(|s| s.to_string()).collect()
    } else {
        args.hw.clone()
    };
    let setups = names
        .iter()
        .map(|n| args.setup.load(n))
        .collect::<Result<Vec<_>, _>>()?;
    let targets: Vec<mlsim_hw::Target<'_>> = setups.iter().map(mlsim_hw::Setup::target).collect();
    let chips: Vec<mlsim_hw::Chip> = setups.iter().map(|s| s.chip.clone()).collect();
    // Results and chart files are keyed by chip name: two chips of one name
    // would be mixed up.
    for (i, chip) in chips.iter().enumerate() {
        if let Some(j) = chips[..i].iter().position(|c| c.name == chip.name) {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!(
                    "--hw {} and --hw {} are both named `{}`\n  hint: give one chip file another `name`",
                    names[j],
                    names[i],
                    chip.name
                ),
            });
        }
    }
    if args.plot.is_some() && chips.len() > mlsim_plot::PALETTE.len() {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "--plot draws at most {} chips in one chart, {} given\n  hint: run the comparison in groups",
                mlsim_plot::PALETTE.len(),
                chips.len()
            ),
        });
    }
    let suites: Vec<Suite> = match args.suite {
        SuiteArg::Llm => vec![Suite::Llm],
        SuiteArg::Vision => vec![Suite::Vision],
        SuiteArg::Scaling => vec![Suite::Scaling],
        SuiteArg::All => Suite::ALL.to_vec(),
    };
    let reports: Vec<SuiteReport> = suites
        .iter()
        .map(|&suite| {
            let results = sweep(&targets, &suite.workloads());
            let summaries = chips
                .iter()
                .map(|c| {
                    summarise(
                        c,
                        &results
                            .iter()
                            .filter(|r| r.hardware == c.name)
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            SuiteReport {
                suite: suite.name(),
                baseline: chips[0].name.clone(),
                results,
                summaries,
            }
        })
        .collect();
    if let Some(dir) = &args.plot {
        write_plots(dir, &reports, &chips)?;
    }
    match args.format.format {
        Format::Json => write_json(&serde_json::json!({ "suites": reports }))?,
        Format::Csv => {
            let mut headers = vec!["suite"];
            headers.extend_from_slice(super::result_columns());
            let rows: Vec<Vec<String>> = reports
                .iter()
                .flat_map(|rep| {
                    rep.results.iter().map(|r| {
                        let mut row = vec![rep.suite.to_string()];
                        let chip = chips
                            .iter()
                            .find(|c| c.name == r.hardware)
                            .expect("every result is of a chip of the run");
                        row.extend(super::result_values(chip, r));
                        row
                    })
                })
                .collect();
            write_csv(&headers, &rows)?;
        }
        Format::Table => {
            for rep in &reports {
                out!("{}", render_suite(rep, &chips));
            }
        }
    }
    Ok(())
}

/// The charts of `--plot DIR`.
fn write_plots(
    dir: &std::path::Path,
    reports: &[SuiteReport],
    chips: &[mlsim_hw::Chip],
) -> CmdResult {
    let fail = |e: mlsim_plot::PlotError| Failure {
        code: 2,
        error: anyhow::anyhow!("--plot {}: {e}", dir.display()),
    };
    for rep in reports {
        let bars = mlsim_plot::charts::runtime_per_workload(
            &format!("Predicted runtime per workload, {} suite", rep.suite),
            chips,
            &rep.results,
        );
        mlsim_plot::write_png_and_svg(&bars, dir, &format!("{}-runtime", rep.suite))
            .map_err(fail)?;
        for chip in chips {
            let mine: Vec<&SimResult> = rep
                .results
                .iter()
                .filter(|r| r.hardware == chip.name)
                .collect();
            let chart = mlsim_plot::charts::roofline(chip, &[(rep.suite.to_string(), mine)]);
            let stem = format!("{}-roofline-{}", rep.suite, chip.name);
            mlsim_plot::write_png_and_svg(&chart, dir, &stem).map_err(fail)?;
        }
    }
    Ok(())
}

fn render_suite(rep: &SuiteReport, chips: &[mlsim_hw::Chip]) -> String {
    let mut out = format!("== Suite: {} ==\n\n", rep.suite);
    for chip in chips {
        out.push_str(&format!("{} [{}]\n", chip.display_name, chip.name));
        let mut t = Table::new([
            "workload",
            "dtype",
            "FLOPs",
            "bytes",
            "AI",
            "runtime ms",
            "util",
            "hit rate",
            "TFLOPS",
            "bound",
            "level",
        ]);
        for r in rep.results.iter().filter(|r| r.hardware == chip.name) {
            let p = &r.prediction;
            t.row([
                r.workload.clone(),
                r.dtype.to_string(),
                eng(p.flops),
                eng(p.bytes),
                sig(p.arithmetic_intensity, 4),
                sig(p.runtime_ms, 4),
                sig(p.compute_utilization, 3),
                sig(p.hit_rate, 4),
                sig(p.achieved_tflops, 4),
                p.bottleneck.to_string(),
                r.serving_level.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        out.push_str(&t.render());
        out.push('\n');
    }

    out.push_str("Summary\n");
    let mut t = Table::new([
        "chip",
        "runtime ms",
        "FLOPs",
        "bytes",
        "AI",
        "mean util",
        "mean hit",
        "TFLOPS",
        "peak fp32",
        "mem/comp bound",
    ]);
    for s in &rep.summaries {
        t.row([
            s.display_name.clone(),
            sig(s.total_runtime_ms, 4),
            eng(s.total_flops),
            eng(s.total_bytes),
            sig(s.overall_arithmetic_intensity, 4),
            sig(s.mean_utilization, 3),
            sig(s.mean_hit_rate, 4),
            sig(s.achieved_tflops, 4),
            sig(s.peak_fp32_tflops, 4),
            format!("{}/{}", s.memory_bound, s.compute_bound),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');

    let base = &chips[0];
    out.push_str(&per_chip_table(
        rep,
        chips,
        &format!(
            "Speedup vs {} (runtime on {} / runtime on chip)",
            base.display_name, base.name
        ),
        |b, r| {
            format!(
                "{}x",
                sig(b.prediction.runtime_ms / r.prediction.runtime_ms, 4)
            )
        },
    ));
    out.push_str(&per_chip_table(
        rep,
        chips,
        "Memory pressure (cache hit rate: >= 0.9 low, >= 0.7 medium, else high)",
        |_, r| {
            format!(
                "{} {}",
                sig(r.prediction.hit_rate, 4),
                memory_pressure(r.prediction.hit_rate)
            )
        },
    ));
    out
}

/// A table with one row per workload and one column per chip; `cell` gets
/// the first chip's result and this chip's.
fn per_chip_table(
    rep: &SuiteReport,
    chips: &[mlsim_hw::Chip],
    title: &str,
    cell: impl Fn(&SimResult, &SimResult) -> String,
) -> String {
    let per_chip: Vec<Vec<&SimResult>> = chips
        .iter()
        .map(|c| {
            rep.results
                .iter()
                .filter(|r| r.hardware == c.name)
                .collect()
        })
        .collect();
    let mut headers = vec!["workload".to_string()];
    headers.extend(chips.iter().map(|c| c.name.clone()));
    let mut t = Table::new(headers);
    for (i, base) in per_chip[0].iter().enumerate() {
        let mut row = vec![base.workload.clone()];
        row.extend(per_chip.iter().map(|results| cell(base, results[i])));
        t.row(row);
    }
    format!("{title}\n{}\n", t.render())
}
