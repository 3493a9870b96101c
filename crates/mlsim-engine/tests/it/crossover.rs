//! The crossover search against a brute-force scan over every integer size.

use mlsim_engine::crossover::{Family, SearchedCrossover, search};
use mlsim_engine::predict_matmul;
use mlsim_quant::Dtype;

/// Smallest size in [lo, hi] from which `dtype` is faster than fp32 at every
/// integer size up to hi, by checking each one.
fn brute_force(
    chip: &mlsim_hw::Target<'_>,
    dtype: Dtype,
    family: Family,
    lo: u64,
    hi: u64,
) -> SearchedCrossover {
    let faster = |s: u64| {
        let (m, n, k) = family.shape(s);
        predict_matmul(chip, m, n, k, dtype).runtime_ms
            < predict_matmul(chip, m, n, k, Dtype::Fp32).runtime_ms
    };
    let mut from = None;
    for s in (lo..=hi).rev() {
        if faster(s) {
            from = Some(s);
        } else {
            break;
        }
    }
    match from {
        None => SearchedCrossover::Never,
        Some(s) if s == lo => SearchedCrossover::Always,
        Some(s) => SearchedCrossover::From { size: s, ai: 0.0 },
    }
}

fn same(a: SearchedCrossover, b: SearchedCrossover) -> bool {
    match (a, b) {
        (SearchedCrossover::From { size: x, .. }, SearchedCrossover::From { size: y, .. }) => {
            x == y
        }
        _ => a == b,
    }
}

#[test]
fn search_agrees_with_brute_force_on_every_gpu_preset() {
    let mut checked = 0;
    for preset in mlsim_hw::presets() {
        let setup = mlsim_hw::Setup::load(preset.name, &Default::default()).unwrap();
        let (chip, target) = (&setup.chip, setup.target());
        for dtype in chip
            .described_dtypes()
            .into_iter()
            .filter(|d| *d != Dtype::Fp32)
        {
            for family in [Family::Square, Family::M { n: 1024, k: 512 }] {
                let (lo, hi) = (8, 1500);
                let searched = search(&target, dtype, family, lo, hi);
                let brute = brute_force(&target, dtype, family, lo, hi);
                assert!(
                    same(searched, brute),
                    "{} {dtype} {family:?}: search {searched:?}, brute force {brute:?}",
                    chip.name
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20);
}

/// Hand-built case: a chip where bf16 is emulated through fp32 and pays a
/// conversion cost can never beat fp32 once compute dominates; fp16 on its
/// tensor cores beats fp32 early when the kernels are timed alone.
#[test]
fn emulated_bf16_on_t4_never_wins_and_fp16_wins_early() {
    let setup = mlsim_hw::Setup::load("t4", &Default::default()).unwrap();
    let t4 = setup.target();
    assert_eq!(
        search(&t4, Dtype::Bf16, Family::Square, 16, 8192),
        SearchedCrossover::Never
    );
    let kernel = t4.with_timing(mlsim_hw::Timing::Kernel);
    match search(&kernel, Dtype::Fp16, Family::Square, 16, 8192) {
        SearchedCrossover::Always => {}
        SearchedCrossover::From { size, .. } => assert!(size <= 256, "fp16 from {size}"),
        SearchedCrossover::Never => panic!("fp16 never wins on a T4"),
    }
}
