//! The tiled GPU model against real measurements (issue 4's targets).
//! Each number is checked against measured runtimes in results/, never
//! against the model's own output.

use crate::{mlsim, stderr, stdout};

fn validate_json(args: &[&str]) -> serde_json::Value {
    let mut full = vec!["validate", "--format", "json"];
    full.extend_from_slice(args);
    let o = mlsim(&full);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// Datasheet-only T4: MAPE at most 35% over the 32 points (the original
/// before calibration: 60.9%).
#[test]
fn t4_datasheet_only_is_within_35_percent() {
    let v = validate_json(&[
        "--hw",
        "t4",
        "--measurements",
        "results/t4-colab-matmul.csv",
        "--cv",
        "none",
    ]);
    let mape = v["mape_pct"].as_f64().unwrap();
    assert!(mape <= 35.0, "t4 datasheet MAPE {mape}");
}

/// Datasheet-only RTX 4060 Ti on its cuBLASLt dev set (a C++ caller:
/// --launch-us 5): MAPE at most 30%.
#[test]
fn rtx4060ti_datasheet_only_is_within_30_percent() {
    let v = validate_json(&[
        "--hw",
        "rtx4060ti",
        "--measurements",
        "results/rtx4060ti-cublaslt-square.csv",
        "--launch-us",
        "5",
        "--cv",
        "none",
    ]);
    let mape = v["mape_pct"].as_f64().unwrap();
    assert!(mape <= 30.0, "rtx4060ti datasheet MAPE {mape}");
}

/// The calibrated T4, scored on sizes it was not fitted on (leave one size
/// out). Issue 4 asks for 12% / 8%; this model reaches about 15% / 9% (see
/// docs/model/README.md); the test holds that line against regressions.
#[test]
fn t4_calibrated_leave_one_size_out() {
    let v = validate_json(&[
        "--hw",
        "t4-calibrated",
        "--measurements",
        "results/t4-colab-matmul.csv",
    ]);
    let (cv, med) = (
        v["cv_mape_pct"].as_f64().unwrap(),
        v["cv_median_ape_pct"].as_f64().unwrap(),
    );
    assert!(cv <= 16.0 && med <= 10.0, "LOSO MAPE {cv}, median {med}");
    // In-sample is reported next to it, and is not worse than held-out.
    assert!(v["fit_mape_pct"].as_f64().unwrap() <= cv + 1e-9);
}

/// bf16 has no tensor-core path on Turing: predicted slower than fp32 at
/// every N >= 256, as measured (results/t4-colab-matmul.csv: bf16 is slower
/// at every N >= 128).
#[test]
fn bf16_is_slower_than_fp32_on_t4_from_256() {
    for hw in ["t4", "t4-calibrated"] {
        let v = validate_json(&[
            "--hw",
            hw,
            "--measurements",
            "results/t4-colab-matmul.csv",
            "--cv",
            "none",
        ]);
        for verdict in v["verdicts"].as_array().unwrap() {
            let n = verdict["shape"][0].as_u64().unwrap();
            if verdict["dtype"] == "bf16" && n >= 256 {
                assert_eq!(verdict["predicted_faster"], false, "{hw} bf16 at {n}");
                assert_eq!(verdict["measured_faster"], false, "measured bf16 at {n}");
            }
        }
    }
}

#[test]
fn table1_against_the_original() {
    let o = mlsim(&[
        "validate",
        "--hw",
        "t4-calibrated",
        "--measurements",
        "results/t4-colab-matmul.csv",
        "--cv",
        "none",
        "--table1",
        "--baseline",
        "t4-seed",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let table: String = text.lines().take(11).collect::<Vec<_>>().join("\n");
    // The original's 4096 row as the paper prints it: +5, +5, -5, +1.
    assert!(
        table.contains("(+5)") && table.contains("(-5)") && table.contains("(+1)"),
        "{table}"
    );
    insta::assert_snapshot!(table);
}

#[test]
fn crossover_table_with_measurements() {
    let o = mlsim(&[
        "crossover",
        "--hw",
        "t4-calibrated",
        "--measurements",
        "results/t4-colab-matmul.csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o));
}
