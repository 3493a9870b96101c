//! How a row was measured (timing, stack, framework, host floor) travels
//! with it; calibration fits the stack; leave-one-chip-out transfers it.

use mlsim_calibrate::CalibrateError;
use mlsim_calibrate::cv::{host_floor_from_smallest, leave_one_chip_out};
use mlsim_calibrate::fit::{Owner, Param, Sample, default_params, fit, fit_samples};
use mlsim_calibrate::measurements::parse_measurements;
use mlsim_calibrate::targets::RowTargets;
use mlsim_calibrate::validate::{points, summary};
use mlsim_hw::{Setup, SetupSpec, Timing};
use mlsim_quant::Dtype;

use crate::{fp16_kernel_rows, h100_with_fp16_share, row};

fn invalid(text: &str) -> (usize, Option<String>, String) {
    match parse_measurements(text.as_bytes(), "x.csv") {
        Err(CalibrateError::Invalid {
            line,
            column,
            message,
            hint,
            ..
        }) => (
            line,
            column,
            format!("{message} {}", hint.unwrap_or_default()),
        ),
        other => panic!("expected an invalid-file error, got {other:?}"),
    }
}

const HEAD: &str = "hardware,op,m,n,k,dtype,runtime_ms,timing,stack,framework,host_floor_us\n";

#[test]
fn how_measured_columns_are_read_per_row() {
    let text = format!(
        "# host_floor_us: 21.5 (an empty op timed per call)\n{HEAD}\
         X,gemm,64,64,64,fp16,0.03,per-call,cublas-hopper,pytorch-eager,\n\
         X,gemm,64,64,64,fp16,0.004,kernel,cublas-hopper,,\n\
         X,gemm,64,64,64,fp16,0.02,back-to-back,,cpp-direct,7\n"
    );
    let set = parse_measurements(text.as_bytes(), "mixed.csv").unwrap();
    assert_eq!(
        set.rows.len(),
        3,
        "one shape and dtype, three timings: not duplicates"
    );
    let r = &set.rows;
    assert_eq!(r[0].timing, Some(Timing::PerCall));
    assert_eq!(r[1].timing, Some(Timing::Kernel));
    assert_eq!(r[2].timing, Some(Timing::BackToBack));
    assert_eq!(r[0].stack.as_deref(), Some("cublas-hopper"));
    assert_eq!(r[2].stack, None);
    assert_eq!(r[2].framework.as_deref(), Some("cpp-direct"));
    // The header line gives every row its floor; a row's own column wins.
    assert_eq!(r[0].host_floor_us, Some(21.5));
    assert_eq!(r[2].host_floor_us, Some(7.0));
}

#[test]
fn unknown_vocabulary_is_an_error_naming_line_and_column_with_the_accepted_list() {
    let (line, col, msg) = invalid(&format!(
        "{HEAD}X,gemm,8,8,8,fp32,0.1,per-call,,,\nX,gemm,8,8,8,fp16,0.1,cuda-events,,,\n"
    ));
    assert_eq!((line, col.as_deref()), (3, Some("timing")));
    assert!(msg.contains("kernel, back-to-back, per-call"), "{msg}");

    let (line, col, msg) = invalid(&format!("{HEAD}X,gemm,8,8,8,fp32,0.1,,cublas-hoper,,\n"));
    assert_eq!((line, col.as_deref()), (2, Some("stack")));
    assert!(
        msg.contains("cublas-hopper"),
        "lists the accepted stacks: {msg}"
    );

    // A framework is not a library, and the other way round.
    let (_, col, msg) = invalid(&format!("{HEAD}X,gemm,8,8,8,fp32,0.1,,pytorch-eager,,\n"));
    assert_eq!(col.as_deref(), Some("stack"));
    assert!(
        msg.contains("is a framework") && msg.contains("`framework` column"),
        "{msg}"
    );
    let (_, col, _) = invalid(&format!("{HEAD}X,gemm,8,8,8,fp32,0.1,,,cublas-hopper,\n"));
    assert_eq!(col.as_deref(), Some("framework"));
    // The same library file by path: accepted as a stack on one row, still
    // refused as a framework on the next.
    let library = format!(
        "{}/../../stacks/cublas-hopper.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let (line, col, _) = invalid(&format!(
        "{HEAD}X,gemm,8,8,8,fp32,0.1,,{library},,\nX,gemm,8,8,8,fp16,0.1,,,{library},\n"
    ));
    assert_eq!((line, col.as_deref()), (3, Some("framework")));

    for bad in ["0", "-3", "nan", "fast"] {
        let (_, col, _) = invalid(&format!("{HEAD}X,gemm,8,8,8,fp32,0.1,,,,{bad}\n"));
        assert_eq!(col.as_deref(), Some("host_floor_us"), "{bad}");
    }
    let (line, col, _) = invalid(&format!(
        "# host_floor_us: soon\n{HEAD}X,gemm,8,8,8,fp32,0.1,,,,\n"
    ));
    assert_eq!((line, col), (1, None));
    // The same row twice with the same timing is still a duplicate.
    let (line, _, msg) = invalid(&format!(
        "{HEAD}X,gemm,8,8,8,fp32,0.1,kernel,,,\nX,gemm,8,8,8,fp32,0.2,kernel,,,\n"
    ));
    assert_eq!(line, 3);
    assert!(msg.contains("measured twice"), "{msg}");
}

/// Rows are predicted with their own timing: a kernel timing holds no host
/// time, a per-call timing of a tiny kernel holds the floor.
#[test]
fn each_row_is_predicted_with_its_own_timing_and_floor() {
    let mut rows = vec![
        row(32, 32, 32, Dtype::Fp16, 0.03),
        row(32, 32, 32, Dtype::Fp16, 0.003),
    ];
    rows[0].timing = Some(Timing::PerCall);
    rows[0].host_floor_us = Some(30.0);
    rows[1].timing = Some(Timing::Kernel);
    let targets = RowTargets::new(
        mlsim_hw::load("h100-sxm5").unwrap(),
        &SetupSpec::default(),
        &rows,
    )
    .unwrap();
    let p = points(&targets, &rows);
    // Per call: max(K, F + min(K, h)) with F = 30 us and K a few us: F + K.
    assert!(
        p[0].predicted_ms > 0.030 && p[0].predicted_ms < 0.040,
        "{:?}",
        p[0]
    );
    assert!(
        p[1].predicted_ms < 0.008,
        "a kernel timing has no host floor: {:?}",
        p[1]
    );
    assert!((p[1].predicted_ms - (p[0].predicted_ms - 0.030)).abs() < 1e-12);
}

/// Synthetic kernel timings made from a stack with known shares of peak are
/// fitted back, and the fit changes the stack, not the chip.
#[test]
fn calibration_fits_the_stack_and_leaves_the_chip_alone() {
    let start = Setup::load(
        "h100-sxm5",
        &SetupSpec {
            timing: Some(Timing::Kernel),
            ..SetupSpec::default()
        },
    )
    .unwrap();
    let mut truth = start.clone();
    let known = [
        (Param::PathEfficiency(Dtype::Fp16), 0.62),
        (Param::PathEfficiency(Dtype::Int8), 0.2),
    ];
    for (p, v) in known {
        p.set(&mut truth, v);
    }
    let mut rows = Vec::new();
    for n in [512u64, 1024, 2048, 4096, 8192] {
        for dtype in [Dtype::Fp16, Dtype::Int8] {
            let t = mlsim_engine::predict_matmul(&truth.target(), n, n, n, dtype).runtime_ms;
            let mut r = row(n, n, n, dtype, t);
            r.timing = Some(Timing::Kernel);
            rows.push(r);
        }
    }
    let targets = RowTargets::new(start.chip.clone(), &SetupSpec::default(), &rows).unwrap();
    let params: Vec<Param> = known.map(|(p, _)| p).to_vec();
    for p in &params {
        assert_eq!(p.owner(&targets.setup), Owner::Stack, "{p:?}");
    }
    let fitted = fit(&targets, &params, &rows).unwrap();
    for ((p, got), (_, want)) in fitted.values.iter().zip(known) {
        assert!(
            (got - want).abs() / want < 1e-3,
            "{p:?}: fitted {got}, truth {want}"
        );
    }
    assert_eq!(
        fitted.setup.chip, start.chip,
        "the datasheet chip is untouched"
    );
    assert_eq!(
        fitted.setup.stack.efficiency(Dtype::Fp16),
        fitted.values[0].1,
        "the value lives in the stack"
    );
    // Kernel timings put the stack's kernel floor among the defaults; no
    // row is timed with the host in it, so no host floor.
    let defaults = default_params(&targets, &rows);
    assert!(defaults.contains(&Param::KernelFixed));
    assert!(!defaults.contains(&Param::LaunchOverhead));
}

/// Two chips of one generation measured with one library: fitted on one,
/// the stack predicts the other exactly when the truth is one stack, and a
/// fit over both chips refuses a chip value.
#[test]
fn leave_one_chip_out_transfers_the_stack() {
    let spec = SetupSpec {
        timing: Some(Timing::Kernel),
        ..SetupSpec::default()
    };
    let mut truth = Setup::load("h100-sxm5", &spec).unwrap();
    Param::PathEfficiency(Dtype::Bf16).set(&mut truth, 0.7);
    let stack = truth.stack.clone();
    let make = |chip: &str| {
        let mut setup = Setup::load(chip, &spec).unwrap();
        setup.stack = stack.clone();
        [1024u64, 2048, 4096]
            .into_iter()
            .map(|n| {
                let t =
                    mlsim_engine::predict_matmul(&setup.target(), n, n, n, Dtype::Bf16).runtime_ms;
                let mut r = row(n, n, n, Dtype::Bf16, t);
                r.timing = Some(Timing::Kernel);
                r
            })
            .collect::<Vec<_>>()
    };
    let (h100, h200) = (make("h100-sxm5"), make("h200"));
    let t100 = RowTargets::new(
        mlsim_hw::load("h100-sxm5").unwrap(),
        &SetupSpec::default(),
        &h100,
    )
    .unwrap();
    let t200 = RowTargets::new(
        mlsim_hw::load("h200").unwrap(),
        &SetupSpec::default(),
        &h200,
    )
    .unwrap();
    let samples = [
        Sample {
            rows: &t100,
            measured: &h100,
        },
        Sample {
            rows: &t200,
            measured: &h200,
        },
    ];
    let held = leave_one_chip_out(&samples, &[Param::PathEfficiency(Dtype::Bf16)], &[]).unwrap();
    for pts in &held {
        let s = summary(pts).unwrap();
        assert!(
            s.mape_pct < 0.1,
            "held-out chip predicted from the other's fit: {s:?}"
        );
    }
    let err = fit_samples(&samples, &[Param::PathClock(Dtype::Bf16)]).unwrap_err();
    assert!(err.to_string().contains("chip value"), "{err}");
}

/// The floor read off the smallest size: the median of measured minus
/// kernel time (each per-call time is F + K when K is below the timing
/// overhead), by hand on three rows.
#[test]
fn host_floor_read_off_the_smallest_size_by_hand() {
    let mut rows = vec![
        row(32, 32, 32, Dtype::Fp32, 0.0),
        row(32, 32, 32, Dtype::Fp16, 0.0),
        row(32, 32, 32, Dtype::Bf16, 0.0),
        row(1024, 1024, 1024, Dtype::Fp16, 1.0),
    ];
    let targets = RowTargets::new(
        mlsim_hw::load("h200").unwrap(),
        &SetupSpec::default(),
        &rows,
    )
    .unwrap();
    let kernel = |d: Dtype| {
        let t = targets.setup.target().with_timing(Timing::Kernel);
        mlsim_engine::predict_matmul(&t, 32, 32, 32, d).runtime_ms
    };
    for (r, f) in rows.iter_mut().zip([25e-3, 19e-3, 21e-3]) {
        r.runtime_ms = f + kernel(r.dtype);
    }
    let read = host_floor_from_smallest(&targets, &rows).unwrap();
    assert_eq!(read.shape, (32, 32, 32));
    assert!(
        (read.us - 21.0).abs() < 1e-9,
        "median of 25, 19, 21 us: {}",
        read.us
    );
}

/// A share that starts at its bound of 1 still moves: the fit finds a
/// known 0.62 from a stack that says 1.0.
#[test]
fn a_share_starting_at_one_is_fitted() {
    let truth = h100_with_fp16_share(0.62);
    let p = Param::PathEfficiency(Dtype::Fp16);
    let rows = fp16_kernel_rows(&truth, &[512, 1024, 2048, 4096, 8192]);
    let mut start = RowTargets::new(truth.chip.clone(), &SetupSpec::default(), &rows).unwrap();
    let mut at_one = start.setup.clone();
    p.set(&mut at_one, 1.0);
    start = start.with_setup(at_one);
    let fitted = fit(&start, &[p], &rows).unwrap();
    let got = fitted.values[0].1;
    assert!((got - 0.62).abs() < 1e-3, "fitted {got}, truth 0.62");
}

/// Rows that name their stack by a file path are on the setup's stack
/// (loaded from that path): a fit may change it.
#[test]
fn a_stack_named_by_path_is_the_setups() {
    let path = format!(
        "{}/../../stacks/cublas-hopper.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let truth = Setup::load(
        "h100-sxm5",
        &SetupSpec {
            stack: Some(&path),
            timing: Some(Timing::Kernel),
            ..SetupSpec::default()
        },
    )
    .unwrap();
    let mut rows = fp16_kernel_rows(&truth, &[512, 1024, 2048, 4096, 8192]);
    for r in &mut rows {
        r.stack = Some(path.clone());
    }
    let targets = RowTargets::new(truth.chip.clone(), &SetupSpec::default(), &rows).unwrap();
    assert!(targets.all_on_setup_stack(&rows));
    assert!(fit(&targets, &[Param::PathEfficiency(Dtype::Fp16)], &rows).is_ok());
}
