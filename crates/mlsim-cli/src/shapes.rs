//! Workload shapes given by flags (`sim` and `crossover`).

use clap::{Args, Subcommand};
use mlsim_quant::Dtype;
use mlsim_workload::{ElementwiseKind, Op, Workload};

/// One workload, described by flags.
#[derive(Debug, Clone, Subcommand)]
pub enum OpArgs {
    /// C(M,N) = A(M,K) @ B(K,N).
    Matmul {
        /// Rows of A and C.
        #[arg(long)]
        m: u64,
        /// Columns of B and C.
        #[arg(long)]
        n: u64,
        /// Reduction dimension.
        #[arg(long)]
        k: u64,
    },
    /// 2-D convolution (NCHW).
    Conv2d(ConvArgs),
    /// Multi-head attention with its output projection.
    Attention {
        /// Batch size.
        #[arg(long, default_value_t = 1)]
        batch: u64,
        /// Heads.
        #[arg(long)]
        heads: u64,
        /// Sequence length.
        #[arg(long)]
        seq: u64,
        /// Head dimension.
        #[arg(long)]
        head_dim: u64,
        /// Causal mask (halves the score FLOPs).
        #[arg(long)]
        causal: bool,
    },
    /// An elementwise op.
    Elementwise {
        /// Element count.
        #[arg(long)]
        n: u64,
        /// Which op: relu, gelu, swish, add, mul, or STREAM's copy, scale, stream-add (3 arrays), triad (3 arrays).
        #[arg(long, default_value = "gelu")]
        kind: ElementwiseKind,
    },
}

/// Convolution flags.
#[derive(Debug, Clone, Args)]
pub struct ConvArgs {
    /// Batch size.
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// Input channels.
    #[arg(long)]
    c_in: u64,
    /// Input height.
    #[arg(long)]
    h: u64,
    /// Input width (default: the height).
    #[arg(long)]
    w: Option<u64>,
    /// Output channels.
    #[arg(long)]
    c_out: u64,
    /// Square kernel size.
    #[arg(long)]
    kernel: u64,
    /// Stride.
    #[arg(long, default_value_t = 1)]
    stride: u64,
    /// Zero padding on each side.
    #[arg(long, default_value_t = 0)]
    padding: u64,
}

impl OpArgs {
    /// The op and a display name for it.
    pub fn op(&self) -> (String, Op) {
        match *self {
            OpArgs::Matmul { m, n, k } => (format!("MatMul {m}x{n}x{k}"), Op::MatMul { m, n, k }),
            OpArgs::Conv2d(ConvArgs {
                batch,
                c_in,
                h,
                w,
                c_out,
                kernel,
                stride,
                padding,
            }) => (
                format!("Conv2D {kernel}x{kernel} {c_in}->{c_out} at {h}"),
                Op::Conv2d {
                    batch,
                    c_in,
                    h,
                    w: w.unwrap_or(h),
                    c_out,
                    kh: kernel,
                    kw: kernel,
                    stride,
                    padding,
                },
            ),
            OpArgs::Attention {
                batch,
                heads,
                seq,
                head_dim,
                causal,
            } => (
                format!(
                    "Attention B={batch} H={heads} S={seq} D={head_dim}{}",
                    if causal { " causal" } else { "" }
                ),
                Op::Attention {
                    batch,
                    heads,
                    seq,
                    head_dim,
                    causal,
                },
            ),
            OpArgs::Elementwise { n, kind } => (
                format!("{} n={n}", kind.name()),
                Op::Elementwise { n, kind },
            ),
        }
    }

    /// The workload in `dtype`, or a usage error naming the bad dimension.
    pub fn workload(&self, dtype: Dtype) -> Result<Workload, crate::Failure> {
        let (name, op) = self.op();
        Workload::new(name, op, dtype).map_err(|e| crate::Failure {
            code: 2,
            error: anyhow::anyhow!("invalid {} shape: {e}", op.kind_name()),
        })
    }
}
