//! Any bytes as a system file: an error or a valid system, never a panic;
//! a valid one then prices every collective with finite, non-negative
//! times and serves a small model with finite metrics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlsim_engine::collectives::{Collective, Fabric, cost};
use mlsim_engine::serving::{Parallelism, serve};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(system) = mlsim_hw::parse_system(text, "fuzz.toml", None) else { return };
    for ranks in [1, 2, system.chips_per_node, system.chips()] {
        let Some(fabric) = Fabric::of(&system, ranks) else { continue };
        for c in Collective::ALL {
            for bytes in [0.0, 1.0, 1e9] {
                let t = cost(c, bytes, ranks, fabric).time_s;
                assert!(t.is_finite() && t >= 0.0, "{c:?} {ranks} {bytes}: {t}");
            }
        }
    }
    let Ok(setup) = mlsim_hw::Setup::with_chip(system.chip.clone(), &Default::default()) else { return };
    let cfg = mlsim_workload::transformer::load_model("gpt2").expect("a shipped model");
    let scheme = "w16a16".parse().expect("a scheme");
    if let Ok(p) = serve(&setup.target(), &system, &cfg, Parallelism { tp: 1, pp: 1 }, &scheme, 1, 16, 4, Some(1.0)) {
        assert!(p.tpot_ms.is_finite() && p.tpot_ms > 0.0, "{p:?}");
        assert!(p.ttft_ms.is_finite() && p.ttft_ms > 0.0, "{p:?}");
    }
});
