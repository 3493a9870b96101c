//! Files of medians over repeated runs carry each point's run-to-run
//! spread; scoring uses it: a prediction is judged against the spread, and
//! a verdict the benchmark itself cannot repeat is not scored.

use mlsim_calibrate::CalibrateError;
use mlsim_calibrate::measurements::parse_measurements;
use mlsim_calibrate::validate::{Point, fastest, verdicts};
use mlsim_hw::Timing;
use mlsim_quant::Dtype;

const HEAD: &str = "hardware,op,m,n,k,dtype,runtime_ms,spread_pct,repeats\n";

#[test]
fn spread_and_repeats_are_read_and_checked() {
    let set = parse_measurements(
        format!("{HEAD}X,gemm,64,64,64,fp32,0.03,44.2,6\nX,gemm,64,64,64,fp16,0.02,,\n").as_bytes(),
        "median.csv",
    )
    .unwrap();
    assert_eq!(set.rows[0].spread_pct, Some(44.2));
    assert_eq!(set.rows[0].repeats, Some(6));
    assert_eq!(set.rows[1].spread_pct, None, "an empty cell says nothing");
    for (cells, column) in [
        ("-1,6", "spread_pct"),
        ("nan,6", "spread_pct"),
        ("wide,6", "spread_pct"),
        ("5,0", "repeats"),
        ("5,2.5", "repeats"),
        // One run has no spread.
        ("5,1", "spread_pct"),
    ] {
        let text = format!("{HEAD}X,gemm,64,64,64,fp32,0.03,{cells}\n");
        match parse_measurements(text.as_bytes(), "bad.csv") {
            Err(CalibrateError::Invalid {
                line, column: c, ..
            }) => {
                assert_eq!(line, 2, "{cells}");
                assert_eq!(c.as_deref(), Some(column), "{cells}");
            }
            other => panic!("{cells}: expected an error, got {other:?}"),
        }
    }
}

fn point(n: u64, dtype: Dtype, measured_ms: f64, predicted_ms: f64, spread: Option<f64>) -> Point {
    Point {
        op: mlsim_calibrate::measurements::MeasuredOp::Gemm,
        m: n,
        n,
        k: n,
        dtype,
        timing: Timing::PerCall,
        measured_ms,
        predicted_ms,
        error_pct: 100.0 * (predicted_ms - measured_ms) / measured_ms,
        spread_pct: spread,
        outside_spread_flag: None,
    }
}

/// By hand: fp16 at 0.95 of fp32's time is a 5.3% gap, inside a 10%
/// spread: not scored. bf16 at 0.5 of it, a 100% gap: scored. Without
/// spreads every verdict is scored.
#[test]
fn verdicts_within_the_spread_are_not_scored() {
    let pts = [
        point(64, Dtype::Fp32, 1.0, 1.0, Some(10.0)),
        point(64, Dtype::Fp16, 0.95, 1.2, Some(8.0)),
        point(64, Dtype::Bf16, 0.5, 0.6, Some(2.0)),
    ];
    let v = verdicts(&pts);
    let of = |d: Dtype| v.iter().find(|x| x.dtype == d).unwrap();
    assert!(!of(Dtype::Fp16).resolved);
    assert!(of(Dtype::Bf16).resolved);
    // The fastest (bf16) beats the runner-up (fp16, 0.95) by 90%: scored.
    assert!(fastest(&pts)[0].resolved);
    let unspread: Vec<Point> = pts
        .iter()
        .map(|p| Point {
            spread_pct: None,
            ..p.clone()
        })
        .collect();
    assert!(verdicts(&unspread).iter().all(|x| x.resolved));
    // Two dtypes 3% apart with a 5% spread: the fastest is not scored.
    let close = [
        point(128, Dtype::Fp16, 1.0, 1.0, Some(5.0)),
        point(128, Dtype::Bf16, 1.03, 0.9, Some(1.0)),
    ];
    assert!(!fastest(&close)[0].resolved);
}

/// Runs spread over 25%: half of it either side on a log scale, a factor
/// 1.125. A prediction 10% high (ln 1.1 = 0.095 < ln 1.125 = 0.118) is
/// inside, 20% high outside, and 10% low inside too (ln(1/0.9) = 0.105):
/// over and under are judged alike. With a 180% spread (a factor 1.9
/// either side) a prediction at 0.4 of the measurement (ln 2.5 = 0.92 >
/// ln 1.9 = 0.64) is outside, which a linear test against -180% would
/// never say. Without a spread nothing is said.
#[test]
fn a_prediction_is_judged_against_the_spread() {
    let outside =
        |pred: f64, spread: Option<f64>| point(64, Dtype::Fp32, 1.0, pred, spread).outside_spread();
    assert_eq!(outside(1.1, Some(25.0)), Some(false));
    assert_eq!(outside(1.2, Some(25.0)), Some(true));
    assert_eq!(outside(0.9, Some(25.0)), Some(false));
    assert_eq!(outside(0.4, Some(180.0)), Some(true));
    assert_eq!(outside(0.7, None), None);
}

/// Memory kernels: STREAM's `copy`, `scale`, `add`, `triad` over `n`
/// elements per array, `m` and `k` empty; two kernels of the same size are
/// two points, not a duplicate; STREAM's add moves three arrays.
#[test]
fn memory_kernel_rows_are_read() {
    use mlsim_calibrate::measurements::MeasuredOp;
    let head = "hardware,op,m,n,k,dtype,runtime_ms\n";
    let set = parse_measurements(
        format!(
            "{head}X,copy,,4096,,fp32,0.001\nX,scale,,4096,,fp32,0.001\nX,add,,4096,,fp32,0.0015\nX,triad,,4096,,fp32,0.0015\n"
        )
        .as_bytes(),
        "probe.csv",
    )
    .unwrap();
    let ops: Vec<MeasuredOp> = set.rows.iter().map(|r| r.op).collect();
    assert_eq!(ops, MeasuredOp::STREAM);
    assert!(set.rows.iter().all(|r| r.n == 4096));
    // Bytes STREAM counts: 2 arrays of 4-byte elements for copy, 3 for add.
    let bytes = |op: MeasuredOp| {
        let kind = op.elementwise().unwrap();
        mlsim_workload::Workload::new(
            "x",
            mlsim_workload::Op::Elementwise { n: 4096, kind },
            mlsim_quant::Dtype::Fp32,
        )
        .unwrap()
        .bytes()
    };
    assert_eq!(bytes(MeasuredOp::Copy), 2.0 * 4.0 * 4096.0);
    assert_eq!(bytes(MeasuredOp::Add), 3.0 * 4.0 * 4096.0);
    for (row, column) in [
        ("X,copy,4096,4096,,fp32,0.001", "m"),
        ("X,triad,,4096,8,fp32,0.001", "k"),
        ("X,triad,,,,fp32,0.001", "n"),
        ("X,nstream,,4096,,fp32,0.001", "op"),
    ] {
        match parse_measurements(format!("{head}{row}\n").as_bytes(), "bad.csv") {
            Err(CalibrateError::Invalid { column: c, .. }) => {
                assert_eq!(c.as_deref(), Some(column), "{row}")
            }
            other => panic!("{row}: expected an error, got {other:?}"),
        }
    }
}

/// Memory kernels do not bend the compute fit: GEMM kernel timings made
/// from a known fp16 share of 0.62 are fitted back to 0.62 with absurd
/// copy rows beside them (a model without a memory parameter to fit
/// leaves them out of the fit), and the original's holdout reads its
/// launch constant off the smallest GEMM, not off a smaller probe.
#[test]
fn memory_kernels_do_not_inform_a_compute_fit() {
    use mlsim_calibrate::fit::{Param, fit};
    use mlsim_calibrate::measurements::MeasuredOp;
    use mlsim_calibrate::targets::RowTargets;
    use mlsim_hw::SetupSpec;
    let truth = crate::h100_with_fp16_share(0.62);
    let p = Param::PathEfficiency(Dtype::Fp16);
    let mut rows = crate::fp16_kernel_rows(&truth, &[512, 1024, 2048, 4096]);
    for n in [512u64, 1024, 2048, 4096] {
        // A copy 1000 times slower than anything the model predicts.
        let mut c = crate::row(1, n * n, 1, Dtype::Fp16, 1000.0);
        c.op = MeasuredOp::Copy;
        c.timing = Some(Timing::Kernel);
        rows.push(c);
    }
    let targets = RowTargets::new(truth.chip.clone(), &SetupSpec::default(), &rows).unwrap();
    let got = fit(&targets, &[p], &rows).unwrap().values[0].1;
    assert!((got - 0.62).abs() < 1e-3, "fitted {got}, truth 0.62");

    // The original's model: the holdout's smallest size is the 64^3 GEMM.
    let mut cpu_rows = vec![
        crate::row(64, 64, 64, Dtype::Fp32, 0.01),
        crate::row(128, 128, 128, Dtype::Fp32, 0.05),
    ];
    let mut c = crate::row(1, 16, 1, Dtype::Fp32, 0.001);
    c.op = MeasuredOp::Copy;
    cpu_rows.push(c);
    let cpu = RowTargets::new(
        mlsim_hw::load("dev-epyc-milan-2vcpu").unwrap(),
        &SetupSpec::default(),
        &cpu_rows,
    )
    .unwrap();
    let h = mlsim_calibrate::cv::holdout(&cpu, &cpu_rows).unwrap();
    assert_eq!(h.from_shape, (64, 64, 64));
}
