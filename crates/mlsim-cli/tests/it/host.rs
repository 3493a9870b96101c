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

/// Repeats in one process and the memory probe: rows of medians with
/// their spread, STREAM's four kernels over n elements per array whose
/// bandwidth is physical, and a file `validate` scores.
#[test]
fn measure_cpu_repeats_and_probes_memory() {
    let dir = crate::TempDir::new("stream");
    let out = dir.join("s.csv").display().to_string();
    let o = mlsim(&[
        "measure",
        "cpu",
        "--sizes",
        "16",
        "--dtypes",
        "fp32",
        "--reps",
        "3",
        "--warmup",
        "1",
        "--max-seconds",
        "0.05",
        "--repeats",
        "2",
        "--stream",
        "--stream-max-mib",
        "0.03",
        "--out",
        &out,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
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
    let points = json["points"].as_array().unwrap();
    let probes: Vec<&serde_json::Value> = points.iter().filter(|p| p["op"] != "gemm").collect();
    for op in ["copy", "scale", "add", "triad"] {
        assert!(probes.iter().any(|p| p["op"] == op), "{op}: {points:?}");
    }
    for p in &probes {
        // Arrays of at most 0.03 MiB: 7864 f32 elements.
        assert!(p["n"].as_u64().unwrap() <= 7864, "{p}");
        // Under 10 TB/s counting each array once: no machine moves more.
        let arrays = if p["op"] == "copy" || p["op"] == "scale" {
            2.0
        } else {
            3.0
        };
        let bytes = arrays * 4.0 * p["n"].as_f64().unwrap();
        let tb_s = bytes / (p["measured_ms"].as_f64().unwrap() * 1e-3) / 1e12;
        assert!(tb_s < 10.0, "{p}: {tb_s} TB/s");
    }
    // Every point is a median of two rounds with its spread.
    assert_eq!(
        json["points_with_spread"].as_u64(),
        Some(points.len() as u64)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.lines().any(|l| l.starts_with("# caches:")));
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

/// `validate` says when a CPU chip file's clock is more than 5% from the
/// one the measurement file's `# clock:` line measured (compute times
/// scale with it), and says nothing for a chip within 5% or a GPU.
#[test]
fn validate_notes_a_chip_clock_far_from_the_measured_one() {
    let dir = crate::TempDir::new("clock-note");
    let f = dir.join("m.csv");
    std::fs::write(
        &f,
        "# clock: 2.00 GHz before the points, 2.00 GHz after\nhardware,op,m,n,k,dtype,runtime_ms\nX,gemm,64,64,64,fp32,0.01\nX,gemm,128,128,128,fp32,0.05\n",
    )
    .unwrap();
    let f = f.display().to_string();
    let note = |hw: &str| {
        let o = mlsim(&["validate", "--hw", hw, "--measurements", &f, "--cv", "none"]);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
            .lines()
            .any(|l| l.contains("the cores ran at 2.00 GHz"))
    };
    // dev-epyc-genoa-2vcpu says 3.7 GHz.
    assert!(note("dev-epyc-genoa-2vcpu"));
    assert!(!note("h100-sxm5"));
    let near = dir.join("near.toml");
    let preset =
        std::fs::read_to_string(crate::workspace_root().join("presets/dev-epyc-genoa-2vcpu.toml"))
            .unwrap();
    std::fs::write(
        &near,
        preset.replace("frequency_ghz = 3.7", "frequency_ghz = 2.05"),
    )
    .unwrap();
    assert!(!note(&near.display().to_string()));
}

/// A quick `measure cpu` run (one fp32 size, one thread) into `out`,
/// with `extra` flags.
fn quick_measure(out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "measure",
        "cpu",
        "--sizes",
        "16",
        "--dtypes",
        "fp32",
        "--reps",
        "2",
        "--warmup",
        "1",
        "--threads",
        "1",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    mlsim(&args)
}

/// `measure cpu --out` never replaces earlier measurements unless told:
/// without `--force` it stops before measuring (exit 2, the file named, the
/// file untouched); with `--force` the new rows replace it.
#[test]
fn measure_keeps_an_existing_file_unless_forced() {
    let dir = crate::TempDir::new("measure-force");
    let out = dir.join("old.csv");
    std::fs::write(&out, "# earlier measurements\n").unwrap();
    let out_s = out.display().to_string();
    let o = quick_measure(&out_s, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("old.csv: a file is there already"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "# earlier measurements\n"
    );
    let o = quick_measure(&out_s, &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("# mlsim measure cpu"));
    // The header says the clock the cores ran at, before and after.
    let clock = text.lines().find(|l| l.starts_with("# clock: ")).unwrap();
    assert!(
        clock.contains("GHz before the points") && clock.contains("GHz after"),
        "{clock}"
    );
    // Written through a temporary file beside it, which does not stay.
    let names: Vec<String> = std::fs::read_dir(&*dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["old.csv"]);
}

/// A measurement file cannot be written where its folder is a file: a
/// clear error naming the path, exit 2, before measuring.
#[test]
fn measure_into_an_unwritable_location_is_a_clear_error() {
    let dir = crate::TempDir::new("measure-unwritable");
    let blocker = dir.join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let out = blocker.join("h.csv").display().to_string();
    let o = quick_measure(&out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
    assert!(stderr(&o).contains("h.csv"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "x");
}

/// `hw detect --measure-memory` replaces the guessed bandwidths it can
/// measure within the probe's cap (here 4 MiB, so that the debug build's
/// probe stays short): L1 at least on any machine with a cache of 1 MiB or
/// less; the file still passes `presets check`, and every bandwidth line
/// says whether it was measured or guessed.
#[test]
fn hw_detect_measures_what_it_can_and_marks_the_rest_guessed() {
    let o = mlsim(&["hw", "detect", "--measure-memory", "--memory-max-mib", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let bandwidths: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("bandwidth_gb_s"))
        .collect();
    assert!(!bandwidths.is_empty(), "{text}");
    assert!(
        bandwidths
            .iter()
            .all(|l| l.contains("# measured:") || l.contains("# guessed:")),
        "{text}"
    );
    if std::path::Path::new("/sys/devices/system/cpu/cpu0/cache/index0").exists() {
        assert!(bandwidths[0].contains("# measured:"), "{text}");
    }
    // Main memory is 64 MiB at least: never measured under a 4 MiB cap.
    assert!(bandwidths.last().unwrap().contains("# guessed:"), "{text}");
    let dir = crate::TempDir::new("detect-measured");
    let f = dir.join("host.toml");
    std::fs::write(&f, &text).unwrap();
    let c = mlsim(&["presets", "check", &f.display().to_string()]);
    assert!(c.status.success(), "{}", stderr(&c));
}

/// `hw detect --measure-clock` measures the clock rather than reading it
/// (the line says so and the peak follows it), and a detected chip runs the
/// dtypes `measure cpu` times: fp64 too, at half the fp32 lanes (it was
/// refused: the file had no fp64 rate). A debug build says its probe reads
/// low.
#[test]
fn hw_detect_measures_the_clock_and_describes_fp64() {
    let o = mlsim(&["hw", "detect", "--measure-clock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let value = |key: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with(key)).unwrap();
        line.split('=')
            .nth(1)
            .unwrap()
            .split('#')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let line = text
        .lines()
        .find(|l| l.starts_with("frequency_ghz"))
        .unwrap();
    assert!(
        line.contains("# measured: a chain of dependent integer adds"),
        "{line}"
    );
    let (ghz, peak, lanes, units) = (
        value("frequency_ghz"),
        value("peak_fp32_tflops"),
        value("simd_width"),
        value("units"),
    );
    // The peak is units x lanes x 2 (FMA) x the measured clock: the clock
    // is printed to 4 decimals of a GHz and the peak to 6 of a TFLOP/s.
    let rounding = units * lanes * 2.0 * 0.5e-4 / 1e3 + 0.5e-6;
    assert!(
        (peak - units * lanes * 2.0 * ghz / 1e3).abs() <= rounding,
        "{text}"
    );
    assert!(text.contains("fp64 = 0.5"), "{text}");
    assert_eq!(
        stderr(&o).contains("debug build"),
        cfg!(debug_assertions),
        "{}",
        stderr(&o)
    );
    let dir = crate::TempDir::new("detect-clock");
    let f = dir.join("host.toml");
    std::fs::write(&f, &text).unwrap();
    let f = f.display().to_string();
    let c = mlsim(&["presets", "check", &f]);
    assert!(c.status.success(), "{}", stderr(&c));
    let time = |dtype: &str| -> f64 {
        let o = mlsim(&[
            "sim", "matmul", "--hw", &f, "--m", "2048", "--n", "2048", "--k", "2048", "--dtype",
            dtype, "--format", "json",
        ]);
        assert!(o.status.success(), "{dtype}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["compute_ms"].as_f64().unwrap()
    };
    // Compute at half the fp32 rate: twice the time, within the padding's
    // and the clock's rounding.
    let ratio = time("fp64") / time("fp32");
    assert!((ratio - 2.0).abs() < 0.01, "fp64 / fp32 compute {ratio}");
}

#[test]
fn hw_detect_refuses_a_memory_cap_without_measuring() {
    let o = mlsim(&["hw", "detect", "--memory-max-mib", "4"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// `hw memory` rewrites a chip file's bandwidths with what it measures
/// (here within 2 MiB, the Genoa dev preset's L1 and L2 probes, so that the
/// debug build's probe stays short): renamed, the measured levels say so,
/// the rest keep the file's value or come down to the level above's, and
/// the result loads as a chip. (Not `presets check`: a debug build's probe
/// measures its unoptimised loops, bandwidths low enough that a GEMV on one
/// core is slower than m = 2 on two, which the laws refuse; see
/// docs/model/cpu-blocked.md.) An existing --out is kept without --force
/// (exit 2).
#[test]
fn hw_memory_rewrites_a_chip_files_bandwidths() {
    let dir = crate::TempDir::new("hw-memory");
    let out = dir.join("measured.toml");
    let out_s = out.display().to_string();
    let args = [
        "hw",
        "memory",
        "--hw",
        "dev-epyc-genoa-2vcpu",
        "--memory-max-mib",
        "2",
        "--out",
        &out_s,
    ];
    let o = mlsim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("measured GB/s"), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("name = \"dev-epyc-genoa-2vcpu-measured-memory\""),
        "{text}"
    );
    let bandwidths: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("bandwidth_gb_s"))
        .collect();
    assert_eq!(bandwidths.len(), 4, "{text}");
    assert!(bandwidths[0].contains("# measured:"), "{text}");
    assert!(bandwidths[1].contains("# measured:"), "{text}");
    // L3's probe (16 MiB) and main memory's are past the 2 MiB cap.
    assert!(bandwidths[2].contains("the file's"), "{text}");
    let c = mlsim(&[
        "sim", "--hw", &out_s, "matmul", "--m", "64", "--n", "64", "--k", "64",
    ]);
    assert!(c.status.success(), "{}", stderr(&c));
    let again = mlsim(&args);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn hw_memory_names_an_unknown_chip() {
    let o = mlsim(&["hw", "memory", "--hw", "no-such-chip"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-chip"), "{}", stderr(&o));
}
