//! The paper's section on fp8, fp6 and fp4 against bf16 on the chips that
//! run them natively (B200, MI355X): where each format starts to pay off,
//! by how much, and what its block scales cost, as kernel times (a serving
//! engine hides the host; `--timing kernel`). Datasheet presets and
//! estimate stacks: nothing here is fitted or measured.

use anyhow::Context;
use mlsim_engine::crossover::{Family, SearchedCrossover, search_against};
use mlsim_engine::predict_matmul;
use mlsim_hw::{Setup, SetupSpec, Timing};
use mlsim_plot::charts::csv_number;
use mlsim_quant::Dtype;
use mlsim_roofline::Bound;

use crate::figures::Outputs;

/// The chips the section compares.
const CHIPS: [&str; 2] = ["b200", "mi355x"];

/// The formats compared with bf16.
const FORMATS: [Dtype; 5] = [
    Dtype::Fp8E4m3,
    Dtype::Mxfp8,
    Dtype::Mxfp6,
    Dtype::Mxfp4,
    Dtype::Nvfp4,
];

/// A weight matrix of a 70B-class model (hidden size 8192): the decode and
/// prefill GEMMs multiply M tokens by it.
const WEIGHT: (u64, u64) = (8192, 8192);

/// Rows of the prefill shape (tokens in a batch of prompts).
const PREFILL_ROWS: u64 = 4096;

/// The searched sizes: N of a square GEMM, M of the M x 8192 x 8192 family.
const SQUARE_RANGE: (u64, u64) = (16, 16384);
const ROWS_RANGE: (u64, u64) = (1, 16384);

fn setup(chip: &str) -> anyhow::Result<Setup> {
    Setup::load(
        chip,
        &SetupSpec {
            timing: Some(Timing::Kernel),
            ..Default::default()
        },
    )
    .with_context(|| format!("preset {chip}"))
}

fn from(c: SearchedCrossover, what: &str) -> String {
    match c {
        SearchedCrossover::Always => "at every size".into(),
        SearchedCrossover::Never => "never".into(),
        SearchedCrossover::From { size, .. } => format!("from {what} = {size}"),
    }
}

/// How `dtype` runs on the chip: natively, or dequantized to a path.
fn path(setup: &Setup, dtype: Dtype) -> String {
    match setup.target().resolve_path(dtype) {
        Some((_, _, true)) => "native".into(),
        Some((via, _, false)) => format!("dequantized to {via}"),
        None => "-".into(),
    }
}

/// bf16's kernel time over `dtype`'s at one shape.
fn speedup(setup: &Setup, dtype: Dtype, (m, n, k): (u64, u64, u64)) -> f64 {
    let t = setup.target();
    predict_matmul(&t, m, n, k, Dtype::Bf16).kernel_ms
        / predict_matmul(&t, m, n, k, dtype).kernel_ms
}

/// Bytes of the block scales of both operands of an `m x n x k` GEMM (A
/// is m x k, B is n x k, blocks along K; a partial block costs a whole
/// scale).
fn scale_bytes(dtype: Dtype, (m, n, k): (u64, u64, u64)) -> f64 {
    let elements = (m * k + n * k) as f64 * f64::from(dtype.element_bits()) / 8.0;
    dtype.tensor_bytes(m, k) + dtype.tensor_bytes(n, k) - elements
}

/// Where each format starts to beat bf16 and by how much.
fn crossovers() -> anyhow::Result<(String, String)> {
    let (n, k) = WEIGHT;
    let square = (4096, 4096, 4096);
    let decode = (1, n, k);
    let prefill = (PREFILL_ROWS, n, k);
    let mut md = format!(
        "| chip | format | path | square N^3: faster than bf16 | M x {n} x {k}: faster than bf16 | bf16 / format at 4096^3 | at 1 x {n} x {k} (decode) | at {PREFILL_ROWS} x {n} x {k} (prefill) |\n|---|---|---|---|---|---|---|---|\n"
    );
    let mut csv = String::from(
        "chip,format,path,square_crossover,rows_crossover,speedup_square_4096,speedup_decode,speedup_prefill\n",
    );
    for chip in CHIPS {
        let s = setup(chip)?;
        let t = s.target();
        for dtype in FORMATS {
            let sq = from(
                search_against(
                    &t,
                    dtype,
                    Dtype::Bf16,
                    Family::Square,
                    SQUARE_RANGE.0,
                    SQUARE_RANGE.1,
                ),
                "N",
            );
            let rows = from(
                search_against(
                    &t,
                    dtype,
                    Dtype::Bf16,
                    Family::M { n, k },
                    ROWS_RANGE.0,
                    ROWS_RANGE.1,
                ),
                "M",
            );
            let (a, b, c) = (
                speedup(&s, dtype, square),
                speedup(&s, dtype, decode),
                speedup(&s, dtype, prefill),
            );
            let p = path(&s, dtype);
            md.push_str(&format!(
                "| {chip} | {dtype} | {p} | {sq} | {rows} | {a:.2}x | {b:.2}x | {c:.2}x |\n"
            ));
            csv.push_str(&format!(
                "{chip},{dtype},{p},{sq},{rows},{},{},{}\n",
                csv_number(a),
                csv_number(b),
                csv_number(c)
            ));
        }
    }
    Ok((md, csv))
}

/// What the block scales cost: their share of the bytes moved and, where
/// the GEMM is memory-bound, the kernel time they take (that share of the
/// memory time); under a compute-bound GEMM they are hidden.
fn scale_costs() -> anyhow::Result<(String, String)> {
    let (n, k) = WEIGHT;
    let mut md = String::from(
        "| chip | format | shape | bytes moved (MB) | of which scales | bound | time on scales |\n|---|---|---|---|---|---|---|\n",
    );
    let mut csv = String::from(
        "chip,format,m,n,k,bytes,scale_bytes,scale_share,bound,scale_time_ms,scale_time_share\n",
    );
    for chip in CHIPS {
        let s = setup(chip)?;
        let t = s.target();
        for dtype in FORMATS.into_iter().filter(|d| d.block_scaling().is_some()) {
            for m in [1, PREFILL_ROWS] {
                let shape = (m, n, k);
                let p = predict_matmul(&t, m, n, k, dtype);
                let scales = scale_bytes(dtype, shape);
                let share = scales / p.bytes;
                let (bound, time_ms) = match p.bottleneck {
                    Bound::Memory => ("memory", p.memory_ms * share),
                    Bound::Compute => ("compute", 0.0),
                };
                let time = if time_ms > 0.0 {
                    format!(
                        "{:.2} us ({:.1}% of {:.2} us)",
                        time_ms * 1e3,
                        100.0 * time_ms / p.kernel_ms,
                        p.kernel_ms * 1e3
                    )
                } else {
                    "hidden under compute".into()
                };
                md.push_str(&format!(
                    "| {chip} | {dtype} | {m} x {n} x {k} | {:.1} | {:.1}% | {bound} | {time} |\n",
                    p.bytes / 1e6,
                    100.0 * share
                ));
                csv.push_str(&format!(
                    "{chip},{dtype},{m},{n},{k},{},{},{},{bound},{},{}\n",
                    csv_number(p.bytes),
                    csv_number(scales),
                    csv_number(share),
                    csv_number(time_ms),
                    csv_number(time_ms / p.kernel_ms)
                ));
            }
        }
    }
    Ok((md, csv))
}

/// The section's tables.
pub fn tables() -> anyhow::Result<Outputs> {
    let mut out = Outputs::new();
    let (md, csv) = crossovers()?;
    out.insert(
        "generated/low-precision-crossovers.md".into(),
        md.into_bytes(),
    );
    out.insert(
        "generated/low-precision-crossovers.csv".into(),
        csv.into_bytes(),
    );
    let (md, csv) = scale_costs()?;
    out.insert("generated/low-precision-scales.md".into(), md.into_bytes());
    out.insert(
        "generated/low-precision-scales.csv".into(),
        csv.into_bytes(),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MXFP4 scales: one byte per 32 elements along K. A 1 x 8192 x 8192
    /// GEMM has 8192 / 32 = 256 blocks in A's row and 8192 x 256 in B:
    /// 256 + 2,097,152 bytes. NVFP4: one byte per 16, plus its fp32 tensor
    /// scale per operand: 512 + 4,194,304 + 2 x 4. A K of 40 is one full
    /// and one partial block per row: two scales.
    #[test]
    fn scale_bytes_by_hand() {
        assert_eq!(
            scale_bytes(Dtype::Mxfp4, (1, 8192, 8192)),
            256.0 + 2_097_152.0
        );
        assert_eq!(
            scale_bytes(Dtype::Nvfp4, (1, 8192, 8192)),
            512.0 + 4_194_304.0 + 8.0
        );
        assert_eq!(scale_bytes(Dtype::Mxfp8, (3, 5, 40)), 2.0 * (3.0 + 5.0));
        assert_eq!(scale_bytes(Dtype::Fp8E4m3, (3, 5, 40)), 0.0);
    }
}
