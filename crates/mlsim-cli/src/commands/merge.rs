//! `mlsim merge OUT PARTS...`: the parts of a sharded sweep put back
//! together (`mlsim_calibrate::shards`): they must be the N slices of one
//! grid, each once, each with the rows its slice holds, under one CSV
//! header; the output is byte for byte what the unsharded sweep writes.

use std::path::PathBuf;

use clap::Args;
use mlsim_calibrate::shards::{check_parts, write_merged};

use crate::{CmdResult, Failure};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim merge sweep.csv part-0.csv part-1.csv part-2.csv part-3.csv\n  mlsim merge sweep.csv parts/*.csv --force\n\nThe parts may be given in any order. A missing, repeated or foreign part (another grid's) is an\nerror naming the file, exit code 2, and nothing is written."
)]
pub struct MergeArgs {
    /// The merged CSV file to write.
    #[arg(value_name = "OUT")]
    out: PathBuf,
    /// The part files written by `mlsim sweep --shard K/N --format csv`.
    #[arg(value_name = "PARTS", required = true)]
    parts: Vec<PathBuf>,
    /// Replace OUT when the file exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &MergeArgs) -> CmdResult {
    crate::files::check_new(&args.out, args.force, "results file")?;
    let parts = check_parts(&args.parts).map_err(|e| Failure {
        code: 2,
        error: anyhow::anyhow!(e),
    })?;
    crate::files::write_atomic_with(&args.out, args.force, "results file", |out| {
        write_merged(&parts, &mut std::io::BufWriter::new(out))
    })
}
