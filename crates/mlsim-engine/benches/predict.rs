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
