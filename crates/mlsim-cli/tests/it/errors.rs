//! Bad input: each case exits 2 with a message naming file, line:column and
//! field (snapshotted).

use crate::{TempDir, bad_file, mlsim, stderr};

/// Run `presets check` on a file under tests/it/bad and return stderr with
/// the directory part of the path removed (so snapshots do not depend on
/// where the repository lives).
fn check_bad(name: &str) -> String {
    let o = mlsim(&["presets", "check", &bad_file(name)]);
    assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
    let dir = bad_file("");
    stderr(&o).replace(&dir, "")
}

#[test]
fn negative_bandwidth() {
    let err = check_bad("negative-bandwidth.toml");
    assert!(
        err.contains("negative-bandwidth.toml:34:18: field `memory[1].bandwidth_gb_s`"),
        "{err}"
    );
    insta::assert_snapshot!(err);
}

#[test]
fn unknown_key() {
    let err = check_bad("unknown-key.toml");
    assert!(
        err.contains("unknown-key.toml:14:1: field `compute.peak_tflops`"),
        "{err}"
    );
    insta::assert_snapshot!(err);
}

#[test]
fn wrong_type() {
    let err = check_bad("wrong-type.toml");
    assert!(
        err.contains("wrong-type.toml:12:9: field `compute.units`"),
        "{err}"
    );
    insta::assert_snapshot!(err);
}

#[test]
fn missing_field() {
    let err = check_bad("missing-field.toml");
    assert!(err.contains("field `memory[0].bandwidth_gb_s`"), "{err}");
    insta::assert_snapshot!(err);
}

#[test]
fn levels_out_of_order() {
    let err = check_bad("levels-out-of-order.toml");
    assert!(err.contains("field `memory[1].bandwidth_gb_s`"), "{err}");
    insta::assert_snapshot!(err);
}

#[test]
fn efficiency_above_one() {
    insta::assert_snapshot!(check_bad("efficiency-above-one.toml"));
}

#[test]
fn unknown_dtype_key() {
    insta::assert_snapshot!(check_bad("unknown-dtype.toml"));
}

#[test]
fn syntax_error() {
    insta::assert_snapshot!(check_bad("syntax-error.toml"));
}

#[test]
fn unknown_preset_name() {
    let o = mlsim(&[
        "sim", "matmul", "--hw", "t4-sed", "--m", "1", "--n", "1", "--k", "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&o));
}

#[test]
fn zero_dimension() {
    let o = mlsim(&[
        "sim", "matmul", "--hw", "t4-seed", "--m", "0", "--n", "1", "--k", "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&o));
}

#[test]
fn bad_flag_value() {
    let o = mlsim(&[
        "sim", "matmul", "--hw", "t4-seed", "--m", "1", "--n", "1", "--k", "1", "--dtype", "fp12",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown dtype `fp12`"),
        "{}",
        stderr(&o)
    );
}

/// fp64 needs a path of its own: a TPU (no fp64 units) refuses it in
/// `sim` and `sweep` rather than running it on its fp32 path, and a
/// measurement file with an fp64 row is refused naming the row's line.
#[test]
fn fp64_without_a_path_is_refused() {
    let o = mlsim(&[
        "sim", "matmul", "--hw", "tpu-v5e", "--m", "64", "--n", "64", "--k", "64", "--dtype",
        "fp64",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("chip `tpu-v5e` has no fp64 path"),
        "{}",
        stderr(&o)
    );
    let o = mlsim(&[
        "sweep",
        "--hw",
        "tpu-v5e",
        "--sizes",
        "64",
        "--dtypes",
        "bf16,fp64",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--dtypes fp64"), "{}", stderr(&o));
    let dir = TempDir::new("fp64-rows");
    let file = dir.join("m.csv");
    std::fs::write(
        &file,
        "hardware,op,m,n,k,dtype,runtime_ms\ntpu-v5e,gemm,64,64,64,bf16,0.1\ntpu-v5e,gemm,64,64,64,fp64,0.1\n",
    )
    .unwrap();
    let o = mlsim(&[
        "validate",
        "--hw",
        "tpu-v5e",
        "--measurements",
        file.to_str().unwrap(),
        "--cv",
        "none",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("m.csv:3: row 2, column `dtype`: chip `tpu-v5e` has no fp64 path"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_file() {
    let o = mlsim(&["presets", "check", "no/such/chip.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no/such/chip.toml: cannot read the file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn conflicting_flags() {
    // --baseline needs --table1.
    let o = mlsim(&[
        "validate",
        "--hw",
        "t4",
        "--measurements",
        "results/t4-colab-matmul.csv",
        "--baseline",
        "t4-seed",
    ]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&o));
}

#[test]
fn unreadable_measurements() {
    let o = mlsim(&["validate", "--hw", "t4", "--measurements", "no/such.csv"]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&o));
}

#[test]
fn bad_launch_override() {
    let o = mlsim(&["sweep", "--hw", "t4", "--sizes", "64", "--launch-us", "-3"]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&o));
}

#[test]
fn bad_shape_and_empty_sweep() {
    let o = mlsim(&["sweep", "--hw", "t4", "--shapes", "12x3"]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("bad_shape", stderr(&o));
    let o = mlsim(&["sweep", "--hw", "t4"]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("empty_sweep", stderr(&o));
}

/// Chips and shapes are loaded in parallel; with several bad ones, the
/// error reported is the first in the order given, whatever the threads
/// (the bad shapes sit either side of the middle, where a second thread
/// starts).
#[test]
fn a_sweep_reports_its_first_bad_chip_and_shape() {
    let mut shapes: Vec<String> = (1..=2000).map(|n| format!("{n}x{n}x{n}")).collect();
    shapes[999] = "7x0x7".into();
    shapes[1000] = "0x7x7".into();
    let mut shape_args = vec!["sweep", "--hw", "t4"];
    for s in &shapes {
        shape_args.extend(["--shapes", s.as_str()]);
    }
    for threads in ["1", "2", "7"] {
        let run = |args: &[&str]| {
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_mlsim"))
                .args(args)
                .env("RAYON_NUM_THREADS", threads)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(2));
            stderr(&o)
        };
        let e = run(&[
            "sweep",
            "--hw",
            "t4",
            "--hw",
            "no-such-chip-a",
            "--hw",
            "h200",
            "--hw",
            "no-such-chip-b",
            "--sizes",
            "64",
        ]);
        assert!(
            e.starts_with("error: unknown name `no-such-chip-a`"),
            "{threads}: {e}"
        );
        let e = run(&shape_args);
        assert!(
            e.starts_with("error: invalid shape 7x0x7:"),
            "{threads}: {e}"
        );
    }
}

#[test]
fn huge_shape_is_refused_not_wrapped() {
    let o = mlsim(&[
        "sim", "matmul", "--hw", "t4", "--m", "10000000", "--n", "10000000", "--k", "10000000",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exceeds 2^53"), "{}", stderr(&o));
}

/// `mlsim ... | head`: a reader that closes the pipe early is not an
/// error: exit 0 and nothing on stderr, for table, CSV and JSON output.
#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::process::{Command, Stdio};
    // Far more output than a pipe buffers (64 KiB), so the writer is still
    // writing when the pipe closes.
    let sizes: Vec<String> = (1..=600).map(|i| (i * 16).to_string()).collect();
    let sizes = sizes.join(",");
    for format in ["table", "csv", "json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlsim"))
            .args([
                "sweep", "--hw", "h200", "--sizes", &sizes, "--format", format,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{format}: {:?}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{format}");
    }
}
