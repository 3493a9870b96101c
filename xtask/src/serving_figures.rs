//! The serving figures of the paper (issue 19, item 6): Llama-3-70B on an
//! HGX H100 node (8 GPUs), per precision scheme, from `mlsim serve`'s
//! model (datasheet values and estimates; no serving run measured).
//!
//! - throughput per GPU against time per output token (the batch grows
//!   along each line), at the tensor-parallel split that fits;
//! - GPUs needed and cost per million output tokens per scheme, at the
//!   best configuration under 50 ms a token;
//! - energy per output token against the batch.

use std::path::Path;

use mlsim_engine::serving::{Limits, Parallelism, best, serve};
use mlsim_hw::{SetupSpec, Timing};
use mlsim_plot::charts::csv_number as num;
use mlsim_plot::{Chart, Series, Style};
use mlsim_workload::transformer::{Scheme, load_model};

use crate::figures::{Outputs, chart_files};

const SCHEMES: [&str; 4] = ["bf16", "fp8", "w8a16", "w4a16"];
const PROMPT: u64 = 1024;
const OUTPUT: u64 = 256;
/// The price of one H100 for an hour, dollars: a round figure for the
/// cost per token's scale (the user passes their own to `mlsim serve`).
const USD_PER_GPU_HOUR: f64 = 2.5;

/// The node and its chips on a CUDA-graph engine.
fn node() -> anyhow::Result<(mlsim_hw::Setup, mlsim_hw::System)> {
    let system = mlsim_hw::load_system("hgx-h100-8")?;
    let spec = SetupSpec {
        framework: Some("cuda-graph"),
        timing: Some(Timing::BackToBack),
        ..SetupSpec::default()
    };
    Ok((
        mlsim_hw::Setup::with_chip(system.chip.clone(), &spec)?,
        system,
    ))
}

fn schemes() -> anyhow::Result<Vec<Scheme>> {
    SCHEMES
        .iter()
        .map(|s| s.parse().map_err(anyhow::Error::msg))
        .collect()
}

/// Throughput per GPU against TPOT, batch 1 ... 1024 at TP 8 (one node),
/// per scheme; and energy per token against the batch.
pub fn serving_throughput(_root: &Path) -> anyhow::Result<Outputs> {
    let (setup, system) = node()?;
    let cfg = load_model("llama-3-70b")?;
    let par = Parallelism { tp: 8, pp: 1 };
    let mut throughput = Vec::new();
    let mut energy = Vec::new();
    let mut csv = String::from(
        "scheme,tp,batch,tpot_ms,output_tokens_per_s_per_gpu,joules_per_output_token\n",
    );
    for (i, scheme) in schemes()?.iter().enumerate() {
        let (mut line, mut joules) = (Vec::new(), Vec::new());
        for batch in (0..=10).map(|e| 1u64 << e) {
            let p = serve(
                &setup.target(),
                &system,
                &cfg,
                par,
                scheme,
                batch,
                PROMPT,
                OUTPUT,
                None,
            )
            .map_err(anyhow::Error::msg)?;
            if !p.fits {
                break;
            }
            let j = p.joules_per_output_token.unwrap_or(f64::NAN);
            csv.push_str(&format!(
                "{},8,{batch},{},{},{}\n",
                scheme.name,
                num(p.tpot_ms),
                num(p.output_tokens_per_s_per_chip),
                num(j)
            ));
            line.push((p.tpot_ms, p.output_tokens_per_s_per_chip));
            joules.push((batch as f64, j));
        }
        throughput.push(Series {
            name: format!("{} (tp 8)", scheme.name),
            points: line,
            style: Style::Solid,
            color: i,
        });
        energy.push(Series {
            name: scheme.name.clone(),
            points: joules,
            style: Style::Solid,
            color: i,
        });
    }
    let mut out = chart_files(
        "serving-throughput-tpot",
        &Chart {
            title: "llama-3-70b on 8 x H100 (tp 8): throughput against TPOT, batch 1-1024".into(),
            x_label: "time per output token (ms), log scale".into(),
            y_label: "output tokens/s per GPU, log scale".into(),
            log_x: true,
            log_y: true,
            series: throughput,
            point_labels: Vec::new(),
        },
        csv.clone(),
    )?;
    out.extend(chart_files(
        "serving-energy-batch",
        &Chart {
            title: "llama-3-70b on 8 x H100 (tp 8): energy per output token".into(),
            x_label: "batch (sequences), log scale".into(),
            y_label: "joules per output token, log scale".into(),
            log_x: true,
            log_y: true,
            series: energy,
            point_labels: Vec::new(),
        },
        csv,
    )?);
    Ok(out)
}

/// Per scheme: the fewest GPUs that hold the model, and the best
/// configuration under 50 ms a token with its cost per million tokens.
pub fn serving_cost(_root: &Path) -> anyhow::Result<Outputs> {
    let (setup, system) = node()?;
    let cfg = load_model("llama-3-70b")?;
    let limits = Limits {
        ttft_ms: f64::INFINITY,
        tpot_ms: 50.0,
    };
    let mut csv = String::from(
        "scheme,fewest_gpus,best_tp,best_pp,best_batch,tpot_ms,output_tokens_per_s_per_gpu,usd_per_million_output_tokens,joules_per_output_token\n",
    );
    let mut md = String::from(
        "| scheme | fewest GPUs that hold it | best under 50 ms a token: tp x pp, batch | TPOT ms | tokens/s per GPU | $ per million output tokens (at $2.50 a GPU-hour) | J per output token |\n|---|---|---|---|---|---|---|\n",
    );
    let mut bars = Vec::new();
    for (i, scheme) in schemes()?.iter().enumerate() {
        let fewest = [1u64, 2, 4, 8].into_iter().find(|&tp| {
            serve(
                &setup.target(),
                &system,
                &cfg,
                Parallelism { tp, pp: 1 },
                scheme,
                1,
                PROMPT,
                OUTPUT,
                None,
            )
            .is_ok_and(|p| p.fits)
        });
        let (found, _) = best(
            &setup.target(),
            &system,
            &cfg,
            std::slice::from_ref(scheme),
            PROMPT,
            OUTPUT,
            limits,
            1024,
            Some(USD_PER_GPU_HOUR),
        );
        let fewest_text = fewest.map_or("-".into(), |g| g.to_string());
        match found {
            Some(p) => {
                let usd = p.usd_per_million_output_tokens.unwrap_or(f64::NAN);
                let j = p.joules_per_output_token.unwrap_or(f64::NAN);
                csv.push_str(&format!(
                    "{},{fewest_text},{},{},{},{},{},{},{}\n",
                    scheme.name,
                    p.parallelism.tp,
                    p.parallelism.pp,
                    p.batch,
                    num(p.tpot_ms),
                    num(p.output_tokens_per_s_per_chip),
                    num(usd),
                    num(j)
                ));
                md.push_str(&format!(
                    "| {} | {fewest_text} | {} x {}, {} | {:.1} | {:.0} | {:.2} | {:.2} |\n",
                    scheme.name,
                    p.parallelism.tp,
                    p.parallelism.pp,
                    p.batch,
                    p.tpot_ms,
                    p.output_tokens_per_s_per_chip,
                    usd,
                    j
                ));
                bars.push(Series {
                    name: format!("{}: {} GPUs at least", scheme.name, fewest_text),
                    points: vec![(i as f64 + 1.0, usd)],
                    style: Style::Squares,
                    color: i,
                });
            }
            None => {
                csv.push_str(&format!("{},{fewest_text},,,,,,,\n", scheme.name));
                md.push_str(&format!(
                    "| {} | {fewest_text} | none fits within 50 ms | | | | |\n",
                    scheme.name
                ));
            }
        }
    }
    let mut out = chart_files(
        "serving-cost",
        &Chart {
            title: "llama-3-70b on 8 x H100: $ per million output tokens, best under 50 ms/token"
                .into(),
            x_label: "scheme (1 bf16, 2 fp8, 3 w8a16, 4 w4a16)".into(),
            y_label: "$ per million output tokens at $2.50 a GPU-hour".into(),
            log_x: false,
            log_y: false,
            series: bars,
            point_labels: Vec::new(),
        },
        csv,
    )?;
    out.insert("generated/serving-cost.md".into(), md.into_bytes());
    Ok(out)
}
