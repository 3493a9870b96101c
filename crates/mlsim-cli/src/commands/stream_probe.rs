//! A STREAM-like memory probe for `mlsim measure cpu --stream`: copy
//! (`b[i] = a[i]`) and triad (`a[i] = b[i] + s c[i]`) over f32 arrays
//! whose sizes run from inside L1 to several times the last-level cache,
//! so the CPU model can be scored on memory-bound work, level by level.

use std::hint::black_box;

/// Which STREAM kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StreamKind {
    /// `b[i] = a[i]`: two arrays.
    Copy,
    /// `a[i] = b[i] + s c[i]`: three arrays, 2 FLOPs per element.
    Triad,
}

impl StreamKind {
    /// Both kernels, in the order they are written.
    pub const ALL: [StreamKind; 2] = [Self::Copy, Self::Triad];

    /// The name a results file uses (`op` column).
    pub fn name(self) -> &'static str {
        match self {
            Self::Copy => "copy",
            Self::Triad => "triad",
        }
    }

    /// Arrays the kernel reads and writes.
    pub fn arrays(self) -> usize {
        match self {
            Self::Copy => 2,
            Self::Triad => 3,
        }
    }
}

/// Elements per array for a probe from about a quarter of L1 to 8x the
/// last-level cache, in powers of two of bytes, each array at most
/// `max_array_bytes` (the probe's memory bound).
pub fn sizes(l1_bytes: f64, llc_bytes: f64, max_array_bytes: f64) -> Vec<usize> {
    let lo = (l1_bytes / 4.0).max(4096.0);
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
/// starts.
pub struct Arrays {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

impl Arrays {
    /// Three arrays of `n` elements (the copy uses two).
    pub fn new(n: usize) -> Self {
        Self {
            a: vec![1.0; n],
            b: vec![2.0; n],
            c: vec![0.5; n],
        }
    }

    /// `calls` calls of `kind` back to back on the threads of `pool`, each
    /// thread on its own slice of the arrays. A thread runs its slice's
    /// calls without waiting for the others (the slices are disjoint), so
    /// the pool's start-up is paid once per batch, not once per call.
    pub fn run(&mut self, kind: StreamKind, pool: &rayon::ThreadPool, calls: usize) {
        let n = self.a.len();
        let chunk = n.div_ceil(pool.current_num_threads().max(1)).max(1);
        match kind {
            StreamKind::Copy => {
                let (a, b) = (&self.a, &mut self.b);
                pool.scope(|s| {
                    for (dst, src) in b.chunks_mut(chunk).zip(a.chunks(chunk)) {
                        s.spawn(move |_| {
                            for _ in 0..calls {
                                dst.copy_from_slice(black_box(src));
                                black_box(&*dst);
                            }
                        });
                    }
                });
            }
            StreamKind::Triad => {
                let (a, b, c) = (&mut self.a, &self.b, &self.c);
                let scalar = black_box(3.0f32);
                pool.scope(|s| {
                    for ((dst, x), y) in a
                        .chunks_mut(chunk)
                        .zip(b.chunks(chunk))
                        .zip(c.chunks(chunk))
                    {
                        s.spawn(move |_| {
                            for _ in 0..calls {
                                for ((d, x), y) in dst.iter_mut().zip(black_box(x)).zip(y) {
                                    *d = x + scalar * y;
                                }
                                black_box(&*dst);
                            }
                        });
                    }
                });
            }
        }
    }

    /// Whether the last call computed what it should (a check that the
    /// timed work was done): copy leaves `b == a`, triad `a = b + 3 c`.
    pub fn check(&self, kind: StreamKind) -> bool {
        match kind {
            StreamKind::Copy => self.b.iter().zip(&self.a).all(|(b, a)| b == a),
            StreamKind::Triad => self
                .a
                .iter()
                .zip(self.b.iter().zip(&self.c))
                .all(|(&a, (&b, &c))| a == b + 3.0 * c),
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
    }

    #[test]
    fn kernels_compute_stream_results_on_any_thread_count() {
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut x = Arrays::new(1001);
            x.run(StreamKind::Copy, &pool, 2);
            assert!(x.check(StreamKind::Copy));
            x.run(StreamKind::Triad, &pool, 3);
            assert!(x.check(StreamKind::Triad));
        }
    }
}
