//! `mlsim validate-serving`: measured LLM serving runs against `mlsim
//! serve`'s predictions, row by row, with MAPE per metric; rows the model
//! cannot represent are listed with the reason, never dropped
//! (results/README.md, "Serving measurements").

use std::path::PathBuf;

use clap::Args;
use mlsim_calibrate::serving::{ServingCase, by_metric, read_serving, validate_serving};

use crate::output::{Format, Table, csv_num, sig, write_csv, write_json};
use crate::{CmdResult, FormatArg};

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  mlsim validate-serving --measurements my-vllm-runs.csv")]
pub struct ValidateServingArgs {
    /// Serving measurement CSV (results/README.md, "Serving measurements").
    #[arg(long, value_name = "FILE")]
    measurements: PathBuf,
    #[command(flatten)]
    format: FormatArg,
}

pub fn run(args: &ValidateServingArgs) -> CmdResult {
    let rows = read_serving(&args.measurements)?;
    let cases = validate_serving(&rows);
    let by_metric = by_metric(&cases);
    match args.format.format {
        Format::Json => write_json(&serde_json::json!({
            "measurements": args.measurements.display().to_string(),
            "cases": cases,
            "by_metric": by_metric,
        }))?,
        Format::Csv => {
            let rows: Vec<Vec<String>> = cases
                .iter()
                .map(|c| {
                    let r = &c.row;
                    vec![
                        r.line.to_string(),
                        r.model.clone(),
                        r.hardware.clone(),
                        r.num_gpus.to_string(),
                        r.precision.clone(),
                        r.tp.to_string(),
                        r.pp.to_string(),
                        r.engine.clone(),
                        r.batch.to_string(),
                        r.input_len.to_string(),
                        r.output_len.to_string(),
                        r.metric.name().to_string(),
                        csv_num(r.value),
                        c.predicted.map(csv_num).unwrap_or_default(),
                        c.error_pct.map(csv_num).unwrap_or_default(),
                        c.unrepresented.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            write_csv(
                &[
                    "line",
                    "model",
                    "hardware",
                    "num_gpus",
                    "precision",
                    "tp",
                    "pp",
                    "engine",
                    "batch_or_concurrency",
                    "input_len",
                    "output_len",
                    "metric",
                    "measured",
                    "predicted",
                    "error_pct",
                    "unrepresented",
                ],
                &rows,
            )?;
        }
        Format::Table => {
            let mut t = Table::new([
                "line",
                "model",
                "hardware",
                "gpus",
                "precision",
                "tp x pp",
                "batch",
                "in/out",
                "metric",
                "measured",
                "predicted",
                "error %",
            ]);
            for c in cases.iter().filter(|c| c.predicted.is_some()) {
                let r = &c.row;
                t.row([
                    r.line.to_string(),
                    r.model.clone(),
                    r.hardware.clone(),
                    r.num_gpus.to_string(),
                    r.precision.clone(),
                    format!("{} x {}", r.tp, r.pp),
                    r.batch.to_string(),
                    format!("{}/{}", r.input_len, r.output_len),
                    r.metric.name().to_string(),
                    sig(r.value, 4),
                    c.predicted.map_or("-".into(), |p| sig(p, 4)),
                    c.error_pct.map_or("-".into(), |e| format!("{e:+.1}")),
                ]);
            }
            outln!(
                "Serving runs of {} against mlsim serve (chips on the cuda-graph framework, back to back)",
                args.measurements.display()
            );
            out!("{}", t.render());
            let mut m = Table::new(["metric", "points", "MAPE %", "bias %"]);
            for e in &by_metric {
                m.row([
                    e.metric.to_string(),
                    e.points.to_string(),
                    format!("{:.1}", e.mape_pct),
                    format!("{:+.1}", e.bias_pct),
                ]);
            }
            outln!();
            out!("{}", m.render());
            let set_aside: Vec<&ServingCase> =
                cases.iter().filter(|c| c.unrepresented.is_some()).collect();
            if !set_aside.is_empty() {
                outln!(
                    "\n{} of {} rows the model cannot represent:",
                    set_aside.len(),
                    cases.len()
                );
                for c in set_aside {
                    outln!(
                        "  line {}: {}",
                        c.row.line,
                        c.unrepresented.as_deref().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(())
}
