//! `mlsim merge OUT PARTS...`: the parts of a sharded sweep put back
//! together (`mlsim_calibrate::shards`): they must be the N slices of one
//! grid, each once, each with the rows its slice holds, under one CSV
//! header (or one Parquet schema); the output is byte for byte what the
//! unsharded sweep writes.

use std::path::PathBuf;

use clap::Args;
use mlsim_calibrate::shards::{check_parts, write_merged};

#[cfg(feature = "parquet")]
use super::sweep_parquet;

use crate::{CmdResult, Failure};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim merge sweep.csv part-0.csv part-1.csv part-2.csv part-3.csv\n  mlsim merge sweep.csv parts/*.csv --force\n  mlsim merge sweep.parquet parts/*.parquet   (an mlsim built with --features parquet)\n\nThe parts are all CSV or all Parquet, and the output is of their kind. They may be given in\nany order. A missing, repeated or foreign part (another grid's) is an error naming the file,\nexit code 2, and nothing is written."
)]
pub struct MergeArgs {
    /// The merged file to write (CSV, or Parquet for Parquet parts).
    #[arg(value_name = "OUT")]
    out: PathBuf,
    /// The part files written by `mlsim sweep --shard K/N --format csv|parquet`.
    #[arg(value_name = "PARTS", required = true)]
    parts: Vec<PathBuf>,
    /// Replace OUT when the file exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &MergeArgs) -> CmdResult {
    crate::files::check_new(&args.out, args.force, "results file")?;
    let failure = |e: String| Failure {
        code: 2,
        error: anyhow::anyhow!(e),
    };
    if let Some(parquet) = args.parts.iter().find(|p| is_parquet(p)) {
        #[cfg(feature = "parquet")]
        {
            if let Some(csv) = args.parts.iter().find(|p| !is_parquet(p)) {
                return Err(failure(format!(
                    "{}: not Parquet, but {} is: the parts of one sweep are all CSV or all Parquet",
                    csv.display(),
                    parquet.display()
                )));
            }
            let headers = args
                .parts
                .iter()
                .map(|p| Ok((sweep_parquet::header_of(p)?, p.clone())))
                .collect::<Result<Vec<_>, String>>()
                .map_err(failure)?;
            let parts = mlsim_calibrate::shards::check_slices(headers).map_err(failure)?;
            return crate::files::write_atomic_with(&args.out, args.force, "results file", |out| {
                sweep_parquet::write_merged(&parts, std::io::BufWriter::new(out))
            });
        }
        #[cfg(not(feature = "parquet"))]
        return Err(failure(format!(
            "{}: a Parquet part, and this mlsim was built without Parquet\n  hint: build it with `cargo build --release -p mlsim-cli --features parquet`",
            parquet.display()
        )));
    }
    let parts = check_parts(&args.parts).map_err(failure)?;
    crate::files::write_atomic_with(&args.out, args.force, "results file", |out| {
        write_merged(&parts, &mut std::io::BufWriter::new(out))
    })
}

/// Whether `path` starts as a Parquet file does (`PAR1`).
fn is_parquet(path: &std::path::Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == b"PAR1")
}
