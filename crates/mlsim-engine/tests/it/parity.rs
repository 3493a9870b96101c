//! Parity with the original program: every row of its outputs
//! (tests/fixtures/seed-predictions.csv, seed-crossover.csv) reproduced on
//! the four original presets.

use std::collections::HashMap;

use mlsim_engine::{quant, simulate};
use mlsim_quant::Dtype;
use mlsim_workload::Workload;
use mlsim_workload::suites::{Suite, square_matmul_sweep};

use crate::assert_close;

const PREDICTIONS: &str = include_str!("../fixtures/seed-predictions.csv");
const CROSSOVER: &str = include_str!("../fixtures/seed-crossover.csv");

fn records(text: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn suite_workloads(suite: &str) -> Vec<Workload> {
    match suite {
        "llm" => Suite::Llm.workloads(),
        "vision" => Suite::Vision.workloads(),
        "scaling" => Suite::Scaling.workloads(),
        "square-matmul" => square_matmul_sweep(
            &[32, 64, 128, 256, 512, 1024, 2048, 4096, 8192],
            &[Dtype::Fp32, Dtype::Fp16, Dtype::Bf16, Dtype::Int8],
        ),
        other => panic!("unknown suite {other}"),
    }
}

#[test]
fn all_208_prediction_rows_match_the_original() {
    let rows = records(PREDICTIONS);
    assert_eq!(rows.len(), 208);
    let mut chips = HashMap::new();
    for row in &rows {
        let preset = &row["preset"];
        let chip = chips
            .entry(preset.clone())
            .or_insert_with(|| mlsim_hw::Setup::load(preset, &Default::default()).unwrap());
        let dtype: Dtype = row["dtype"].parse().unwrap();
        let workload = suite_workloads(&row["suite"])
            .into_iter()
            .find(|w| w.name == row["workload"] && w.dtype == dtype)
            .unwrap_or_else(|| {
                panic!(
                    "no workload {} {} in suite {}",
                    row["workload"], dtype, row["suite"]
                )
            });
        let what = |col: &str| format!("{preset} / {} / {dtype} / {col}", workload.name);
        let r = simulate(&chip.target(), &workload).prediction;

        assert_eq!(
            r.flops,
            row["flops"].parse::<f64>().unwrap(),
            "{}",
            what("flops")
        );
        assert_eq!(
            r.bytes,
            row["bytes"].parse::<f64>().unwrap(),
            "{}",
            what("bytes")
        );
        assert_close(
            &what("AI (original's convention)"),
            workload.seed_arithmetic_intensity(),
            &row["arithmetic_intensity"],
        );
        assert_close(&what("runtime_ms"), r.runtime_ms, &row["runtime_ms"]);
        let o = r.original().expect("the original's chips are on its model");
        assert_close(
            &what("cycles"),
            o.compute_cycles + o.exposed_stall_cycles,
            &row["compute_cycles_total"],
        );
        assert_close(
            &what("stall"),
            o.memory_stall_cycles,
            &row["memory_stall_cycles"],
        );
        assert_close(
            &what("utilisation"),
            r.compute_utilization,
            &row["compute_utilization"],
        );
        assert_close(&what("TFLOPS"), r.achieved_tflops, &row["effective_tflops"]);
        assert_close(&what("hit rate"), r.hit_rate, &row["cache_hit_rate"]);
        assert_eq!(
            r.bottleneck.as_str(),
            row["bottleneck"],
            "{}",
            what("bottleneck")
        );
    }
}

/// The original's target names in seed-crossover.csv, and our presets.
fn preset_for(target: &str) -> &'static str {
    match target {
        "CPU (x86 AVX-512)" => "cpu-avx512-desktop",
        "GPU (T4)" => "t4-seed",
        "NPU (systolic + HBM)" => "npu-systolic",
        other => panic!("unknown target {other}"),
    }
}

#[test]
fn quantization_analysis_matches_the_original() {
    let rows = records(CROSSOVER);
    assert_eq!(rows.len(), 84);
    let workloads = quant::standard_workloads();
    let mut checked = 0;
    for target in ["CPU (x86 AVX-512)", "GPU (T4)", "NPU (systolic + HBM)"] {
        let setup = mlsim_hw::Setup::load(preset_for(target), &Default::default()).unwrap();
        assert_eq!(setup.chip.display_name, target);
        for w in &workloads {
            let ours = quant::analyse(&setup.target(), w);
            for row in rows
                .iter()
                .filter(|r| r["hardware"] == target && r["workload"] == w.name)
            {
                let dtype: Dtype = row["dtype"].parse().unwrap();
                let q = ours
                    .iter()
                    .find(|q| q.dtype == dtype)
                    .unwrap_or_else(|| panic!("{target} {} {dtype}", w.name));
                let what = |col: &str| format!("{target} / {} / {dtype} / {col}", w.name);
                assert_close(&what("base"), q.base_runtime_ms, &row["base_runtime_ms"]);
                assert_close(
                    &what("dequant"),
                    q.dequant_overhead_ms,
                    &row["dequant_overhead_ms"],
                );
                assert_close(
                    &what("layout"),
                    q.layout_overhead_ms,
                    &row["layout_overhead_ms"],
                );
                assert_close(
                    &what("scale"),
                    q.scale_overhead_ms,
                    &row["scale_overhead_ms"],
                );
                assert_close(
                    &what("adjusted"),
                    q.adjusted_runtime_ms,
                    &row["adjusted_runtime_ms"],
                );
                assert_close(&what("speedup"), q.speedup_vs_fp32, &row["speedup_vs_fp32"]);
                assert_close(
                    &what("crossover AI"),
                    q.crossover_ai.unwrap(),
                    &row["crossover_ai"],
                );
                assert_eq!(
                    q.original_verdict,
                    row["is_beneficial"] == "True",
                    "{}",
                    what("original verdict")
                );
                // Our verdict compares runtimes: it must agree with the speedup.
                if dtype != Dtype::Fp32 {
                    assert_eq!(
                        q.beneficial,
                        Some(q.speedup_vs_fp32 > 1.0),
                        "{}",
                        what("verdict")
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 84);
}

#[test]
fn our_verdict_fixes_the_original_cpu_fp16_defect() {
    // The original says fp16 is "beneficial" on its CPU for a 512^3 matmul
    // although it runs at 0.036x the fp32 speed; we say it is not.
    let setup = mlsim_hw::Setup::load("cpu-avx512-desktop", &Default::default()).unwrap();
    let w = &quant::standard_workloads()[1];
    let fp16 = quant::analyse(&setup.target(), w)
        .into_iter()
        .find(|q| q.dtype == Dtype::Fp16)
        .unwrap();
    assert!(fp16.original_verdict);
    assert_eq!(fp16.beneficial, Some(false));
    assert!(fp16.speedup_vs_fp32 < 0.04);
}
