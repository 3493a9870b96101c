//! Any bytes as a serving measurement CSV: an error or rows with positive
//! values, never a panic; every row then predicted or set aside with a
//! reason.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = mlsim_calibrate::serving::parse_serving(data, "fuzz.csv") else { return };
    for r in &rows {
        assert!(r.value.is_finite() && r.value > 0.0, "{r:?}");
    }
    for case in mlsim_calibrate::serving::validate_serving(&rows) {
        assert!(case.predicted.is_some() != case.unrepresented.is_some(), "{case:?}");
        if let Some(p) = case.predicted {
            assert!(p.is_finite() && p > 0.0, "{case:?}");
        }
    }
});
