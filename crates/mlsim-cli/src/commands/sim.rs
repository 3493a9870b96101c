//! `mlsim sim`: one workload, every term shown.

use clap::Args;
use mlsim_engine::simulate;
use mlsim_quant::Dtype;

use crate::output::{Format, Table, sig, write_csv, write_json};
use crate::shapes::OpArgs;
use crate::{CmdResult, FormatArg, SetupArgs};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim sim matmul --hw t4-seed --m 1024 --n 1024 --k 1024 --dtype fp16\n  mlsim sim matmul --hw h100-sxm5 --m 256 --n 256 --k 256 --dtype bf16 --timing kernel\n  mlsim sim attention --hw npu-systolic --heads 32 --seq 2048 --head-dim 128 --causal\n  mlsim sim conv2d --hw cpu-avx512-desktop --c-in 64 --h 56 --c-out 64 --kernel 3 --padding 1\n  mlsim sim elementwise --hw mobile-neon --n 1048576 --kind gelu --format json"
)]
pub struct SimArgs {
    /// Chip preset name or TOML file.
    #[arg(long = "hw", value_name = "NAME|FILE", global = true, required = false)]
    hw: Option<String>,
    /// Element dtype: fp64, fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2 (and
    /// their _fnuz variants), int8, fp6_e2m3, fp6_e3m2, fp4_e2m1, int4,
    /// mxfp8, mxfp6, mxfp4, nvfp4.
    #[arg(long, default_value = "fp32", global = true)]
    dtype: Dtype,
    #[command(flatten)]
    setup: SetupArgs,
    #[command(flatten)]
    format: FormatArg,
    #[command(subcommand)]
    op: OpArgs,
}

pub fn run(args: &SimArgs) -> CmdResult {
    let Some(hw) = &args.hw else {
        return Err(crate::Failure {
            code: 2,
            error: anyhow::anyhow!(
                "no chip given\n  hint: add --hw NAME (see `mlsim presets list`) or --hw path/to/chip.toml"
            ),
        });
    };
    let setup = args.setup.load(hw)?;
    let chip = &setup.chip;
    chip.check_runs(args.dtype).map_err(|e| crate::Failure {
        code: 2,
        error: anyhow::anyhow!("--dtype {}: {e}", args.dtype),
    })?;
    let workload = args.op.workload(args.dtype)?;
    let r = simulate(&setup.target(), &workload);
    match args.format.format {
        Format::Json => write_json(&r)?,
        Format::Csv => write_csv(super::result_columns(), &[super::result_values(chip, &r)])?,
        Format::Table => {
            let p = &r.prediction;
            let mut t = Table::new(["term", "value", "unit"]);
            let mut rows: Vec<(&str, String, &str)> = vec![
                ("model", p.detail.model_name().to_string(), ""),
                ("workload", r.workload.clone(), ""),
                (
                    "hardware",
                    format!("{} ({})", chip.name, chip.display_name),
                    "",
                ),
                ("stack", r.stack.clone(), ""),
                ("framework", r.framework.clone(), ""),
                (
                    "timing",
                    r.timing.map_or_else(|| "-".into(), |t| t.to_string()),
                    "",
                ),
                ("dtype", r.dtype.to_string(), ""),
                ("FLOPs", format!("{}", p.flops), "FLOP"),
                ("bytes", format!("{}", p.bytes), "B"),
                (
                    "arithmetic intensity",
                    sig(p.arithmetic_intensity, 6),
                    "FLOP/B",
                ),
                ("tiling efficiency", sig(p.tiling_efficiency, 6), ""),
                ("effective rate", sig(p.effective_tflops, 6), "TFLOP/s"),
                ("compute time", sig(p.compute_ms, 6), "ms"),
                ("memory time", sig(p.memory_ms, 6), "ms"),
                ("kernel time", sig(p.kernel_ms, 6), "ms"),
                ("kernel floor", sig(p.kernel_floor_ms, 6), "ms"),
                ("host time added", sig(p.launch_ms, 6), "ms"),
                ("conversion time", sig(p.conversion_ms, 6), "ms"),
                ("main-memory traffic", format!("{}", p.dram_bytes), "B"),
                (
                    "native path",
                    if p.native { "yes" } else { "no" }.to_string(),
                    "",
                ),
                ("cache hit rate", sig(p.hit_rate, 6), ""),
                (
                    "serving level",
                    r.serving_level.clone().unwrap_or_else(|| "-".into()),
                    "",
                ),
                ("compute utilisation", sig(p.compute_utilization, 6), ""),
                ("runtime", sig(p.runtime_ms, 6), "ms"),
                ("achieved", sig(p.achieved_tflops, 6), "TFLOP/s"),
                ("bottleneck", p.bottleneck.to_string(), ""),
            ];
            rows.extend(model_terms(p));
            let mut rows: Vec<(String, String, &str)> = rows
                .into_iter()
                .map(|(a, b, c)| (a.to_string(), b, c))
                .collect();
            // Memory time at each level, after the totals.
            for (level, ms) in chip.memory.iter().zip(p.level_memory_ms.as_slice()) {
                rows.push((format!("memory time at {}", level.name), sig(*ms, 6), "ms"));
            }
            for (term, value, unit) in rows {
                t.row([term, value, unit.to_string()]);
            }
            out!("{}", t.render());
            // OCP fp8 on a chip whose fp8 is FNUZ (CDNA 3) runs dequantized:
            // say which format the chip computes fp8 in.
            let own = chip.own_fp8_variant(args.dtype);
            if own != args.dtype {
                outln!(
                    "note: {} has no {} path; its fp8 is {own} (--dtype {own})",
                    chip.name,
                    args.dtype
                );
            }
        }
    }
    Ok(())
}

/// The model's own terms, as table rows.
fn model_terms(p: &mlsim_engine::Prediction) -> Vec<(&'static str, String, &'static str)> {
    use mlsim_engine::ModelDetail;
    match p.detail {
        ModelDetail::Original(o) => vec![
            ("compute cycles", sig(o.compute_cycles, 6), "cycles"),
            ("memory stall", sig(o.memory_stall_cycles, 6), "cycles"),
            ("exposed stall", sig(o.exposed_stall_cycles, 6), "cycles"),
            ("avg access latency", sig(o.avg_latency_cycles, 6), "cycles"),
        ],
        ModelDetail::GpuTiled(g) => vec![
            ("waves of tiles", sig(g.waves, 6), ""),
            ("K split", g.split_k.to_string(), "ways"),
        ],
        ModelDetail::CpuBlocked(c) => vec![
            ("threads", c.threads.to_string(), "cores"),
            (
                "block mc x nc x kc",
                format!("{} x {} x {}", c.block_m, c.block_n, c.block_k),
                "elements",
            ),
        ],
        ModelDetail::Systolic(s) => vec![
            ("weight tiles", sig(s.passes, 6), "passes"),
            ("rounds over the arrays", sig(s.rounds, 6), ""),
        ],
    }
}
