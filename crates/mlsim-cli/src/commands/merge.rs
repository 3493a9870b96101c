//! `mlsim merge OUT PARTS...`: the parts of a sharded sweep put back
//! together. Each part's first line (`commands/shard.rs`) says which slice
//! of which grid it holds; the parts must be the N slices of one grid,
//! each once, each with the rows its slice holds, under one CSV header.
//! The output is the header and the rows in grid order: byte for byte what
//! the unsharded sweep writes. Rows are copied as text, streamed, never
//! parsed or held all at once.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use super::shard::PartHeader;
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

fn bad(path: &Path, message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 2,
        error: anyhow::anyhow!("{}: {message}", path.display()),
    }
}

/// A part's first line, read and checked.
fn header_of(path: &Path) -> Result<PartHeader, Failure> {
    let file = std::fs::File::open(path).map_err(|e| bad(path, e))?;
    let mut line = String::new();
    BufReader::new(file)
        .read_line(&mut line)
        .map_err(|e| bad(path, e))?;
    let h: PartHeader = line.trim_end().parse().map_err(|e| bad(path, e))?;
    let (start, end) = h.shard.range(h.total);
    if (h.start, h.end) != (start, end) {
        return Err(bad(
            path,
            format!(
                "line 1: slice {}/{} of {} points is {start}..{end}, the line says {}..{}",
                h.shard.index, h.shard.of, h.total, h.start, h.end
            ),
        ));
    }
    Ok(h)
}

pub fn run(args: &MergeArgs) -> CmdResult {
    crate::files::check_new(&args.out, args.force, "results file")?;
    let mut parts: Vec<(PartHeader, &PathBuf)> = args
        .parts
        .iter()
        .map(|p| Ok((header_of(p)?, p)))
        .collect::<Result<_, Failure>>()?;
    let (first, first_path) = parts[0].clone();
    for (h, p) in &parts {
        if (h.shard.of, h.total, &h.grid) != (first.shard.of, first.total, &first.grid) {
            return Err(bad(
                p,
                format!(
                    "a part of another sweep (grid {}, {} slices of {} points), not of {}'s (grid {}, {} slices of {} points)",
                    h.grid,
                    h.shard.of,
                    h.total,
                    first_path.display(),
                    first.grid,
                    first.shard.of,
                    first.total
                ),
            ));
        }
    }
    parts.sort_by_key(|(h, _)| h.shard.index);
    for pair in parts.windows(2) {
        if pair[0].0.shard.index == pair[1].0.shard.index {
            return Err(bad(
                pair[1].1,
                format!(
                    "slice {} is also in {}: each part once",
                    pair[1].0.shard.index,
                    pair[0].1.display()
                ),
            ));
        }
    }
    let have: Vec<u64> = parts.iter().map(|(h, _)| h.shard.index).collect();
    if let Some(missing) = (0..first.shard.of).find(|k| !have.contains(k)) {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "slice {missing}/{} is missing: {} of {} parts given\n  hint: run `mlsim sweep ... --shard {missing}/{}` for it",
                first.shard.of,
                parts.len(),
                first.shard.of,
                first.shard.of
            ),
        });
    }
    crate::files::write_atomic_with(&args.out, args.force, "results file", |out| {
        let mut out = std::io::BufWriter::new(out);
        let mut csv_header: Option<String> = None;
        for (h, path) in &parts {
            copy_rows(path, h, &mut csv_header, &mut out)?;
        }
        out.flush()
    })
}

/// Copy one part's rows after checking its CSV header against the first
/// part's and counting its rows against its slice. Errors name the part.
fn copy_rows(
    path: &Path,
    h: &PartHeader,
    csv_header: &mut Option<String>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let invalid = |m: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {m}", path.display()),
        )
    };
    let mut lines = BufReader::new(std::fs::File::open(path)?).lines();
    lines.next().transpose()?; // the part header, read before
    let header = lines
        .next()
        .transpose()?
        .ok_or_else(|| invalid("line 2: no CSV header".into()))?;
    match csv_header {
        None => {
            writeln!(out, "{header}")?;
            *csv_header = Some(header);
        }
        Some(first) if *first != header => {
            return Err(invalid(format!(
                "line 2: the CSV header differs from the first part's (`{header}`)"
            )));
        }
        Some(_) => {}
    }
    let mut rows = 0u64;
    for line in lines {
        writeln!(out, "{}", line?)?;
        rows += 1;
    }
    if rows != h.end - h.start {
        return Err(invalid(format!(
            "{rows} rows, but slice {}/{} holds {} (points {}..{}): a truncated or edited part",
            h.shard.index,
            h.shard.of,
            h.end - h.start,
            h.start,
            h.end
        )));
    }
    Ok(())
}
