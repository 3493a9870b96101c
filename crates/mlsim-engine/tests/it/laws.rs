//! Property tests: the model's laws on every preset, for random workloads
//! (proptest; each property runs 64 random cases per preset draw).

use std::sync::LazyLock;

use mlsim_engine::crossover::{Family, SearchedCrossover, search};
use mlsim_engine::{predict, predict_matmul};
use mlsim_hw::{ChipModel, Setup};
use mlsim_quant::Dtype;
use mlsim_workload::{ElementwiseKind, Op, Workload};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// A fixed seed, so `cargo test` is deterministic; set MLSIM_PROPTEST_SEED
/// to explore other inputs.
fn seed() -> RngSeed {
    RngSeed::Fixed(
        std::env::var("MLSIM_PROPTEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20261126),
    )
}

static SETUPS: LazyLock<Vec<Setup>> = LazyLock::new(|| {
    mlsim_hw::presets()
        .map(|p| Setup::load(p.name, &Default::default()).unwrap())
        .collect()
});

fn chip_and_dtype() -> impl Strategy<Value = (usize, Dtype)> {
    (0..SETUPS.len(), 0..8usize).prop_map(|(c, d)| {
        let described = SETUPS[c].chip.described_dtypes();
        (c, described[d % described.len()])
    })
}

fn dim() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..64, 64u64..1024, 1024u64..20_000]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        rng_seed: seed(),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn runtime_is_finite_and_positive((c, dtype) in chip_and_dtype(), m in dim(), n in dim(), k in dim()) {
        let p = predict_matmul(&SETUPS[c].target(), m, n, k, dtype);
        prop_assert!(p.runtime_ms.is_finite() && p.runtime_ms > 0.0, "{} {dtype} {m}x{n}x{k}: {p:?}", SETUPS[c].chip.name);
        prop_assert!(p.hit_rate.is_finite() && p.achieved_tflops.is_finite());
    }

    /// GeLU and ReLU move the same bytes; GeLU does 8 FLOPs per element.
    #[test]
    fn more_flops_same_bytes_never_faster((c, dtype) in chip_and_dtype(), n in 1u64..50_000_000) {
        let (chip, t) = (&SETUPS[c].chip, SETUPS[c].target());
        let relu = predict(&t, &Workload::new("r", Op::Elementwise { n, kind: ElementwiseKind::Relu }, dtype).unwrap());
        let gelu = predict(&t, &Workload::new("g", Op::Elementwise { n, kind: ElementwiseKind::Gelu }, dtype).unwrap());
        prop_assert_eq!(relu.bytes, gelu.bytes);
        prop_assert!(gelu.runtime_ms >= relu.runtime_ms, "{}: gelu {} < relu {}", chip.name, gelu.runtime_ms, relu.runtime_ms);
    }

    #[test]
    fn more_bandwidth_at_any_level_never_slower(
        (c, dtype) in chip_and_dtype(), m in dim(), n in dim(), k in dim(), level in 0usize..4, factor in 1.0f64..8.0,
    ) {
        let setup = &SETUPS[c];
        let chip = &setup.chip;
        let mut faster = setup.clone();
        let i = level % faster.chip.memory.len();
        faster.chip.memory[i].bandwidth_bytes_per_s *= factor;
        let (t, t2) = (predict_matmul(&setup.target(), m, n, k, dtype).runtime_ms, predict_matmul(&faster.target(), m, n, k, dtype).runtime_ms);
        prop_assert!(t2 <= t * (1.0 + 1e-12), "{} level {i} x{factor}: {t2} > {t}", chip.name);
    }

    #[test]
    fn larger_caches_never_more_stall(
        (c, dtype) in chip_and_dtype(), m in dim(), n in dim(), k in dim(), level in 0usize..4, factor in 1.0f64..64.0,
    ) {
        let setup = &SETUPS[c];
        let mut bigger = setup.clone();
        let i = level % bigger.chip.memory.len();
        bigger.chip.memory[i].size_bytes *= factor;
        let (a, b) = (predict_matmul(&setup.target(), m, n, k, dtype), predict_matmul(&bigger.target(), m, n, k, dtype));
        // The original's stall; mlsim's CPU model may pick fewer threads
        // when caches grow, trading memory time for a shorter call.
        if let (Some(oa), Some(ob)) = (a.original(), b.original()) {
            prop_assert!(ob.memory_stall_cycles <= oa.memory_stall_cycles * (1.0 + 1e-12) + 1e-9);
        }
        prop_assert!(b.runtime_ms <= a.runtime_ms * (1.0 + 1e-12));
    }

    #[test]
    fn higher_efficiency_never_slower((c, dtype) in chip_and_dtype(), m in dim(), n in dim(), k in dim(), gain in 0.0f64..1.0) {
        let setup = &SETUPS[c];
        let chip = &setup.chip;
        let mut better = setup.clone();
        better.chip.compute.efficiency += (1.0 - better.chip.compute.efficiency) * gain;
        better.stack.efficiency += (1.0 - better.stack.efficiency) * gain;
        for d in Dtype::ALL {
            if let Some(p) = better.stack.paths.get_mut(d)
                && let Some(e) = p.efficiency.as_mut() {
                    *e += (1.0 - *e) * gain;
                }
        }
        let (t, t2) = (predict_matmul(&setup.target(), m, n, k, dtype).runtime_ms, predict_matmul(&better.target(), m, n, k, dtype).runtime_ms);
        prop_assert!(t2 <= t * (1.0 + 1e-12), "{}: {t2} > {t}", chip.name);
    }

    /// A prediction never beats its dtype's roofline at the level that can
    /// hold its bytes (every chip but the original's four, exempt: see
    /// mlsim_engine::conformance).
    #[test]
    fn never_below_the_roofline((c, dtype) in chip_and_dtype(), m in dim(), n in dim(), k in dim()) {
        let (chip, t) = (&SETUPS[c].chip, SETUPS[c].target());
        prop_assume!(chip.model != ChipModel::Original);
        let p = predict_matmul(&t, m, n, k, dtype);
        let bandwidth = mlsim_engine::conformance::serving_bandwidth(chip, p.bytes);
        let ceiling = mlsim_roofline::Roofline::new(chip.ceiling_flops(dtype), bandwidth).unwrap();
        let bound_ms = ceiling.min_runtime_s(p.flops, p.bytes) * 1e3;
        prop_assert!(p.runtime_ms >= bound_ms * (1.0 - 1e-9), "{} {dtype}: {} < {bound_ms}", chip.name, p.runtime_ms);
    }

    /// The crossover search against a scan of every integer size.
    #[test]
    fn crossover_search_matches_brute_force(
        (c, dtype) in chip_and_dtype(), lo in 1u64..2000, span in 1u64..600, fixed in 1u64..4096, square in any::<bool>(),
    ) {
        prop_assume!(dtype != Dtype::Fp32);
        let (chip, t) = (&SETUPS[c].chip, SETUPS[c].target());
        let family = if square { Family::Square } else { Family::M { n: fixed, k: fixed / 2 + 1 } };
        let hi = lo + span;
        let faster = |s: u64| {
            let (m, n, k) = family.shape(s);
            predict_matmul(&t, m, n, k, dtype).runtime_ms < predict_matmul(&t, m, n, k, Dtype::Fp32).runtime_ms
        };
        let mut from = None;
        for s in (lo..=hi).rev() {
            if faster(s) { from = Some(s) } else { break }
        }
        let searched = search(&t, dtype, family, lo, hi);
        let agrees = match (searched, from) {
            (SearchedCrossover::Never, None) => true,
            (SearchedCrossover::Always, Some(s)) => s == lo,
            (SearchedCrossover::From { size, .. }, Some(s)) => size == s,
            _ => false,
        };
        prop_assert!(agrees, "{} {dtype} {family:?} [{lo}, {hi}]: search {searched:?}, scan from {from:?}", chip.name);
    }
}
