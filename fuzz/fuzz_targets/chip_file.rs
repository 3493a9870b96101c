//! Any bytes as a chip file: an error or a valid chip, never a panic; a
//! valid chip is then run through predictions and the conformance suite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlsim_quant::Dtype;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(chip) = mlsim_hw::parse_chip(text, "fuzz.toml") else { return };
    // A chip naming a stack file that does not exist is an error, not a panic.
    let Ok(setup) = mlsim_hw::Setup::with_chip(chip, &Default::default()) else { return };
    let t = setup.target();
    for dtype in [Dtype::Fp32, Dtype::Fp16, Dtype::Int8] {
        for (m, n, k) in [(1, 1, 1), (1000, 3, 70_000), (4096, 4096, 4096)] {
            let p = mlsim_engine::predict_matmul(&t, m, n, k, dtype);
            assert!(p.runtime_ms.is_finite() && p.runtime_ms > 0.0, "{p:?}");
        }
    }
    let _ = mlsim_engine::conformance::check(&t);
});
