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

/// A prediction 20% off a measurement whose runs spread over 25% is inside
/// the spread; 30% off is outside; without a spread nothing is said.
#[test]
fn a_prediction_is_judged_against_the_spread() {
    assert_eq!(
        point(64, Dtype::Fp32, 1.0, 1.2, Some(25.0)).outside_spread(),
        Some(false)
    );
    assert_eq!(
        point(64, Dtype::Fp32, 1.0, 0.7, Some(25.0)).outside_spread(),
        Some(true)
    );
    assert_eq!(
        point(64, Dtype::Fp32, 1.0, 0.7, None).outside_spread(),
        None
    );
}

/// Memory probes: `copy` and `triad` over m elements, n = k = 1; a copy
/// and a triad of the same size are two points, not a duplicate.
#[test]
fn memory_probe_rows_are_read() {
    let head = "hardware,op,m,n,k,dtype,runtime_ms\n";
    let set = parse_measurements(
        format!("{head}X,copy,4096,1,1,fp32,0.001\nX,triad,4096,1,1,fp32,0.0015\n").as_bytes(),
        "probe.csv",
    )
    .unwrap();
    use mlsim_calibrate::measurements::MeasuredOp;
    assert_eq!(set.rows[0].op, MeasuredOp::Copy);
    assert_eq!(set.rows[1].op, MeasuredOp::Triad);
    for (row, column) in [
        ("X,copy,4096,2,1,fp32,0.001", "n"),
        ("X,triad,4096,1,8,fp32,0.001", "k"),
        ("X,scale,4096,1,1,fp32,0.001", "op"),
    ] {
        match parse_measurements(format!("{head}{row}\n").as_bytes(), "bad.csv") {
            Err(CalibrateError::Invalid { column: c, .. }) => {
                assert_eq!(c.as_deref(), Some(column), "{row}")
            }
            other => panic!("{row}: expected an error, got {other:?}"),
        }
    }
}
