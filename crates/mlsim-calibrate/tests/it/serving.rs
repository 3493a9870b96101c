//! Serving measurement files: parsed with located errors, each row
//! predicted by `mlsim_engine::serving::serve` for the configuration it
//! names, rows the model cannot represent set aside with the reason.

use mlsim_calibrate::serving::{ServingMetric, parse_serving, predict_row, validate_serving};
use mlsim_engine::serving::{Parallelism, serve};
use mlsim_hw::{SetupSpec, Timing};
use mlsim_workload::transformer::load_model;

const HEADER: &str = "model,hardware,num_gpus,precision,tp,pp,engine,engine_version,batch_or_concurrency,input_len,output_len,metric,value,unit\n";

fn file(rows: &str) -> String {
    format!("# synthetic rows (not measurements)\n{HEADER}{rows}")
}

/// The row's metrics are the engine's ServingPoint for the same
/// configuration on the HGX H100 system, CUDA-graph framework: TPOT as
/// is, tokens per second per user = 1000 / TPOT, output tokens per second
/// times the 2 data-parallel replicas of 16 GPUs as 2 x tp 8.
#[test]
fn a_row_is_the_serving_point_of_its_configuration() {
    let text = file(
        "llama-3-70b,h100-sxm5,8,fp8,8,1,vLLM,0.6.0,16,1024,256,tpot_ms,8.0,ms\n\
         llama-3-70b,h100-sxm5,8,fp8,8,1,vLLM,0.6.0,16,1024,256,tokens_per_s_per_user,100,tokens/s\n\
         llama-3-70b,h100-sxm5,16,fp8,8,1,vLLM,0.6.0,16,1024,256,output_tokens_per_s,5000,tokens/s\n",
    );
    let rows = parse_serving(text.as_bytes(), "s.csv").unwrap();
    assert_eq!(rows[0].line, 3);
    let system = mlsim_hw::load_system("hgx-h100-8").unwrap();
    let spec = SetupSpec {
        framework: Some("cuda-graph"),
        timing: Some(Timing::BackToBack),
        ..SetupSpec::default()
    };
    let setup = mlsim_hw::Setup::with_chip(system.chip.clone(), &spec).unwrap();
    let p = serve(
        &setup.target(),
        &system,
        &load_model("llama-3-70b").unwrap(),
        Parallelism { tp: 8, pp: 1 },
        &"fp8".parse().unwrap(),
        16,
        1024,
        256,
        None,
    )
    .unwrap();
    assert_eq!(predict_row(&rows[0]).unwrap(), p.tpot_ms);
    assert!((predict_row(&rows[1]).unwrap() - 1e3 / p.tpot_ms).abs() < 1e-9);
    assert!((predict_row(&rows[2]).unwrap() - 2.0 * p.output_tokens_per_s).abs() < 1e-9);
    let cases = validate_serving(&rows);
    let e = cases[0].error_pct.unwrap();
    assert!((e - 100.0 * (p.tpot_ms - 8.0) / 8.0).abs() < 1e-9);
    assert_eq!(rows[2].metric, ServingMetric::OutputTokensPerS);
}

/// Unknown models, GPU counts that are not whole replicas, batches that do
/// not fit: listed with the reason, never dropped.
#[test]
fn rows_the_model_cannot_represent_are_listed_with_the_reason() {
    let text = file(
        "no-such-model,h100-sxm5,2,bf16,2,1,vLLM,,4,128,128,tpot_ms,10,ms\n\
         llama-3-8b,h100-sxm5,3,bf16,2,1,vLLM,,4,128,128,tpot_ms,10,ms\n\
         llama-3-70b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms,30,ms\n\
         llama-3-8b,h100-sxm5,1,int3,1,1,vLLM,,1,128,128,tpot_ms,30,ms\n",
    );
    let cases = validate_serving(&parse_serving(text.as_bytes(), "s.csv").unwrap());
    assert_eq!(cases.len(), 4);
    let reasons: Vec<&str> = cases
        .iter()
        .map(|c| c.unrepresented.as_deref().unwrap())
        .collect();
    assert!(reasons[0].contains("no-such-model"), "{}", reasons[0]);
    assert!(reasons[1].contains("not whole replicas"), "{}", reasons[1]);
    assert!(reasons[2].contains("do not fit"), "{}", reasons[2]);
    assert!(reasons[3].contains("precision"), "{}", reasons[3]);
    assert!(cases.iter().all(|c| c.predicted.is_none()));
}

#[test]
fn broken_serving_files_name_line_and_column() {
    let cases = [
        (
            file("llama-3-8b,h100-sxm5,0,bf16,1,1,vLLM,,1,128,128,tpot_ms,10,ms\n"),
            "s.csv:3: row 1, column `num_gpus`",
        ),
        (
            file("llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,ttft,10,ms\n"),
            "unknown metric `ttft`",
        ),
        (
            file("llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms,10,tokens/s\n"),
            "column `unit`",
        ),
        (
            file("llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms,NaN,ms\n"),
            "column `value`",
        ),
        (
            file("llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms\n"),
            "s.csv:3",
        ),
        (file(""), "no measurements"),
        (
            "# only a comment\nmodel,hardware\nx,y\n".to_string(),
            "s.csv:2: row 0, column `num_gpus`: missing column",
        ),
    ];
    for (text, expected) in cases {
        let err = parse_serving(text.as_bytes(), "s.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expected),
            "{text}: got `{err}`, expected `{expected}`"
        );
    }
}

/// MAPE and bias per metric by hand: TPOT errors +10% and -30% give MAPE
/// 20% and bias -10%; a row set aside counts in neither.
#[test]
fn errors_per_metric_by_hand() {
    let text = file(
        "llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms,10,ms\n\
         llama-3-8b,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms,10,ms\n\
         deepseek-v3,h100-sxm5,1,bf16,1,1,vLLM,,1,128,128,tpot_ms,10,ms\n",
    );
    let mut cases = validate_serving(&parse_serving(text.as_bytes(), "s.csv").unwrap());
    cases[0].error_pct = Some(10.0);
    cases[1].error_pct = Some(-30.0);
    let m = mlsim_calibrate::serving::by_metric(&cases);
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].metric, m[0].points), ("tpot_ms", 2));
    assert!((m[0].mape_pct - 20.0).abs() < 1e-12 && (m[0].bias_pct + 10.0).abs() < 1e-12);
}

/// Tokens a second per GPU is the run's output over its GPUs, whatever
/// system the prediction is made on: a 3-GPU run (tp 1, pp 3) predicted on
/// an 8-chip node is one replica's tokens over 3, not the node's whole
/// replicas over 8 (2 replicas of 3 over 8 under-counted it by a quarter).
#[test]
fn tokens_per_gpu_are_the_runs_not_the_nodes() {
    for (gpus, tp, pp) in [(3, 1, 3), (6, 2, 3), (8, 8, 1)] {
        let text = file(&format!(
            "llama-3-8b,h100-sxm5,{gpus},bf16,{tp},{pp},vLLM,,8,128,128,output_tokens_per_s,1000,tokens/s\n\
             llama-3-8b,h100-sxm5,{gpus},bf16,{tp},{pp},vLLM,,8,128,128,output_tokens_per_s_per_gpu,100,tokens/s\n"
        ));
        let rows = parse_serving(text.as_bytes(), "s.csv").unwrap();
        let (total, per_gpu) = (
            predict_row(&rows[0]).unwrap(),
            predict_row(&rows[1]).unwrap(),
        );
        assert!(
            (per_gpu * gpus as f64 / total - 1.0).abs() < 1e-12,
            "{gpus} GPUs: {per_gpu} x {gpus} against {total}"
        );
    }
}
