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
