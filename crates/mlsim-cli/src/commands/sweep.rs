//! `mlsim sweep`: predictions for a grid of GEMM shapes and dtypes, e.g. to
//! commit a blind prediction before measuring.

use clap::Args;
use mlsim_engine::sweep;
use mlsim_quant::Dtype;
use mlsim_workload::{Op, Workload};

use crate::output::{Format, Table, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim sweep --hw h200 --sizes 32,64,128,256,512,1024,2048,4096,8192 --dtypes fp32,tf32,fp16,bf16,int8,fp8_e4m3 --format csv\n  mlsim sweep --hw t4 --shapes 4096x1x4096,512x4096x11008 --dtypes fp16\n  mlsim sweep --hw h100-sxm5 --sizes 256,4096 --dtypes bf16,fp8_e4m3 --timing kernel"
)]
pub struct SweepArgs {
    /// Chip preset name or TOML file.
    #[arg(long = "hw", value_name = "NAME|FILE")]
    hw: String,
    /// Square sizes (m = n = k), comma-separated.
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<u64>,
    /// Shapes MxNxK, comma-separated.
    #[arg(long, value_delimiter = ',')]
    shapes: Vec<String>,
    /// Dtypes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "fp32,fp16,bf16,int8")]
    dtypes: Vec<Dtype>,
    #[command(flatten)]
    setup: crate::SetupArgs,
    #[command(flatten)]
    format: FormatArg,
}

pub(crate) fn parse_shape(s: &str) -> Result<(u64, u64, u64), Failure> {
    let parts: Vec<&str> = s.split(['x', 'X']).collect();
    let bad = || Failure {
        code: 2,
        error: anyhow::anyhow!("bad shape `{s}`, expected MxNxK such as 512x4096x4096"),
    };
    if parts.len() != 3 {
        return Err(bad());
    }
    let v: Vec<u64> = parts
        .iter()
        .map(|p| p.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    Ok((v[0], v[1], v[2]))
}

pub fn run(args: &SweepArgs) -> CmdResult {
    let setup = args.setup.load(&args.hw)?;
    let mut shapes: Vec<(u64, u64, u64)> = args.sizes.iter().map(|&n| (n, n, n)).collect();
    for s in &args.shapes {
        shapes.push(parse_shape(s)?);
    }
    if shapes.is_empty() {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "no shapes given\n  hint: add --sizes 512,1024 or --shapes 512x4096x4096"
            ),
        });
    }
    for &d in &args.dtypes {
        setup.chip.check_runs(d).map_err(|e| Failure {
            code: 2,
            error: anyhow::anyhow!("--dtypes {d}: {e}"),
        })?;
    }
    let mut workloads = Vec::new();
    for &(m, n, k) in &shapes {
        for &d in &args.dtypes {
            let w = Workload::new(format!("MatMul {m}x{n}x{k}"), Op::MatMul { m, n, k }, d)
                .map_err(|e| Failure {
                    code: 2,
                    error: anyhow::anyhow!("invalid shape {m}x{n}x{k}: {e}"),
                })?;
            workloads.push(w);
        }
    }
    let results = sweep(&[setup.target()], &workloads);
    match args.format.format {
        Format::Json => write_json(&results)?,
        Format::Csv => {
            let mut headers = vec!["m", "n", "k"];
            headers.extend_from_slice(super::result_columns());
            let rows: Vec<Vec<String>> = results
                .iter()
                .zip(&workloads)
                .map(|(r, w)| {
                    let Op::MatMul { m, n, k } = w.op else {
                        unreachable!("only matmuls are swept")
                    };
                    let mut row = vec![m.to_string(), n.to_string(), k.to_string()];
                    row.extend(super::result_values(&setup.chip, r));
                    row
                })
                .collect();
            write_csv(&headers, &rows)?;
        }
        Format::Table => {
            let mut t = Table::new(["shape", "dtype", "runtime ms", "TFLOPS", "bound", "native"]);
            for r in &results {
                t.row([
                    r.workload.trim_start_matches("MatMul ").to_string(),
                    r.dtype.to_string(),
                    sig(r.prediction.runtime_ms, 4),
                    sig(r.prediction.achieved_tflops, 4),
                    r.prediction.bottleneck.to_string(),
                    if r.prediction.native { "yes" } else { "no" }.to_string(),
                ]);
            }
            out!("{}", t.render());
        }
    }
    Ok(())
}
