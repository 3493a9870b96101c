//! Prediction speed: one matmul on `t4-seed`, and a one-million-point
//! parallel sweep. Targets (issue 2): <= 100 ns per prediction on one
//! thread; >= 10 million predictions per second on two cores.

use divan::counter::ItemsCount;
use mlsim_quant::Dtype;
use mlsim_workload::{Op, Workload};

fn main() {
    divan::main();
}

#[divan::bench]
fn one_matmul_prediction(bencher: divan::Bencher) {
    let setup = mlsim_hw::Setup::load("t4-seed", &Default::default()).unwrap();
    let chip = setup.target();
    let w = Workload::new("mm", Op::matmul(1024, 1024, 1024), Dtype::Fp16).unwrap();
    bencher.bench(|| mlsim_engine::predict(divan::black_box(&chip), divan::black_box(&w)));
}

#[divan::bench]
fn one_matmul_prediction_shape_only(bencher: divan::Bencher) {
    let setup = mlsim_hw::Setup::load("t4-seed", &Default::default()).unwrap();
    let chip = setup.target();
    bencher.bench(|| {
        mlsim_engine::predict_matmul(
            divan::black_box(&chip),
            divan::black_box(1024),
            1024,
            1024,
            Dtype::Fp16,
        )
    });
}

#[divan::bench(sample_count = 10)]
fn million_point_parallel_sweep(bencher: divan::Bencher) {
    let setup = mlsim_hw::Setup::load("t4-seed", &Default::default()).unwrap();
    let chip = setup.target();
    let sizes: Vec<u64> = (0..1_000_000u64).map(|i| 16 + i % 8192).collect();
    bencher.counter(ItemsCount::new(sizes.len())).bench(|| {
        mlsim_engine::predict_square_matmuls(&chip, divan::black_box(&sizes), Dtype::Fp16)
    });
}

#[divan::bench(sample_count = 10)]
fn million_point_parallel_sweep_runtimes_only(bencher: divan::Bencher) {
    let setup = mlsim_hw::Setup::load("t4-seed", &Default::default()).unwrap();
    let chip = setup.target();
    let sizes: Vec<u64> = (0..1_000_000u64).map(|i| 16 + i % 8192).collect();
    bencher.counter(ItemsCount::new(sizes.len())).bench(|| {
        mlsim_engine::square_matmul_runtimes_ms(&chip, divan::black_box(&sizes), Dtype::Fp16)
    });
}

#[divan::bench]
fn one_matmul_prediction_gpu_model(bencher: divan::Bencher) {
    let setup = mlsim_hw::Setup::load("h100-sxm5", &Default::default()).unwrap();
    let chip = setup.target();
    bencher.bench(|| {
        mlsim_engine::predict_matmul(
            divan::black_box(&chip),
            divan::black_box(1024),
            1024,
            1024,
            Dtype::Fp16,
        )
    });
}

/// The same prediction through a [`mlsim_engine::Predictor`] (what `mlsim
/// sweep` uses: the dtype's GEMM plan and host floor resolved once).
#[divan::bench]
fn one_matmul_prediction_gpu_model_predictor(bencher: divan::Bencher) {
    let setup = mlsim_hw::Setup::load("h100-sxm5", &Default::default()).unwrap();
    let chip = setup.target();
    let predictor = mlsim_engine::Predictor::new(&chip);
    let w = Workload::new("mm", Op::matmul(1024, 1024, 1024), Dtype::Fp16).unwrap();
    bencher.bench(|| divan::black_box(&predictor).predict(divan::black_box(&w)));
}

/// 10,000 serving configurations of Llama-3-70B on an HGX H100 node
/// (schemes x tensor/pipeline splits x batches x prompt lengths), each a
/// prefill and a decode step of the sharded model plus its collectives
/// and energy. Target (issue 19): under a second for 10,000 on the dev
/// machine.
#[divan::bench(sample_count = 5)]
fn ten_thousand_serving_configurations(bencher: divan::Bencher) {
    use mlsim_engine::serving::{Parallelism, serve};
    use rayon::prelude::*;
    let system = mlsim_hw::load_system("hgx-h100-8").unwrap();
    let spec = mlsim_hw::SetupSpec {
        framework: Some("cuda-graph"),
        timing: Some(mlsim_hw::Timing::BackToBack),
        ..Default::default()
    };
    let setup = mlsim_hw::Setup::with_chip(system.chip.clone(), &spec).unwrap();
    let target = setup.target();
    let cfg = mlsim_workload::transformer::load_model("llama-3-70b").unwrap();
    let schemes: Vec<mlsim_workload::transformer::Scheme> =
        ["bf16", "fp8", "w8a16", "w4a16", "fp8kv"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
    // 5 schemes x 4 splits x 10 batches x 50 prompt lengths = 10,000.
    let splits = [(1, 1), (2, 1), (4, 1), (8, 1)];
    let configs: Vec<(usize, (u64, u64), u64, u64)> = (0..5)
        .flat_map(|s| {
            splits.iter().flat_map(move |&sp| {
                (0..10).flat_map(move |b| (1..=50).map(move |p| (s, sp, 1u64 << b, 64 * p)))
            })
        })
        .collect();
    assert_eq!(configs.len(), 10_000);
    bencher.counter(ItemsCount::new(configs.len())).bench(|| {
        configs
            .par_iter()
            .map(|&(s, (tp, pp), batch, prompt)| {
                serve(
                    &target,
                    &system,
                    &cfg,
                    Parallelism { tp, pp },
                    &schemes[s],
                    batch,
                    prompt,
                    256,
                    None,
                )
                .map_or(0.0, |p| p.tpot_ms)
            })
            .sum::<f64>()
    });
}
