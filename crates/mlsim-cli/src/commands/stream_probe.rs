//! A STREAM-like memory probe for `mlsim measure cpu --stream`: STREAM's
//! four kernels, copy (`c[i] = a[i]`), scale (`b[i] = s c[i]`), add
//! (`c[i] = a[i] + b[i]`) and triad (`a[i] = b[i] + s c[i]`), over f32
//! arrays whose sizes run from inside L1 to several times the last-level
//! cache, so the CPU model can be scored on memory-bound work, level by
//! level.
//!
//! The kernels are compiled for the widest vectors the CPU has (AVX-512,
//! else AVX2, chosen at run time), as STREAM is built with `-march=native`:
//! the probe measures the memory system, not the instruction issue of the
//! baseline x86-64 target (SSE2), which halved scale, add and triad
//! against copy (a `memcpy`) in cache before 2026-12-02.
#![allow(unsafe_code)] // calls of `#[target_feature]` kernels after detection

use std::hint::black_box;

use mlsim_calibrate::measurements::MeasuredOp;

/// Which STREAM kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StreamKind {
    /// `c[i] = a[i]`: two arrays.
    Copy,
    /// `b[i] = s c[i]`: two arrays, 1 FLOP per element.
    Scale,
    /// `c[i] = a[i] + b[i]`: three arrays, 1 FLOP per element.
    Add,
    /// `a[i] = b[i] + s c[i]`: three arrays, 2 FLOPs per element.
    Triad,
}

impl StreamKind {
    /// STREAM's kernels, in STREAM's order.
    pub const ALL: [StreamKind; 4] = [Self::Copy, Self::Scale, Self::Add, Self::Triad];

    /// The row's op in a results file, which carries the name and the
    /// bytes and FLOPs STREAM counts.
    pub fn op(self) -> MeasuredOp {
        match self {
            Self::Copy => MeasuredOp::Copy,
            Self::Scale => MeasuredOp::Scale,
            Self::Add => MeasuredOp::Add,
            Self::Triad => MeasuredOp::Triad,
        }
    }

    /// The name a results file uses (`op` column).
    pub fn name(self) -> &'static str {
        self.op().name()
    }

    fn elementwise(self) -> mlsim_workload::ElementwiseKind {
        self.op()
            .elementwise()
            .expect("a STREAM kernel is elementwise")
    }

    /// Arrays the kernel reads and writes.
    pub fn arrays(self) -> f64 {
        self.elementwise().arrays()
    }

    /// FLOPs per element.
    pub fn flops_per_element(self) -> f64 {
        self.elementwise().flops_per_element()
    }

    /// Share of its bytes written by plain stores, which read their lines
    /// first beyond L1 (0 for copy, a `memcpy`).
    pub fn allocating_store_share(self) -> f64 {
        self.elementwise().allocating_store_share()
    }
}

/// Elements per array for a probe from about a quarter of L1 to 8x the
/// last-level cache, in powers of two of bytes, each array at most
/// `max_array_bytes` (the probe's memory bound).
pub fn sizes(l1_bytes: f64, llc_bytes: f64, max_array_bytes: f64) -> Vec<usize> {
    let lo = (l1_bytes / 4.0).max(4096.0).min(max_array_bytes);
    let hi = (8.0 * llc_bytes).min(max_array_bytes).max(lo);
    let mut out = Vec::new();
    let mut bytes = lo.log2().floor().exp2();
    while bytes <= hi * 1.000_001 {
        out.push((bytes / 4.0) as usize);
        bytes *= 2.0;
    }
    out
}

/// The arrays of one probe, filled so no page is untouched when timing
/// starts, each starting on a 64-byte cache line as an ML framework's
/// tensors do (PyTorch's CPU allocator aligns to 64 bytes; a plain
/// `Vec<f32>` of this size starts 16 bytes into a line, so every 64-byte
/// vector access would straddle two lines).
pub struct Arrays {
    a: LineAligned,
    b: LineAligned,
    c: LineAligned,
}

/// `n` f32 starting on a 64-byte boundary: a `Vec` one line longer, used
/// from its first aligned element.
struct LineAligned {
    buf: Vec<f32>,
    start: usize,
    n: usize,
}

impl LineAligned {
    const LINE: usize = 64;

    fn new(n: usize, value: f32) -> Self {
        let per_line = Self::LINE / std::mem::size_of::<f32>();
        let buf = vec![value; n + per_line];
        let misaligned = buf.as_ptr() as usize % Self::LINE;
        // An f32 pointer is 4-byte aligned, so the gap is whole elements.
        let start = (Self::LINE - misaligned) % Self::LINE / std::mem::size_of::<f32>();
        Self { buf, start, n }
    }

    fn as_slice(&self) -> &[f32] {
        &self.buf[self.start..self.start + self.n]
    }

    fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buf[self.start..self.start + self.n]
    }
}

impl Arrays {
    /// Three arrays of `n` elements (copy and scale use two).
    pub fn new(n: usize) -> Self {
        Self {
            a: LineAligned::new(n, 1.0),
            b: LineAligned::new(n, 2.0),
            c: LineAligned::new(n, 0.5),
        }
    }

    /// `calls` calls of `kind` back to back on the threads of `pool`, each
    /// thread on its own slice of the arrays. A thread runs its slice's
    /// calls without waiting for the others (the slices are disjoint), so
    /// the pool's start-up is paid once per batch, not once per call.
    pub fn run(&mut self, kind: StreamKind, pool: &rayon::ThreadPool, calls: usize) {
        let n = self.a.n;
        // Whole cache lines (16 f32) per thread, so no two threads write
        // one line.
        let chunk = n.div_ceil(pool.current_num_threads().max(1)).div_ceil(16) * 16;
        let scalar = black_box(3.0f32);
        let (a, b, c) = (
            self.a.as_mut_slice(),
            self.b.as_mut_slice(),
            self.c.as_mut_slice(),
        );
        pool.scope(|s| {
            let slices = a
                .chunks_mut(chunk)
                .zip(b.chunks_mut(chunk))
                .zip(c.chunks_mut(chunk));
            for ((a, b), c) in slices {
                s.spawn(move |_| {
                    for _ in 0..calls {
                        kernel(kind, a, b, c, scalar);
                        black_box((&*a, &*b, &*c));
                    }
                });
            }
        });
    }

    /// Whether the last call computed what it should (a check that the
    /// timed work was done).
    pub fn check(&self, kind: StreamKind) -> bool {
        let all = |f: &dyn Fn(usize) -> bool| (0..self.a.n).all(f);
        let (a, b, c) = (self.a.as_slice(), self.b.as_slice(), self.c.as_slice());
        match kind {
            StreamKind::Copy => all(&|i| c[i] == a[i]),
            StreamKind::Scale => all(&|i| b[i] == 3.0 * c[i]),
            StreamKind::Add => all(&|i| c[i] == a[i] + b[i]),
            StreamKind::Triad => all(&|i| a[i] == b[i] + 3.0 * c[i]),
        }
    }
}

/// One call of `kind` on one slice, on the widest vectors the CPU has.
fn kernel(kind: StreamKind, a: &mut [f32], b: &mut [f32], c: &mut [f32], scalar: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (detected just above).
            return unsafe { kernel_avx512(kind, a, b, c, scalar) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (detected just above).
            return unsafe { kernel_avx2(kind, a, b, c, scalar) };
        }
    }
    kernel_portable(kind, a, b, c, scalar);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn kernel_avx512(kind: StreamKind, a: &mut [f32], b: &mut [f32], c: &mut [f32], scalar: f32) {
    kernel_portable(kind, a, b, c, scalar);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn kernel_avx2(kind: StreamKind, a: &mut [f32], b: &mut [f32], c: &mut [f32], scalar: f32) {
    kernel_portable(kind, a, b, c, scalar);
}

/// STREAM's loops, inlined into each vector width's function so the
/// compiler vectorises them for it.
#[inline(always)]
fn kernel_portable(kind: StreamKind, a: &mut [f32], b: &mut [f32], c: &mut [f32], scalar: f32) {
    match kind {
        StreamKind::Copy => c.copy_from_slice(black_box(&*a)),
        StreamKind::Scale => {
            for (b, c) in b.iter_mut().zip(black_box(&*c)) {
                *b = scalar * c;
            }
        }
        StreamKind::Add => {
            for ((c, a), b) in c.iter_mut().zip(black_box(&*a)).zip(&*b) {
                *c = a + b;
            }
        }
        StreamKind::Triad => {
            for ((a, b), c) in a.iter_mut().zip(black_box(&*b)).zip(&*c) {
                *a = b + scalar * c;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 32 KiB L1 and a 32 MiB LLC: 8 KiB ... 256 MiB per array, doubling:
    /// 2^13 ... 2^28 bytes, 16 sizes; 2048 ... 2^26 f32 elements.
    #[test]
    fn sizes_span_l1_to_eight_llcs() {
        let s = sizes(32.0 * 1024.0, 32.0 * 1024.0 * 1024.0, 1e12);
        assert_eq!(s.len(), 16);
        assert_eq!(s[0], 2048);
        assert_eq!(*s.last().unwrap(), 1 << 26);
        // A memory bound of 64 MiB per array stops at 2^24 elements.
        let capped = sizes(
            32.0 * 1024.0,
            32.0 * 1024.0 * 1024.0,
            64.0 * 1024.0 * 1024.0,
        );
        assert_eq!(*capped.last().unwrap(), 1 << 24);
        // A bound below L1 / 4 is kept: one size, 4 KiB = 1024 elements.
        assert_eq!(sizes(32.0 * 1024.0, 1e9, 4096.0), vec![1024]);
    }

    /// Every array starts on a 64-byte line and holds exactly n elements,
    /// at sizes whose plain allocation would not be aligned.
    #[test]
    fn arrays_start_on_a_cache_line() {
        for n in [1, 15, 1000, 4096, 1 << 20] {
            let arrays = Arrays::new(n);
            for array in [&arrays.a, &arrays.b, &arrays.c] {
                assert_eq!(array.as_slice().as_ptr() as usize % 64, 0, "n = {n}");
                assert_eq!(array.as_slice().len(), n);
            }
            assert!(arrays.a.as_slice().iter().all(|&v| v == 1.0));
        }
    }

    #[test]
    fn kernels_compute_stream_results_on_any_thread_count() {
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut x = Arrays::new(1001);
            for (kind, calls) in StreamKind::ALL.into_iter().zip(1..) {
                x.run(kind, &pool, calls);
                assert!(x.check(kind), "{kind:?} on {threads} threads");
            }
        }
    }
}
