//! The cost of the per-element fp16 conversions the gemm crate's fp16 GEMM
//! (gemm-f16 0.19) does on a CPU without fp16 arithmetic: it packs an
//! operand whose rows are not contiguous one element at a time
//! (`pack_generic_inner_loop`: `simd.from_lhs`, i.e. `f32::from(f16)`) and
//! writes every output element of every k block through
//! `f16::from_f32` (reading it back through `f32::from` after the first).
//! These are the loops below, with the same `half` functions, so that the
//! stacks `gemm-rs-avx512` and `gemm-rs-avx2` can state a measured
//! `convert_cycles_per_element` that no GEMM measurement was fitted to
//! (docs/model/cpu-blocked.md). Divide the time per element by the clock
//! to get cycles.

use divan::Bencher;
use divan::counter::ItemsCount;
use half::f16;

fn main() {
    divan::main();
}

/// Elements per call: 64 Ki, about the size of a packed block (fits L2).
const LEN: usize = 1 << 16;

/// Packing: a strided read converted to f32 one element at a time, as
/// gemm-f16 packs an operand whose packing order is not its row order.
#[divan::bench]
fn pack_strided_to_f32(bencher: Bencher) {
    let stride = 64;
    let src: Vec<f16> = (0..LEN).map(|i| f16::from_f32(i as f32 * 1e-3)).collect();
    let mut dst = vec![0.0f32; LEN];
    bencher.counter(ItemsCount::new(LEN)).bench_local(|| {
        let src = divan::black_box(&src);
        for row in 0..stride {
            for (j, d) in dst[row * (LEN / stride)..(row + 1) * (LEN / stride)]
                .iter_mut()
                .enumerate()
            {
                *d = f32::from(src[j * stride + row]);
            }
        }
        divan::black_box(&mut dst);
    });
}

/// The output of the first k block: f32 accumulators stored as fp16.
#[divan::bench]
fn store_f32_as_f16(bencher: Bencher) {
    let acc: Vec<f32> = (0..LEN).map(|i| i as f32 * 1e-3).collect();
    let mut dst = vec![f16::ZERO; LEN];
    bencher.counter(ItemsCount::new(LEN)).bench_local(|| {
        let acc = divan::black_box(&acc);
        for (d, &a) in dst.iter_mut().zip(acc) {
            *d = f16::from_f32(a);
        }
        divan::black_box(&mut dst);
    });
}

/// The output of a later k block: read fp16, add the f32 accumulator,
/// store fp16 (two conversions per element).
#[divan::bench]
fn accumulate_into_f16(bencher: Bencher) {
    let acc: Vec<f32> = (0..LEN).map(|i| i as f32 * 1e-3).collect();
    let mut dst = vec![f16::ONE; LEN];
    bencher.counter(ItemsCount::new(LEN)).bench_local(|| {
        let acc = divan::black_box(&acc);
        for (d, &a) in dst.iter_mut().zip(acc) {
            *d = f16::from_f32(f32::from(*d) + a);
        }
        divan::black_box(&mut dst);
    });
}
