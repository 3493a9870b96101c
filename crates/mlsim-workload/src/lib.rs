//! Workloads: an operation, its shape and its dtype.
//!
//! A [`Workload`] knows its FLOPs, the bytes it moves and its
//! [`AccessPattern`] (working set, stride, reuse distance, sequential share,
//! read share), with the counting rules of the original program
//! (docs in `ARCHITECTURE.md`): MatMul `2MNK` FLOPs and `b(MK + KN + MN)`
//! bytes; Conv2D with stride and padding; Attention with the causal halving
//! of the score terms; Elementwise ops. [`suites`] builds the original's
//! `llm`, `vision` and `scaling` suites.
//!
//! ```
//! use mlsim_quant::Dtype;
//! use mlsim_workload::{Op, Workload};
//! let w = Workload::new("qkv", Op::matmul(512, 4096, 4096), Dtype::Fp16).unwrap();
//! assert_eq!(w.flops(), 2.0 * 512.0 * 4096.0 * 4096.0);
//! assert_eq!(w.bytes(), 2.0 * (512.0 * 4096.0 + 4096.0 * 4096.0 + 512.0 * 4096.0));
//! assert!((w.arithmetic_intensity() - 409.6).abs() < 1e-9);
//! ```
#![deny(missing_docs)]

use std::fmt;

use mlsim_quant::Dtype;

pub mod suites;
pub mod transformer;

/// Why a workload shape is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// A dimension was zero.
    #[error("dimension `{0}` must be at least 1")]
    ZeroDimension(&'static str),
    /// A convolution kernel larger than its padded input.
    #[error("kernel {kernel} does not fit the padded input {padded} (input {input} + 2 x padding)")]
    KernelTooLarge {
        /// Kernel extent.
        kernel: u64,
        /// Input extent.
        input: u64,
        /// Input plus twice the padding.
        padded: u64,
    },
    /// Counts too large for exact arithmetic (above 2^53 FLOPs).
    #[error("{what} of {value:.3e} exceeds 2^53, beyond exact arithmetic")]
    TooLarge {
        /// `FLOPs` or `bytes`.
        what: &'static str,
        /// The count.
        value: f64,
    },
}

/// Elementwise operation kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElementwiseKind {
    /// max(0, x): 1 FLOP per element.
    Relu,
    /// GeLU: 8 FLOPs per element (tanh approximation).
    Gelu,
    /// Swish / SiLU: 8 FLOPs per element.
    Swish,
    /// Addition: 1 FLOP per element.
    Add,
    /// Multiplication: 1 FLOP per element.
    Mul,
    /// STREAM copy, `c[i] = a[i]`: no FLOPs, one array read, one written.
    Copy,
    /// STREAM scale, `b[i] = s c[i]`: 1 FLOP, one array read, one written.
    Scale,
    /// STREAM add, `c[i] = a[i] + b[i]`: 1 FLOP, two arrays read, one
    /// written (the original's `add` counts one read: kept for parity).
    StreamAdd,
    /// STREAM triad, `a[i] = b[i] + s c[i]`: 2 FLOPs per element, two
    /// arrays read, one written.
    Triad,
}

impl ElementwiseKind {
    /// Every kind.
    pub const ALL: [ElementwiseKind; 9] = [
        Self::Relu,
        Self::Gelu,
        Self::Swish,
        Self::Add,
        Self::Mul,
        Self::Copy,
        Self::Scale,
        Self::StreamAdd,
        Self::Triad,
    ];

    /// FLOPs per element.
    pub fn flops_per_element(self) -> f64 {
        match self {
            Self::Gelu | Self::Swish => 8.0,
            Self::Relu | Self::Add | Self::Mul | Self::Scale | Self::StreamAdd => 1.0,
            Self::Copy => 0.0,
            Self::Triad => 2.0,
        }
    }

    /// Arrays of `n` elements moved: read and written. The original counts
    /// one read and one write for every kind it has (add and mul included,
    /// kept for parity); STREAM's add and triad read two and write one.
    pub fn arrays(self) -> f64 {
        match self {
            Self::StreamAdd | Self::Triad => 3.0,
            _ => 2.0,
        }
    }

    /// Share of the op's bytes written by plain stores: one array of its
    /// [`arrays`](Self::arrays). A plain store to a line that is not in the
    /// first-level cache reads the line before writing it (write-allocate),
    /// so these bytes cost a read as well beyond it. STREAM's copy is a
    /// `memcpy`, whose string and non-temporal stores write whole lines
    /// without that read: 0. Decision note: docs/model/cpu-blocked.md.
    pub fn allocating_store_share(self) -> f64 {
        match self {
            Self::Copy => 0.0,
            _ => 1.0 / self.arrays(),
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Relu => "relu",
            Self::Gelu => "gelu",
            Self::Swish => "swish",
            Self::Add => "add",
            Self::Mul => "mul",
            Self::Copy => "copy",
            Self::Scale => "scale",
            Self::StreamAdd => "stream-add",
            Self::Triad => "triad",
        }
    }
}

impl std::str::FromStr for ElementwiseKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.name() == lower || (lower == "silu" && *k == Self::Swish))
            .ok_or_else(|| {
                format!("unknown elementwise op `{s}`, expected one of relu, gelu, swish, add, mul, copy, scale, stream-add, triad")
            })
    }
}

/// An operation and its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    /// `C(M,N) = A(M,K) @ B(K,N)`.
    MatMul {
        /// Rows of A and C.
        m: u64,
        /// Columns of B and C.
        n: u64,
        /// The reduction dimension.
        k: u64,
    },
    /// 2-D convolution, NCHW, square stride and padding.
    Conv2d {
        /// Batch.
        batch: u64,
        /// Input channels.
        c_in: u64,
        /// Input height.
        h: u64,
        /// Input width.
        w: u64,
        /// Output channels.
        c_out: u64,
        /// Kernel height.
        kh: u64,
        /// Kernel width.
        kw: u64,
        /// Stride.
        stride: u64,
        /// Zero padding on each side.
        padding: u64,
    },
    /// Multi-head attention with its output projection.
    Attention {
        /// Batch.
        batch: u64,
        /// Heads.
        heads: u64,
        /// Sequence length.
        seq: u64,
        /// Head dimension.
        head_dim: u64,
        /// Causal masking (halves the score terms).
        causal: bool,
    },
    /// An elementwise op over `n` elements.
    Elementwise {
        /// Element count.
        n: u64,
        /// Which op.
        kind: ElementwiseKind,
    },
}

impl Op {
    /// A matmul shape.
    pub fn matmul(m: u64, n: u64, k: u64) -> Self {
        Op::MatMul { m, n, k }
    }

    /// A convolution's output height and width, `(x + 2p - k) / s + 1` per
    /// axis (`None` for other ops).
    pub fn conv_output(&self) -> Option<(u64, u64)> {
        match *self {
            Op::Conv2d {
                h,
                w,
                kh,
                kw,
                stride,
                padding,
                ..
            } => {
                // Checked: a padding near u64::MAX must not wrap to a tiny output.
                let extent = |x: u64, k: u64| {
                    padding
                        .checked_mul(2)?
                        .checked_add(x)?
                        .checked_sub(k)
                        .map(|v| v / stride.max(1) + 1)
                };
                Some((extent(h, kh)?, extent(w, kw)?))
            }
            _ => None,
        }
    }

    /// A convolution as the GEMM an implicit-GEMM kernel runs:
    /// `M = batch x H_out x W_out`, `N = C_out`, `K = C_in x kH x kW`
    /// (`None` for other ops).
    pub fn implicit_gemm(&self) -> Option<(u64, u64, u64)> {
        let (ho, wo) = self.conv_output()?;
        match *self {
            Op::Conv2d {
                batch,
                c_in,
                c_out,
                kh,
                kw,
                ..
            } => Some((batch * ho * wo, c_out, c_in * kh * kw)),
            _ => None,
        }
    }

    /// Short lower-case name of the op kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Op::MatMul { .. } => "matmul",
            Op::Conv2d { .. } => "conv2d",
            Op::Attention { .. } => "attention",
            Op::Elementwise { .. } => "elementwise",
        }
    }

    fn validate(&self) -> Result<(), WorkloadError> {
        let dims: Vec<(&'static str, u64)> = match *self {
            Op::MatMul { m, n, k } => vec![("m", m), ("n", n), ("k", k)],
            Op::Conv2d {
                batch,
                c_in,
                h,
                w,
                c_out,
                kh,
                kw,
                stride,
                ..
            } => vec![
                ("batch", batch),
                ("c_in", c_in),
                ("h", h),
                ("w", w),
                ("c_out", c_out),
                ("kh", kh),
                ("kw", kw),
                ("stride", stride),
            ],
            Op::Attention {
                batch,
                heads,
                seq,
                head_dim,
                ..
            } => {
                vec![
                    ("batch", batch),
                    ("heads", heads),
                    ("seq", seq),
                    ("head_dim", head_dim),
                ]
            }
            Op::Elementwise { n, .. } => vec![("n", n)],
        };
        if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
            return Err(WorkloadError::ZeroDimension(name));
        }
        if let Op::Conv2d {
            h,
            w,
            kh,
            kw,
            padding,
            ..
        } = *self
        {
            for (input, kernel) in [(h, kh), (w, kw)] {
                let padded = input.saturating_add(padding.saturating_mul(2));
                if kernel > padded {
                    return Err(WorkloadError::KernelTooLarge {
                        kernel,
                        input,
                        padded,
                    });
                }
            }
            if self.implicit_gemm().is_none() {
                return Err(WorkloadError::TooLarge {
                    what: "convolution extents",
                    value: f64::INFINITY,
                });
            }
        }
        Ok(())
    }
}

/// How a workload touches memory; fed to the cache model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AccessPattern {
    /// Bytes touched (the original takes all of them as the working set).
    pub working_set_bytes: f64,
    /// Typical stride in bytes.
    pub stride_bytes: f64,
    /// Bytes between reuses of an element.
    pub reuse_distance_bytes: f64,
    /// Share of accesses that are sequential, in [0, 1].
    pub sequential_fraction: f64,
    /// Share of bytes that are reads, in [0, 1].
    pub read_ratio: f64,
}

/// An operation with a shape, a dtype and a display name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Workload {
    /// Display name (`"QKV projection"`).
    pub name: String,
    /// The operation and its shape.
    pub op: Op,
    /// Element type of its operands.
    pub dtype: Dtype,
}

/// Largest integer an f64 holds exactly.
const EXACT_F64: f64 = 9_007_199_254_740_992.0;

fn f(v: u64) -> f64 {
    v as f64
}

impl Workload {
    /// A workload; fails on zero dimensions, a kernel larger than its padded
    /// input, or counts beyond exact f64 arithmetic.
    pub fn new(name: impl Into<String>, op: Op, dtype: Dtype) -> Result<Self, WorkloadError> {
        op.validate()?;
        let w = Self {
            name: name.into(),
            op,
            dtype,
        };
        for (what, value) in [("FLOPs", w.flops()), ("bytes", w.bytes())] {
            // NaN cannot occur (inputs are integers), so `>=` is the whole test.
            if value >= EXACT_F64 {
                return Err(WorkloadError::TooLarge { what, value });
            }
        }
        Ok(w)
    }

    /// The same workload in another dtype.
    pub fn with_dtype(&self, dtype: Dtype) -> Self {
        Self {
            dtype,
            ..self.clone()
        }
    }

    /// Floating-point (or integer) operations, multiply-add counted as 2.
    #[inline]
    pub fn flops(&self) -> f64 {
        match self.op {
            Op::MatMul { m, n, k } => 2.0 * f(m) * f(n) * f(k),
            Op::Conv2d {
                batch,
                c_in,
                c_out,
                kh,
                kw,
                ..
            } => {
                let (ho, wo) = self.op.conv_output().expect("a convolution");
                2.0 * f(batch) * f(c_out) * f(ho) * f(wo) * f(c_in) * f(kh) * f(kw)
            }
            Op::Attention {
                batch,
                heads,
                seq,
                head_dim,
                causal,
            } => {
                let (b, h, s, d) = (f(batch), f(heads), f(seq), f(head_dim));
                let scores_and_values = 2.0 * b * h * s * s * d + 2.0 * b * h * s * s * d;
                let mask = if causal { 0.5 } else { 1.0 };
                scores_and_values * mask + 2.0 * b * h * s * d * (h * d)
            }
            Op::Elementwise { n, kind } => f(n) * kind.flops_per_element(),
        }
    }

    /// Bytes moved, each operand read or written once.
    #[inline]
    pub fn bytes(&self) -> f64 {
        let b = self.dtype.bytes_per_element();
        match self.op {
            // A block-scaled operand: its scales per block along K, a
            // partial last block costing a whole scale (mlsim_quant).
            Op::MatMul { m, n, k } if self.dtype.block_scaling().is_some() => {
                let d = self.dtype;
                d.tensor_bytes(m, k) + d.tensor_bytes(n, k) + d.tensor_bytes(m, n)
            }
            Op::MatMul { m, n, k } => b * (f(m) * f(k) + f(k) * f(n) + f(m) * f(n)),
            Op::Conv2d {
                batch,
                c_in,
                h,
                w,
                c_out,
                kh,
                kw,
                ..
            } => {
                let (ho, wo) = self.op.conv_output().expect("a convolution");
                let input = f(batch) * f(c_in) * f(h) * f(w);
                let weights = f(c_out) * f(c_in) * f(kh) * f(kw);
                let output = f(batch) * f(c_out) * f(ho) * f(wo);
                b * (input + weights + output)
            }
            Op::Attention {
                batch,
                heads,
                seq,
                head_dim,
                ..
            } => {
                let (bt, h, s, d) = (f(batch), f(heads), f(seq), f(head_dim));
                b * (3.0 * bt * h * s * d + bt * h * s * s + bt * h * s * d)
            }
            Op::Elementwise { n, kind } => kind.arrays() * b * f(n),
        }
    }

    /// FLOPs per byte moved.
    pub fn arithmetic_intensity(&self) -> f64 {
        self.flops() / self.bytes()
    }

    /// The arithmetic intensity the original program printed, which is not
    /// always FLOPs / bytes: Attention used `4BHS^2D / bytes` (no projection,
    /// no causal halving); Conv2D computed FLOPs and bytes with an unstrided,
    /// unpadded output `H - kH + 1`. Kept for comparison only.
    pub fn seed_arithmetic_intensity(&self) -> f64 {
        match self.op {
            Op::Attention {
                batch,
                heads,
                seq,
                head_dim,
                ..
            } => 4.0 * f(batch) * f(heads) * f(seq) * f(seq) * f(head_dim) / self.bytes(),
            Op::Conv2d {
                batch,
                c_in,
                h,
                w,
                c_out,
                kh,
                kw,
                ..
            } => {
                let unstrided = Workload {
                    op: Op::Conv2d {
                        batch,
                        c_in,
                        h,
                        w,
                        c_out,
                        kh,
                        kw,
                        stride: 1,
                        padding: 0,
                    },
                    ..self.clone()
                };
                if kh > h || kw > w {
                    return self.arithmetic_intensity();
                }
                unstrided.arithmetic_intensity()
            }
            _ => self.arithmetic_intensity(),
        }
    }

    /// The access pattern, by the original's rules per op kind.
    pub fn access_pattern(&self) -> AccessPattern {
        let b = self.dtype.bytes_per_element();
        let bytes = self.bytes();
        let (stride, reuse, sequential_fraction, read_ratio) = match self.op {
            Op::MatMul { k, .. } => (f(k) * b, f(k) * b, 0.75, 0.85),
            Op::Conv2d { w, c_in, .. } => (f(w) * b, f(c_in) * f(w) * b, 0.6, 0.88),
            Op::Attention { head_dim, seq, .. } => {
                (f(head_dim) * b, f(seq) * f(head_dim) * b, 0.5, 0.8)
            }
            // All arrays but the one written are read.
            Op::Elementwise { kind, .. } => (b, 0.0, 1.0, 1.0 - 1.0 / kind.arrays()),
        };
        AccessPattern {
            working_set_bytes: bytes,
            stride_bytes: stride,
            reuse_distance_bytes: reuse,
            sequential_fraction,
            read_ratio,
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.name, self.dtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_degenerate_shapes() {
        assert_eq!(
            Workload::new("x", Op::matmul(0, 1, 1), Dtype::Fp32),
            Err(WorkloadError::ZeroDimension("m"))
        );
        let conv = Op::Conv2d {
            batch: 1,
            c_in: 1,
            h: 2,
            w: 2,
            c_out: 1,
            kh: 5,
            kw: 1,
            stride: 1,
            padding: 1,
        };
        assert!(matches!(
            Workload::new("c", conv, Dtype::Fp32),
            Err(WorkloadError::KernelTooLarge { .. })
        ));
        let huge = Op::matmul(10_000_000, 10_000_000, 10_000_000);
        assert!(matches!(
            Workload::new("h", huge, Dtype::Fp32),
            Err(WorkloadError::TooLarge { .. })
        ));
    }

    /// A 1 x 4096 x 4096 MXFP4 GEMV by hand: A 4096 elements (2048 B) and
    /// 128 scales; B 4096 x 4096 (8 MiB) and 4096 x 128 scales (512 KiB);
    /// C 4096 elements (2048 B) and 128 scales. NVFP4 of 1 x 20 x 20: A 10
    /// B + 2 scales + 4 B, B 200 B + 40 scales + 4 B, C as A.
    #[test]
    fn block_scaled_matmul_bytes_by_hand() {
        let w = Workload::new("g", Op::matmul(1, 4096, 4096), Dtype::Mxfp4).unwrap();
        let b = 4096.0 * 4096.0 / 2.0 + 4096.0 * 128.0;
        assert_eq!(w.bytes(), 2.0 * (2048.0 + 128.0) + b);
        let w = Workload::new("g", Op::matmul(1, 20, 20), Dtype::Nvfp4).unwrap();
        assert_eq!(w.bytes(), 2.0 * (10.0 + 2.0 + 4.0) + (200.0 + 40.0 + 4.0));
    }

    #[test]
    fn conv_with_stride_and_padding_by_hand() {
        // 3x3, stride 2, padding 1 on 8x8: output 4x4.
        let op = Op::Conv2d {
            batch: 2,
            c_in: 3,
            h: 8,
            w: 8,
            c_out: 4,
            kh: 3,
            kw: 3,
            stride: 2,
            padding: 1,
        };
        let w = Workload::new("c", op, Dtype::Fp16).unwrap();
        assert_eq!(w.flops(), 2.0 * 2.0 * 4.0 * 16.0 * 3.0 * 9.0);
        assert_eq!(
            w.bytes(),
            2.0 * (2.0 * 3.0 * 64.0 + 4.0 * 3.0 * 9.0 + 2.0 * 4.0 * 16.0)
        );
    }

    #[test]
    fn padding_near_u64_max_is_refused_not_wrapped() {
        let op = Op::Conv2d {
            batch: 1,
            c_in: 3,
            h: 5,
            w: 5,
            c_out: 2,
            kh: 3,
            kw: 3,
            stride: 1,
            padding: u64::MAX,
        };
        assert!(matches!(
            Workload::new("c", op, Dtype::Fp32),
            Err(WorkloadError::TooLarge { .. })
        ));
        let op = Op::Conv2d {
            batch: 1,
            c_in: 3,
            h: 5,
            w: 5,
            c_out: 2,
            kh: 3,
            kw: 3,
            stride: 1,
            padding: 1 << 63,
        };
        assert!(Workload::new("c", op, Dtype::Fp32).is_err());
    }

    #[test]
    fn int4_is_half_a_byte() {
        let w = Workload::new("m", Op::matmul(2, 2, 2), Dtype::Int4).unwrap();
        assert_eq!(w.bytes(), 6.0);
    }
}
