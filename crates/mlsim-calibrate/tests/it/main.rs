//! Integration tests of mlsim-calibrate: reading files, fitting, scores.

use mlsim_calibrate::CalibrateError;
use mlsim_calibrate::fit::{Param, default_params, fit};
use mlsim_calibrate::measurements::{Measurement, parse_measurements};
use mlsim_calibrate::targets::RowTargets;
use mlsim_calibrate::validate::{points, summary};
use mlsim_hw::{Setup, SetupSpec};
use mlsim_quant::Dtype;

mod malformed;
mod mutation;
mod serving;
mod spread;
mod stacks;

/// A measured row with nothing said about how it was measured.
pub fn row(m: u64, n: u64, k: u64, dtype: Dtype, runtime_ms: f64) -> Measurement {
    Measurement {
        hardware: "synthetic".into(),
        op: mlsim_calibrate::measurements::MeasuredOp::Gemm,
        m,
        n,
        k,
        dtype,
        runtime_ms,
        timing: None,
        stack: None,
        framework: None,
        host_floor_us: None,
        spread_pct: None,
        repeats: None,
        line: 0,
    }
}

/// The H100 with its default stack, timed by kernel, and its fp16 path at
/// a known share of peak: the truth synthetic measurements are made from.
pub fn h100_with_fp16_share(share: f64) -> Setup {
    let spec = SetupSpec {
        timing: Some(mlsim_hw::Timing::Kernel),
        ..SetupSpec::default()
    };
    let mut truth = Setup::load("h100-sxm5", &spec).unwrap();
    Param::PathEfficiency(Dtype::Fp16).set(&mut truth, share);
    truth
}

/// Kernel timings of `truth` in fp16 at the square sizes `sizes`.
pub fn fp16_kernel_rows(truth: &Setup, sizes: &[u64]) -> Vec<Measurement> {
    sizes
        .iter()
        .map(|&n| {
            let t = mlsim_engine::predict_matmul(&truth.target(), n, n, n, Dtype::Fp16).runtime_ms;
            let mut r = row(n, n, n, Dtype::Fp16, t);
            r.timing = Some(mlsim_hw::Timing::Kernel);
            r
        })
        .collect()
}

/// Measurements generated from known parameters are fitted back.
///
/// Truth: t4-seed with efficiency 0.40, fp16 x6.0, int8 x3.0 and a 15 us
/// launch overhead; "measured" runtimes are the truth's predictions times a
/// deterministic +-3% perturbation. The fit starts from t4-seed's own values
/// (0.528, 5.55, 4.21, 0 us) and must recover each parameter within 5%.
#[test]
fn synthetic_round_trip_recovers_known_parameters() {
    let start = Setup::load("t4-seed", &SetupSpec::default()).unwrap();
    let mut truth = start.clone();
    let known = [
        (Param::Efficiency, 0.40),
        (Param::Speedup(Dtype::Fp16), 6.0),
        (Param::Speedup(Dtype::Int8), 3.0),
        (Param::LaunchOverhead, 15.0),
    ];
    for (p, v) in known {
        p.set(&mut truth, v);
    }
    let mut rows = Vec::new();
    for (i, n) in [32u64, 64, 128, 256, 512, 1024, 2048, 4096]
        .into_iter()
        .enumerate()
    {
        for (j, dtype) in [Dtype::Fp32, Dtype::Fp16, Dtype::Int8]
            .into_iter()
            .enumerate()
        {
            let exact = mlsim_engine::predict_matmul(&truth.target(), n, n, n, dtype).runtime_ms;
            // Deterministic "noise" in [-3%, +3%].
            let noise = 1.0 + 0.03 * (((i * 3 + j) * 7919 % 13) as f64 / 6.0 - 1.0);
            rows.push(row(n, n, n, dtype, exact * noise));
        }
    }
    let targets = RowTargets::new(start.chip.clone(), &SetupSpec::default(), &rows).unwrap();
    let params = default_params(&targets, &rows);
    assert_eq!(params, known.map(|(p, _)| p).to_vec());
    let fitted = fit(&targets, &params, &rows).unwrap();
    for ((p, got), (_, want)) in fitted.values.iter().zip(known) {
        assert!(
            (got - want).abs() / want < 0.05,
            "{p:?}: fitted {got}, truth {want}"
        );
    }
    // And the fitted model predicts the points within the noise.
    let s = summary(&points(&targets.with_setup(fitted.setup), &rows)).unwrap();
    assert!(s.mape_pct < 3.0, "in-sample MAPE {}", s.mape_pct);
}

#[test]
fn the_original_format_is_accepted() {
    let text = "hardware,workload,matrix_size,dtype,runtime_ms,tflops,arithmetic_intensity,flops,bytes_accessed\n\
                GPU (T4),MatMul 32x32x32,32,fp32,0.020968,0.0031,5.33,65536,12288\n\
                GPU (T4),MatMul 64x64x64,64,int8,0.017374,0.0302,42.67,524288,12288\n";
    let set = parse_measurements(text.as_bytes(), "seed.csv").unwrap();
    assert_eq!(set.rows.len(), 2);
    assert_eq!((set.rows[1].m, set.rows[1].n, set.rows[1].k), (64, 64, 64));
    assert_eq!(set.rows[1].dtype, Dtype::Int8);
    assert_eq!(set.rows[1].line, 3);
    assert!(set.ignored_columns.is_empty());
}

#[test]
fn comments_and_unused_columns_are_reported_not_dropped() {
    let text = "# measured on my desk\nhardware,op,m,n,k,dtype,runtime_ms,gpu_clock_mhz\n\n# warm\nX,gemm,8,16,32,fp16,0.5,1590\n";
    let set = parse_measurements(text.as_bytes(), "mine.csv").unwrap();
    assert_eq!(set.rows.len(), 1);
    assert_eq!(set.rows[0].line, 5);
    assert_eq!((set.rows[0].m, set.rows[0].n, set.rows[0].k), (8, 16, 32));
    assert_eq!(set.ignored_columns, vec!["gpu_clock_mhz".to_string()]);
}

/// A `# clock:` comment gives the cores' clock: the mean of its GHz values
/// (3.48 and 3.46: 3.47), none when it says it was not measured.
#[test]
fn a_clock_comment_gives_the_host_clock() {
    let rows = "hardware,op,m,n,k,dtype,runtime_ms\nX,gemm,8,16,32,fp32,0.5\n";
    let clocked = format!(
        "# clock: 3.48 GHz before the points, 3.46 GHz after (all-core integer clock)\n{rows}"
    );
    let set = parse_measurements(clocked.as_bytes(), "c.csv").unwrap();
    assert!((set.host_clock_ghz.unwrap() - 3.47).abs() < 1e-12);
    let half = format!("# clock: not measured before the points, 3.5 GHz after\n{rows}");
    let set = parse_measurements(half.as_bytes(), "c.csv").unwrap();
    assert_eq!(set.host_clock_ghz, Some(3.5));
    let none = format!("# clock: not measured before the points, not measured after\n{rows}");
    assert_eq!(
        parse_measurements(none.as_bytes(), "c.csv")
            .unwrap()
            .host_clock_ghz,
        None
    );
    assert_eq!(
        parse_measurements(rows.as_bytes(), "c.csv")
            .unwrap()
            .host_clock_ghz,
        None
    );
}

#[test]
fn loso_needs_two_sizes() {
    let rows = vec![row(8, 8, 8, Dtype::Fp32, 1.0)];
    let targets = RowTargets::new(
        mlsim_hw::load("t4-seed").unwrap(),
        &SetupSpec::default(),
        &rows,
    )
    .unwrap();
    let err = mlsim_calibrate::cv::leave_one_size_out(&targets, &[Param::Efficiency], &[], &rows)
        .unwrap_err();
    assert!(matches!(err, CalibrateError::Unsupported(_)));
}

/// Up to 100 sizes, each is held out alone; beyond, 100 folds, size j (in
/// sorted order) in fold j mod 100, so that the fits stop growing with the
/// file (one fit per size made calibrate quadratic in rows).
#[test]
fn size_folds_hold_each_size_once_and_stop_at_one_hundred() {
    use mlsim_calibrate::cv::{MAX_SIZE_FOLDS, size_folds};
    assert_eq!(MAX_SIZE_FOLDS, 100);
    assert_eq!(size_folds(5), vec![0, 1, 2, 3, 4]);
    assert_eq!(size_folds(100), (0..100).collect::<Vec<_>>());
    let folds = size_folds(250);
    assert_eq!(folds.len(), 250);
    // Fold 0 holds sizes 0, 100 and 200; fold 60 sizes 60 and 160.
    let members = |f: usize| -> Vec<usize> { (0..250).filter(|&j| folds[j] == f).collect() };
    assert_eq!(members(0), vec![0, 100, 200]);
    assert_eq!(members(60), vec![60, 160]);
    assert!((0..100).all(|f| !members(f).is_empty()));
    assert_eq!(*folds.iter().max().unwrap(), 99);
}

/// A file of 120 sizes gets 100 folds: every row held out exactly once, in
/// file order, and the report says which cross-validation it was.
#[test]
fn a_file_of_more_than_one_hundred_sizes_is_cross_validated_in_folds() {
    use mlsim_calibrate::cv::{leave_one_size_out, size_cv_name};
    // fp16 GEMMs at 16, 24, ..., 968: a known rate and a 20 us floor.
    let rows: Vec<Measurement> = (0..120u64)
        .map(|j| {
            let s = 16 + 8 * j;
            let ms = 2.0 * (s * s * s) as f64 / 20e12 * 1e3 + 0.02;
            row(s, s, s, Dtype::Fp16, ms)
        })
        .collect();
    assert_eq!(size_cv_name(&rows[..100]), "leave-one-size-out");
    assert_eq!(size_cv_name(&rows), "100-fold by size");
    let targets = RowTargets::new(
        mlsim_hw::load("t4-seed").unwrap(),
        &SetupSpec::default(),
        &rows,
    )
    .unwrap();
    let held = leave_one_size_out(&targets, &[Param::Efficiency], &[], &rows).unwrap();
    assert_eq!(held.len(), rows.len());
    for (p, r) in held.iter().zip(&rows) {
        assert_eq!(
            (p.m, p.n, p.k),
            (r.m, r.n, r.k),
            "held-out points in file order"
        );
    }
}
