//! The share of main-memory bandwidth the gemm crate's operand packing
//! reaches. gemm 0.19 computes a row-major C = A B as C^T = B^T A^T, so it
//! packs B^T: for each block of kc rows of B (kc >= 512, gemm-common
//! `kernel_params`), each thread takes blocks of mc = 384 columns in turn
//! and copies them in panels of MR = 48 fp32 (192 bytes) from every row,
//! a row of B apart (16 KiB for n = 4096). Those
//! short runs a page apart reach only part of what a sequential read gets.
//! This bench times that pattern and a sequential read of the same 64 MiB
//! on two threads (the dev machine's cores). The stack's
//! `pack_main_memory_share` (docs/model/cpu-blocked.md) is the pattern's
//! bandwidth over what STREAM reaches in main memory on the same machine
//! (`mlsim measure cpu --stream`, the points beyond 8x the last cache),
//! the bandwidth a chip file's main memory stands for; the sequential read
//! here is a check of the machine's state, not that reference. Measured,
//! not fitted to any GEMM.

use divan::Bencher;
use divan::counter::BytesCount;

fn main() {
    divan::main();
}

/// B: 4096 x 4096 fp32 (64 MiB, beyond the 32 MiB L3).
const N: usize = 4096;
const KC: usize = 512;
/// gemm-f32's AVX-512 register tile is 48 rows (3 x 16 lanes); gemm-common's
/// `kernel_params` gives kc = 512 and mc = 384 (8 x 48) on this machine's
/// 48 KiB 12-way L1 and 1 MiB 16-way L2.
const MR: usize = 48;
const MC: usize = 384;
const THREADS: usize = 2;

fn matrix() -> Vec<f32> {
    (0..N * N).map(|i| (i % 1000) as f32).collect()
}

/// Each thread packs its half of B's columns, panel by panel, every row of
/// the k block for each panel, into a buffer of one panel.
#[divan::bench(sample_count = 10)]
fn pack_b_transposed(bencher: Bencher) {
    let b = matrix();
    bencher.counter(BytesCount::new(N * N * 4)).bench_local(|| {
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let b = &b;
                s.spawn(move || {
                    let mut packed = vec![0.0f32; KC * MC];
                    for k0 in (0..N).step_by(KC) {
                        // Blocks of mc columns in turn over the threads.
                        for m0 in (t * MC..N).step_by(THREADS * MC) {
                            let width = MC.min(N - m0);
                            for (panel, c0) in (m0..m0 + width).step_by(MR).enumerate() {
                                let cols = MR.min(m0 + width - c0);
                                let dst = &mut packed[panel * KC * MR..];
                                for (p, row) in (k0..k0 + KC).enumerate() {
                                    let src = &b[row * N + c0..row * N + c0 + cols];
                                    dst[p * MR..p * MR + cols].copy_from_slice(src);
                                }
                            }
                            divan::black_box(&mut packed);
                        }
                    }
                });
            }
        });
    });
}

/// The same bytes read in order, each thread its half of the rows.
#[divan::bench(sample_count = 10)]
fn read_sequential(bencher: Bencher) {
    let b = matrix();
    bencher.counter(BytesCount::new(N * N * 4)).bench_local(|| {
        std::thread::scope(|s| {
            for half in b.chunks(N * N / THREADS) {
                s.spawn(move || {
                    let mut packed = vec![0.0f32; KC * MR];
                    for chunk in half.chunks(KC * MR) {
                        packed[..chunk.len()].copy_from_slice(chunk);
                        divan::black_box(&mut packed);
                    }
                });
            }
        });
    });
}
