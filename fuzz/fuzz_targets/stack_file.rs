//! Any bytes as a stack file (a kernel library or a framework): an error or
//! a valid stack, never a panic; a valid one then predicts finite positive
//! runtimes on an H100 under every timing method.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlsim_hw::{Setup, Timing};
use mlsim_quant::Dtype;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut setup = Setup::load("h100-sxm5", &Default::default()).expect("an embedded preset");
    if let Ok(stack) = mlsim_hw::parse_stack(text, "fuzz.toml") {
        setup.stack = stack;
    } else if let Ok(framework) = mlsim_hw::parse_framework(text, "fuzz.toml") {
        setup.framework = framework;
    } else {
        return;
    }
    for timing in Timing::ALL {
        let t = setup.target().with_timing(timing);
        for dtype in [Dtype::Fp32, Dtype::Fp16, Dtype::Int8] {
            for (m, n, k) in [(1, 1, 1), (1000, 3, 70_000), (4096, 4096, 4096)] {
                let p = mlsim_engine::predict_matmul(&t, m, n, k, dtype);
                assert!(p.runtime_ms.is_finite() && p.runtime_ms > 0.0, "{p:?}");
            }
        }
    }
});
