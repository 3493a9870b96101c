//! The original program's workload suites.
//!
//! - `llm`: one GPT-like decoder layer (d_model 4096, 32 heads, seq 512,
//!   batch 1, fp16).
//! - `vision`: the front of ResNet-50 (fp32).
//! - `scaling`: square fp32 matmuls from 32 to 8192.

use mlsim_quant::Dtype;

use crate::{ElementwiseKind, Op, Workload};

/// A named suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// A transformer decoder layer.
    Llm,
    /// A ResNet-50 convolution stack.
    Vision,
    /// Square matmuls of growing size.
    Scaling,
}

impl Suite {
    /// Every suite, in the order `all` runs them.
    pub const ALL: [Suite; 3] = [Suite::Llm, Suite::Vision, Suite::Scaling];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Llm => "llm",
            Suite::Vision => "vision",
            Suite::Scaling => "scaling",
        }
    }

    /// The suite's workloads, in the original's order.
    pub fn workloads(self) -> Vec<Workload> {
        match self {
            Suite::Llm => llm(),
            Suite::Vision => vision(),
            Suite::Scaling => scaling(),
        }
    }
}

fn wl(name: &str, op: Op, dtype: Dtype) -> Workload {
    Workload::new(name, op, dtype).expect("suite shapes are valid")
}

fn llm() -> Vec<Workload> {
    let (seq, d_model, heads, ffn) = (512, 4096, 32, 16384);
    let dt = Dtype::Fp16;
    vec![
        wl("QKV projection", Op::matmul(seq, d_model, d_model), dt),
        wl(
            "Causal attention (S=512)",
            Op::Attention {
                batch: 1,
                heads,
                seq,
                head_dim: d_model / heads,
                causal: true,
            },
            dt,
        ),
        wl("Output projection", Op::matmul(seq, d_model, d_model), dt),
        wl("FFN up-proj", Op::matmul(seq, ffn, d_model), dt),
        wl(
            "FFN GeLU activation",
            Op::Elementwise {
                n: seq * ffn,
                kind: ElementwiseKind::Gelu,
            },
            dt,
        ),
        wl("FFN down-proj", Op::matmul(seq, d_model, ffn), dt),
    ]
}

fn conv(c_in: u64, hw: u64, c_out: u64, k: u64, stride: u64) -> Op {
    Op::Conv2d {
        batch: 1,
        c_in,
        h: hw,
        w: hw,
        c_out,
        kh: k,
        kw: k,
        stride,
        padding: 0,
    }
}

fn vision() -> Vec<Workload> {
    let dt = Dtype::Fp32;
    vec![
        wl("Conv1 7x7", conv(3, 224, 64, 7, 2), dt),
        wl("ResBlock 3x3 (a)", conv(64, 56, 64, 3, 1), dt),
        wl("ResBlock 1x1 expand", conv(64, 56, 256, 1, 1), dt),
        wl("ResBlock 3x3 (b)", conv(256, 28, 128, 3, 1), dt),
        wl(
            "BN+ReLU",
            Op::Elementwise {
                n: 256 * 56 * 56,
                kind: ElementwiseKind::Relu,
            },
            dt,
        ),
    ]
}

fn scaling() -> Vec<Workload> {
    [
        ("Tiny  (32³)", 32),
        ("Small (128³)", 128),
        ("Mid   (512³)", 512),
        ("Large (2048³)", 2048),
        ("XL    (8192³)", 8192),
    ]
    .into_iter()
    .map(|(name, n)| wl(name, Op::matmul(n, n, n), Dtype::Fp32))
    .collect()
}

/// Square matmuls `MatMul NxNxN` for every size and dtype (sizes outer,
/// dtypes inner), as in the original's sweep.
pub fn square_matmul_sweep(sizes: &[u64], dtypes: &[Dtype]) -> Vec<Workload> {
    sizes
        .iter()
        .flat_map(|&n| {
            dtypes
                .iter()
                .map(move |&d| wl(&format!("MatMul {n}x{n}x{n}"), Op::matmul(n, n, n), d))
        })
        .collect()
}
