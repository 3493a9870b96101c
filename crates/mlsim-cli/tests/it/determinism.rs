//! Same inputs, byte-identical outputs, whatever the thread count.

use std::process::Command;

fn run(args: &[&str], threads: &str) -> Vec<u8> {
    let o = Command::new(env!("CARGO_BIN_EXE_mlsim"))
        .args(args)
        .current_dir(crate::workspace_root())
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

#[test]
fn json_outputs_are_identical_across_runs_and_thread_counts() {
    let cases: [&[&str]; 5] = [
        &["run", "all", "--format", "json"],
        &[
            "validate",
            "--hw",
            "t4",
            "--measurements",
            "results/t4-colab-matmul.csv",
            "--format",
            "json",
        ],
        &[
            "sweep",
            "--hw",
            "h200",
            "--sizes",
            "64,1024,8192",
            "--dtypes",
            "fp32,fp16,int8",
            "--format",
            "csv",
        ],
        &["crossover", "--hw", "t4-calibrated", "--format", "json"],
        &[
            "sweep",
            "--hw",
            "h200",
            "--hw",
            "b200",
            "--sizes",
            "64,1000,8192",
            "--dtypes",
            "fp16,mxfp4",
            "--format",
            "csv",
            "--shard",
            "1/3",
        ],
    ];
    for args in cases {
        let one = run(args, "1");
        assert!(!one.is_empty());
        assert_eq!(one, run(args, "1"), "{args:?}: two runs differ");
        assert_eq!(one, run(args, "2"), "{args:?}: 1 and 2 threads differ");
        assert_eq!(one, run(args, "3"), "{args:?}: 1 and 3 threads differ");
    }
}
