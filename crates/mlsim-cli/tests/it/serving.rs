//! `mlsim systems`, `mlsim collective` and `mlsim serve` from the command
//! line: the numbers of the hand calculations in mlsim-engine's tests come
//! out of the binary, the search meets its limits, bad input exits 2.

use crate::{mlsim, stderr, stdout};

fn json(args: &[&str]) -> serde_json::Value {
    let o = mlsim(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// 1 GB ring all-reduce over 8 H100s: 14 x 1 us + 1.75e9 / 450e9 =
/// 3902.889 us (docs/model/collectives.md).
#[test]
fn collective_prints_the_hand_calculation() {
    let v = json(&[
        "collective",
        "--system",
        "hgx-h100-8",
        "--op",
        "all-reduce",
        "--bytes",
        "1GB",
        "--format",
        "json",
    ]);
    let c = &v["costs"][0];
    assert_eq!(c["algorithm"], "ring");
    let t = c["time_s"].as_f64().unwrap();
    assert!((t - (14e-6 + 1.75e9 / 450e9)).abs() < 1e-12, "{t}");
}

#[test]
fn serve_meets_its_limits() {
    let v = json(&[
        "serve",
        "--model",
        "llama-3-70b",
        "--system",
        "hgx-h100-8",
        "--ttft-ms",
        "500",
        "--tpot-ms",
        "50",
        "--format",
        "json",
    ]);
    let best = &v["best"];
    assert!(best["ttft_ms"].as_f64().unwrap() <= 500.0);
    assert!(best["tpot_ms"].as_f64().unwrap() <= 50.0);
    assert!(best["fits"].as_bool().unwrap());
    assert_eq!(v["framework"], "cuda-graph");
    // The best of all is the best of the per-scheme bests.
    let top = v["per_scheme"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["best"]["output_tokens_per_s_per_chip"].as_f64())
        .fold(0.0, f64::max);
    assert_eq!(best["output_tokens_per_s_per_chip"].as_f64().unwrap(), top);
}

/// DeepSeek-V3 in fp8 (671 GB of weights; 87.0 GB a chip at TP 8) does
/// not fit eight 80 GiB H100s and does fit eight 141 GB H200s; the JSON
/// carries the latent cache a token (61 x 576 x 1 B, whole on every chip),
/// the imbalance as applied, the replicas and each step's terms.
#[test]
fn serve_deepseek_v3_fits_h200s_not_h100s_in_fp8() {
    let args = |system: &'static str| {
        vec![
            "serve",
            "--model",
            "deepseek-v3",
            "--system",
            system,
            "--schemes",
            "fp8",
            "--max-batch",
            "16",
            "--moe-imbalance",
            "1.5",
            "--format",
            "json",
        ]
    };
    let h100 = json(&args("hgx-h100-8"));
    assert!(h100["best"].is_null(), "{h100}");
    let h200 = json(&args("hgx-h200-8"));
    let best = &h200["best"];
    assert!(best["fits"].as_bool().unwrap());
    assert_eq!(best["parallelism"]["tp"], 8);
    assert_eq!(best["replicas"], 1);
    assert_eq!(best["kv_bytes_per_token_per_chip"], 35_136.0);
    assert_eq!(best["weight_bytes_per_chip"], 87_015_374_848.0);
    assert_eq!(best["moe_imbalance"], 1.5);
    let d = &best["decode_step"];
    let parts =
        d["stage_compute_ms"].as_f64().unwrap() + d["stage_collective_ms"].as_f64().unwrap();
    assert!((d["step_ms"].as_f64().unwrap() - parts).abs() < 1e-9, "{d}");
    assert!(d["stage_all_to_all_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(best["tpot_ms"], d["step_ms"]);
}

/// `mlsim model` on DeepSeek-V3: decode runs the weight-absorbed latent
/// attention (`q_absorb`, `v_absorb`, no per-head K/V up-projection),
/// prefill the expanded one (`kv_b_proj`); the KV cache of 2 sequences of
/// 1000 tokens in fp8 is 2 x 1000 x 61 x (512 + 64) x 1 B = 70,272,000 B.
#[test]
fn model_step_of_deepseek_v3_shows_the_latent_attention() {
    let step = |phase: &str| {
        json(&[
            "model",
            "--hw",
            "h200",
            "--model",
            "deepseek-v3",
            "--phase",
            phase,
            "--batch",
            "2",
            "--seq",
            "1000",
            "--scheme",
            "fp8",
            "--format",
            "json",
        ])
    };
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_string())
            .collect()
    };
    let decode = step("decode");
    let ops = names(&decode);
    for op in [
        "q_a_proj",
        "kv_a_proj",
        "q_absorb",
        "v_absorb",
        "shared_up",
        "expert_up",
        "ffn_up",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op}: {ops:?}");
    }
    assert!(!ops.iter().any(|o| o == "kv_b_proj" || o == "qkv_proj"));
    assert_eq!(decode["kv_cache_bytes"], 70_272_000.0);
    assert!(!decode["fits"].as_bool().unwrap(), "671 GB on one H200");
    let prefill = names(&step("prefill"));
    assert!(prefill.iter().any(|o| o == "kv_b_proj"));
    assert!(!prefill.iter().any(|o| o == "q_absorb"));
}

/// Replicas: a split of tp x pp chips runs 8 / (tp pp) times on an 8-GPU
/// node; the system's tokens/s are the replicas', per chip over the 8.
#[test]
fn serve_counts_replicas() {
    let v = json(&[
        "serve",
        "--model",
        "llama-3-8b",
        "--system",
        "hgx-h100-8",
        "--schemes",
        "bf16",
        "--max-batch",
        "4",
        "--format",
        "json",
    ]);
    let b = &v["best"];
    let chips = b["parallelism"]["tp"].as_u64().unwrap() * b["parallelism"]["pp"].as_u64().unwrap();
    assert_eq!(b["replicas"].as_u64().unwrap(), 8 / chips);
    let system = b["system_output_tokens_per_s"].as_f64().unwrap();
    assert_eq!(
        system,
        b["replicas"].as_f64().unwrap() * b["output_tokens_per_s"].as_f64().unwrap()
    );
    assert_eq!(
        b["output_tokens_per_s_per_chip"].as_f64().unwrap(),
        system / 8.0
    );
}

#[test]
fn bad_serving_input_exits_2_with_a_message() {
    for (args, expected) in [
        (
            vec!["serve", "--model", "llama-9", "--system", "hgx-h100-8"],
            "llama-9",
        ),
        (
            vec!["serve", "--model", "llama-3-8b", "--system", "hgx-h999-8"],
            "hgx-h999-8",
        ),
        (
            vec![
                "serve",
                "--model",
                "llama-3-8b",
                "--system",
                "hgx-h100-8",
                "--tpot-ms",
                "0",
            ],
            "--tpot-ms",
        ),
        (
            vec![
                "serve",
                "--model",
                "llama-3-8b",
                "--system",
                "hgx-h100-8",
                "--prompt",
                "0",
            ],
            "--prompt",
        ),
        (
            vec![
                "serve",
                "--model",
                "llama-3-8b",
                "--system",
                "hgx-h100-8",
                "--usd-per-hour=-1",
            ],
            "--usd-per-hour",
        ),
        (
            vec![
                "serve",
                "--model",
                "llama-3-8b",
                "--system",
                "hgx-h100-8",
                "--moe-imbalance",
                "2",
            ],
            "--moe-imbalance: llama-3-8b has no mixture of experts",
        ),
        (
            vec![
                "serve",
                "--model",
                "mixtral-8x7b",
                "--system",
                "hgx-h100-8",
                "--moe-imbalance",
                "0.5",
            ],
            "--moe-imbalance: expected the busiest chip's load over the mean, 1 to 65536, got 0.5",
        ),
        (
            vec![
                "collective",
                "--system",
                "hgx-h100-8",
                "--op",
                "broadcast",
                "--bytes",
                "1",
            ],
            "broadcast",
        ),
        (
            vec![
                "collective",
                "--system",
                "hgx-h100-8",
                "--op",
                "all-reduce",
                "--bytes",
                "1",
                "--ranks",
                "9",
            ],
            "--ranks 9",
        ),
        (
            vec!["systems", "check", "no-such-system.toml"],
            "no-such-system.toml",
        ),
    ] {
        let o = mlsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{args:?}: {}", stderr(&o));
    }
}
