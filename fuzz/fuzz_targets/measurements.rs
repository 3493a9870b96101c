//! Any bytes as a measurement CSV: an error or measurements, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = mlsim_calibrate::measurements::parse_measurements(data, "fuzz.csv") {
        for r in &set.rows {
            assert!(r.runtime_ms.is_finite() && r.runtime_ms > 0.0);
            assert!(r.m > 0 && r.n > 0 && r.k > 0);
        }
    }
});
