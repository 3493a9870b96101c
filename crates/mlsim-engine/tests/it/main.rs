//! Integration tests of mlsim-engine (one binary to keep link time down).

mod collectives;
mod conformance;
mod cpu_terms;
mod crossover;
mod gpu_terms;
mod laws;
mod model;
mod mutation;
mod parity;
mod predictor;
mod properties;
mod serving;

/// Tolerance for comparing with a number printed in a fixture: 1e-6
/// relative, or half a unit in the last printed digit when the fixture
/// printed fewer digits than that.
pub fn printed_tolerance(printed: &str, expected: f64) -> f64 {
    let mantissa = printed.split(['e', 'E']).next().unwrap();
    let exponent: i32 = printed
        .split(['e', 'E'])
        .nth(1)
        .map_or(0, |e| e.parse().unwrap());
    let decimals = mantissa.split('.').nth(1).map_or(0, |d| d.len() as i32);
    let half_unit = 0.5 * 10f64.powi(exponent - decimals);
    (1e-6 * expected.abs()).max(half_unit)
}

/// Assert `got` equals the fixture's `printed` number within
/// [`printed_tolerance`].
pub fn assert_close(what: &str, got: f64, printed: &str) {
    let expected: f64 = printed
        .parse()
        .unwrap_or_else(|_| panic!("{what}: `{printed}` is not a number"));
    let tol = printed_tolerance(printed, expected);
    assert!(
        (got - expected).abs() <= tol,
        "{what}: got {got}, original printed {printed} (tolerance {tol:e})"
    );
}

#[test]
fn printed_tolerance_by_hand() {
    assert_eq!(printed_tolerance("0.195312", 0.195312), 5e-7);
    assert!((printed_tolerance("1.25664", 1.25664) - 5e-6).abs() < 1e-18);
    assert!((printed_tolerance("9.18709582e+09", 9.18709582e9) - 9.18709582e3).abs() < 1e-3);
    assert!((printed_tolerance("0.0660689389", 0.0660689389) - 6.60689389e-8).abs() < 1e-20);
}
