//! Whether a copy's stores read their lines first, level by level: the
//! same copy of `n` f32 elements per array (two threads, each on its half,
//! the arrays 64-byte aligned) through glibc's `memcpy`
//! (`copy_from_slice`, what the STREAM probe's copy runs), a loop of plain
//! 512-bit stores, a loop of non-temporal stores, `rep movsb`, and STREAM's
//! scale (plain stores), from inside L1 to beyond the last cache. Divan
//! reports the bytes STREAM counts (two arrays) per second. Where the plain
//! stores' read for ownership costs bandwidth, scale and the plain-store
//! copy run at 2/3 of a copy that writes whole lines without it
//! (docs/model/cpu-blocked.md, "Plain stores read their lines first in the
//! caches"). On the Zen 4 dev guest (2026-12-04, fastest samples) memcpy,
//! the plain-store copy, `rep movsb` and scale ran alike in L2 and L3
//! (150-230 GB/s; the guest is noisy), the non-temporal copy at 54-55 GB/s
//! at every cache size (its stores go to memory), and in main memory the
//! non-temporal copy (50-51) and `rep movsb` (39-43) beat memcpy, the
//! plain-store copy and scale (32-36). x86-64 with AVX-512 only (elsewhere
//! it prints that and exits).

#![allow(unsafe_code)] // AVX-512 intrinsics and `rep movsb` after detection

use divan::Bencher;
use divan::counter::BytesCount;

fn main() {
    divan::main();
}

/// Elements per array: 64 KiB, 512 KiB, 2 MiB, 8 MiB and 128 MiB for the
/// two arrays together (inside the dev guests' L1, L2, L2 edge, L3 and
/// beyond it).
const SIZES: [usize; 5] = [8_192, 65_536, 262_144, 1_048_576, 16_777_216];
const THREADS: usize = 2;

/// How the copy stores.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
enum Store {
    Memcpy,
    Plain,
    NonTemporal,
    RepMovsb,
    Scale,
}

const STORES: [Store; 5] = [
    Store::Memcpy,
    Store::Plain,
    Store::NonTemporal,
    Store::RepMovsb,
    Store::Scale,
];

#[divan::bench(consts = SIZES, args = STORES, sample_count = 7)]
fn copy<const N: usize>(bencher: Bencher, store: Store) {
    run(bencher, N, store);
}

/// `n` f32 from a 64-byte boundary.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn aligned(n: usize, value: f32) -> (Vec<f32>, usize) {
    let buf = vec![value; n + 16];
    let start = (64 - buf.as_ptr() as usize % 64) % 64 / 4;
    (buf, start)
}

fn run(bencher: Bencher, n: usize, store: Store) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(THREADS)
            .build()
            .expect("two threads");
        let (mut a, sa) = aligned(n, 1.0);
        let (mut c, sc) = aligned(n, 0.0);
        let (a, c) = (&mut a[sa..sa + n], &mut c[sc..sc + n]);
        // Enough calls a batch to hide the pool's wake-up (about 0.4 GB).
        let calls = (400_000_000 / (n * 8)).max(4);
        let half = n / THREADS;
        bencher
            .counter(BytesCount::new(n * 8 * calls))
            .bench_local(|| {
                pool.scope(|s| {
                    for (a, c) in a.chunks(half).zip(c.chunks_mut(half)) {
                        s.spawn(move |_| {
                            for _ in 0..calls {
                                // SAFETY: AVX-512F was detected above; the
                                // slices have equal lengths, multiples of 16.
                                unsafe { copy_once(store, a, c) };
                                divan::black_box(&*c);
                            }
                        });
                    }
                });
            });
        return;
    }
    let _ = (bencher, n, store);
    println!("store_kinds needs x86-64 with AVX-512");
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn copy_once(store: Store, a: &[f32], c: &mut [f32]) {
    use std::arch::x86_64::*;
    let pairs = c.chunks_exact_mut(16).zip(a.chunks_exact(16));
    match store {
        Store::Memcpy => c.copy_from_slice(a),
        Store::Plain => {
            for (c, a) in pairs {
                // SAFETY: 16 f32 in each chunk.
                unsafe { _mm512_storeu_ps(c.as_mut_ptr(), _mm512_loadu_ps(a.as_ptr())) };
            }
        }
        Store::NonTemporal => {
            for (c, a) in pairs {
                // SAFETY: 16 f32 in each chunk, 64-byte aligned (the arrays
                // start on a line and the halves are whole lines).
                unsafe { _mm512_stream_ps(c.as_mut_ptr(), _mm512_loadu_ps(a.as_ptr())) };
            }
            _mm_sfence();
        }
        Store::RepMovsb => {
            // SAFETY: copies a.len() * 4 bytes between two slices of that
            // length that do not overlap.
            unsafe {
                std::arch::asm!(
                    "rep movsb",
                    inout("rcx") a.len() * 4 => _,
                    inout("rsi") a.as_ptr() => _,
                    inout("rdi") c.as_mut_ptr() => _,
                    options(nostack, preserves_flags)
                );
            }
        }
        Store::Scale => {
            let s = _mm512_set1_ps(3.0);
            for (c, a) in pairs {
                // SAFETY: 16 f32 in each chunk.
                unsafe {
                    _mm512_storeu_ps(
                        c.as_mut_ptr(),
                        _mm512_mul_ps(s, _mm512_loadu_ps(a.as_ptr())),
                    )
                };
            }
        }
    }
}
