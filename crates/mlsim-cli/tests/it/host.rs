//! `mlsim measure cpu` and `mlsim hw detect` on the machine running the tests.

use crate::{mlsim, stderr, stdout};

#[test]
fn measure_cpu_writes_a_file_validate_reads() {
    let dir = crate::TempDir::new("measure");
    let out = dir.join("h.csv").display().to_string();
    let o = mlsim(&[
        "measure",
        "cpu",
        "--sizes",
        "16,32",
        "--reps",
        "3",
        "--warmup",
        "1",
        "--threads",
        "1",
        "--out",
        &out,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("# mlsim measure cpu"));
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 1 + 4);
    let v = mlsim(&[
        "validate",
        "--hw",
        "dev-epyc-milan-2vcpu",
        "--measurements",
        &out,
        "--cv",
        "none",
        "--format",
        "json",
    ]);
    assert!(v.status.success(), "{}", stderr(&v));
    let json: serde_json::Value = serde_json::from_str(&stdout(&v)).unwrap();
    assert_eq!(json["points"].as_array().unwrap().len(), 4);
}

#[test]
fn measure_refuses_dtypes_it_cannot_run() {
    let o = mlsim(&["measure", "cpu", "--dtypes", "int8"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("dtype int8 cannot be measured on the CPU"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn hw_detect_prints_a_chip_file_presets_check_accepts() {
    let o = mlsim(&["hw", "detect"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = crate::TempDir::new("detect");
    let f = dir.join("host.toml");
    std::fs::write(&f, stdout(&o)).unwrap();
    let c = mlsim(&["presets", "check", &f.display().to_string()]);
    assert!(c.status.success(), "{}", stderr(&c));
}
