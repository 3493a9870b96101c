//! `mlsim collective`: what a collective (all-reduce, all-gather,
//! reduce-scatter, all-to-all) costs on a system, by message size, with
//! its terms (docs/model/collectives.md).

use clap::Args;
use mlsim_engine::collectives::{Collective, Fabric, cost};

use crate::output::{Format, Table, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    mlsim collective --system hgx-h100-8 --op all-reduce --bytes 16KiB,1MiB,1GB\n  \
    mlsim collective --system mi300x-8 --op all-to-all --bytes 64MiB --ranks 4")]
pub struct CollectiveArgs {
    /// System name (`mlsim systems list`) or file.
    #[arg(long)]
    pub system: String,
    /// all-reduce, all-gather, reduce-scatter or all-to-all.
    #[arg(long, value_parser = parse_collective)]
    pub op: Collective,
    /// Message sizes, comma-separated: bytes, or with a suffix (KB, MB, GB
    /// in powers of 1000; KiB, MiB, GiB in powers of 1024).
    #[arg(long, value_delimiter = ',', value_parser = mlsim_engine::collectives::parse_bytes, required = true)]
    pub bytes: Vec<f64>,
    /// Ranks taking part (default: every chip of the system).
    #[arg(long)]
    pub ranks: Option<u32>,
    #[command(flatten)]
    pub format: FormatArg,
}

fn parse_collective(s: &str) -> Result<Collective, String> {
    s.parse()
}

pub fn run(args: &CollectiveArgs) -> CmdResult {
    let system = mlsim_hw::load_system(&args.system)?;
    let ranks = args.ranks.unwrap_or(system.chips());
    if ranks == 0 || ranks > system.chips() {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "--ranks {ranks}: system `{}` has {} chips (give 1 to {})",
                system.name,
                system.chips(),
                system.chips()
            ),
        });
    }
    let fabric = Fabric::of(&system, ranks).ok_or_else(|| Failure {
        code: 2,
        error: anyhow::anyhow!("system `{}` has no network between its nodes", system.name),
    })?;
    let costs: Vec<_> = args
        .bytes
        .iter()
        .map(|&b| cost(args.op, b, ranks, fabric))
        .collect();
    match args.format.format {
        Format::Json => write_json(&serde_json::json!({
            "system": system.name,
            "fabric": fabric,
            "costs": costs,
        }))?,
        Format::Csv => {
            let rows: Vec<Vec<String>> = costs
                .iter()
                .map(|c| {
                    vec![
                        system.name.clone(),
                        c.collective.as_str().to_string(),
                        c.ranks.to_string(),
                        crate::output::csv_num(c.bytes),
                        format!("{:?}", c.algorithm).to_lowercase(),
                        c.steps.to_string(),
                        crate::output::csv_num(c.latency_s * 1e6),
                        crate::output::csv_num(c.transfer_s * 1e6),
                        crate::output::csv_num(c.time_s * 1e6),
                        crate::output::csv_num(c.algbw_bytes_per_s / 1e9),
                        crate::output::csv_num(c.busbw_bytes_per_s / 1e9),
                    ]
                })
                .collect();
            write_csv(
                &[
                    "system",
                    "op",
                    "ranks",
                    "bytes",
                    "algorithm",
                    "steps",
                    "latency_us",
                    "transfer_us",
                    "time_us",
                    "algbw_gb_s",
                    "busbw_gb_s",
                ],
                &rows,
            )?;
        }
        Format::Table => {
            outln!(
                "{} on {} ({} of {} chips): {} GB/s a direction, {} us a step",
                args.op.as_str(),
                system.name,
                ranks,
                system.chips(),
                sig(fabric.bandwidth_bytes_per_s / 1e9, 4),
                sig(fabric.latency_s * 1e6, 3)
            );
            let mut t = Table::new([
                "bytes",
                "algorithm",
                "steps",
                "latency us",
                "transfer us",
                "time us",
                "algbw GB/s",
                "busbw GB/s",
            ]);
            for c in &costs {
                t.row([
                    format!("{:.0}", c.bytes),
                    format!("{:?}", c.algorithm).to_lowercase(),
                    c.steps.to_string(),
                    sig(c.latency_s * 1e6, 4),
                    sig(c.transfer_s * 1e6, 4),
                    sig(c.time_s * 1e6, 4),
                    sig(c.algbw_bytes_per_s / 1e9, 4),
                    sig(c.busbw_bytes_per_s / 1e9, 4),
                ]);
            }
            out!("{}", t.render());
        }
    }
    Ok(())
}
