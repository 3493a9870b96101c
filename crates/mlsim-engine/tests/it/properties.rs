//! Behavioural laws of the engine that hold for every embedded preset.

use mlsim_engine::{predict, predict_matmul, sweep};
use mlsim_quant::Dtype;
use mlsim_workload::suites::Suite;
use mlsim_workload::{Op, Workload};

#[test]
fn runtimes_are_finite_positive_and_grow_with_work() {
    for preset in mlsim_hw::presets() {
        let setup = mlsim_hw::Setup::load(preset.name, &Default::default()).unwrap();
        let chip = &setup.chip;
        for dtype in [Dtype::Fp32, Dtype::Fp16, Dtype::Int8, Dtype::Int4] {
            let mut last = 0.0;
            for n in [1u64, 7, 32, 100, 512, 1000, 4096, 10_000] {
                let p = predict(
                    &setup.target(),
                    &Workload::new("m", Op::matmul(n, n, n), dtype).unwrap(),
                );
                assert!(
                    p.runtime_ms.is_finite() && p.runtime_ms > 0.0,
                    "{} {dtype} {n}",
                    chip.name
                );
                assert!((0.0..=1.0).contains(&p.hit_rate));
                // Larger squares never run faster (the tiling floor can make a
                // larger matmul more efficient, but not faster overall).
                assert!(
                    p.runtime_ms >= last,
                    "{} {dtype}: N={n} faster than a smaller size",
                    chip.name
                );
                last = p.runtime_ms;
            }
        }
    }
}

#[test]
fn shape_only_path_equals_workload_path() {
    for hw in ["t4-seed", "h100-sxm5"] {
        let setup = mlsim_hw::Setup::load(hw, &Default::default()).unwrap();
        let t = setup.target();
        for (m, n, k) in [(1, 1, 1), (512, 64, 4096), (3000, 17, 9)] {
            let w = Workload::new("m", Op::matmul(m, n, k), Dtype::Bf16).unwrap();
            assert_eq!(predict(&t, &w), predict_matmul(&t, m, n, k, Dtype::Bf16));
        }
    }
}

#[test]
fn sweep_order_and_values_do_not_depend_on_threads() {
    let setups: Vec<_> = mlsim_hw::presets()
        .map(|p| mlsim_hw::Setup::load(p.name, &Default::default()).unwrap())
        .collect();
    let chips: Vec<_> = setups.iter().map(mlsim_hw::Setup::target).collect();
    let workloads: Vec<Workload> = Suite::ALL.iter().flat_map(|s| s.workloads()).collect();
    let serial: Vec<_> = chips
        .iter()
        .flat_map(|c| workloads.iter().map(|w| mlsim_engine::simulate(c, w)))
        .collect();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let parallel = pool.install(|| sweep(&chips, &workloads));
        assert_eq!(parallel, serial, "{threads} threads");
    }
}
