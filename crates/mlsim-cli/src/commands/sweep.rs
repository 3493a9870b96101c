//! `mlsim sweep`: predictions for a grid of chips, stacks, GEMM shapes and
//! dtypes, e.g. to commit a blind prediction before measuring; with
//! `--shard K/N` one slice of the grid, for cluster array jobs
//! (`commands/shard.rs`, `mlsim merge`).

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use mlsim_engine::{SimResult, simulate};
use mlsim_quant::Dtype;
use mlsim_workload::{Op, Workload};
use rayon::prelude::*;

use crate::output::{Table, sig, write_json};
use crate::{CmdResult, Failure};
use mlsim_calibrate::shards::{PartHeader, Shard, grid_digest};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim sweep --hw h200 --sizes 32,64,128,256,512,1024,2048,4096,8192 --dtypes fp32,tf32,fp16,bf16,int8,fp8_e4m3 --format csv\n  mlsim sweep --hw t4 --shapes 4096x1x4096,512x4096x11008 --dtypes fp16\n  mlsim sweep --hw h100-sxm5 --sizes 256,4096 --dtypes bf16,fp8_e4m3 --timing kernel\n  mlsim sweep --hw h100-sxm5 --hw b200 --stacks cublas-hopper,cublas-hopper-h200 --sizes 256,4096 --format csv\n  mlsim sweep --hw b200 --sizes 64,256,1024,4096 --shard 0/4 --out part-0.csv\n  mlsim merge sweep.csv part-0.csv part-1.csv part-2.csv part-3.csv\n  mlsim sweep --hw h100-sxm5 --hw b200 --sizes 64,256,1024 --format parquet --out sweep.parquet\n  mlsim sweep --hw b200 --sizes 64,256,1024 --format parquet --columns hardware,m,n,k,dtype,runtime_ms --out small.parquet\n\nThe grid is chips x stacks x shapes x dtypes, in that order (chip outermost). --shard K/N\npredicts the K-th (from 0) of N contiguous slices of it as CSV (behind a first line naming\nthe slice and the grid) or Parquet (the same in its metadata); `mlsim merge` checks the parts\nand writes what the unsharded sweep writes. Parquet needs an mlsim built with\n`--features parquet`: the CSV's columns typed, memory_ms_by_level split into one column a level."
)]
pub struct SweepArgs {
    /// Chip preset names or TOML files (repeat --hw for several chips).
    #[arg(long = "hw", value_name = "NAME|FILE", required = true)]
    hw: Vec<String>,
    /// Kernel-library stacks to sweep over, comma-separated (default: each
    /// chip's own, or --stack).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NAME|FILE",
        conflicts_with = "stack"
    )]
    stacks: Vec<String>,
    /// Square sizes (m = n = k), comma-separated.
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<u64>,
    /// Shapes MxNxK, comma-separated.
    #[arg(long, value_delimiter = ',')]
    shapes: Vec<String>,
    /// Dtypes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "fp32,fp16,bf16,int8")]
    dtypes: Vec<Dtype>,
    /// Predict only the K-th (from 0) of N contiguous slices of the grid,
    /// as CSV (a Slurm array task or Kubernetes completion index).
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Write only these columns, in this order (CSV or Parquet; the names
    /// of that format's header, e.g. hardware,m,n,k,dtype,runtime_ms).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    columns: Vec<String>,
    /// Write to this file (whole or not at all) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replace --out when the file exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    setup: crate::SetupArgs,
    /// Output format: parquet needs --out, and an mlsim built with the
    /// cargo feature `parquet`.
    #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
    format: SweepFormat,
}

/// How a sweep is written: the common formats, and Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SweepFormat {
    /// Aligned tables for people.
    Table,
    /// JSON for scripts (documented in README.md).
    Json,
    /// CSV for spreadsheets and dataframes.
    Csv,
    /// Parquet: typed columns, one per memory level (feature `parquet`).
    Parquet,
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
    if let Some(out) = &args.out {
        crate::files::check_new(out, args.force, "results file")?;
    }
    if args.shard.is_some() && !matches!(args.format, SweepFormat::Csv | SweepFormat::Parquet) {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "--shard writes CSV or Parquet (so that `mlsim merge` can join the parts)\n  hint: add --format csv or --format parquet"
            ),
        });
    }
    if !args.columns.is_empty() && !matches!(args.format, SweepFormat::Csv | SweepFormat::Parquet) {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "--columns chooses the columns of CSV or Parquet output\n  hint: add --format csv or --format parquet"
            ),
        });
    }
    if args.format == SweepFormat::Parquet {
        if !cfg!(feature = "parquet") {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!(
                    "--format parquet: this mlsim was built without Parquet\n  hint: build it with `cargo build --release -p mlsim-cli --features parquet`"
                ),
            });
        }
        if args.out.is_none() {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!(
                    "--format parquet writes a file, not the terminal\n  hint: add --out sweep.parquet"
                ),
            });
        }
    }
    // One setup per chip and stack, chip outermost.
    let setups: Vec<mlsim_hw::Setup> = in_order(&args.hw, |hw| {
        if args.stacks.is_empty() {
            return Ok(vec![args.setup.load(hw)?]);
        }
        args.stacks
            .iter()
            .map(|stack| {
                let mut with = args.setup.clone();
                with.stack = Some(stack.clone());
                with.load(hw)
            })
            .collect()
    })?;
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
    for setup in &setups {
        for &d in &args.dtypes {
            setup.chip.check_runs(d).map_err(|e| Failure {
                code: 2,
                error: anyhow::anyhow!("--dtypes {d}: {e}"),
            })?;
        }
    }
    // Shape by shape, each dtype's workload (a sweep can have millions).
    let workloads: Vec<Workload> = in_order(&shapes, |&(m, n, k)| {
        // Formatted once per shape.
        let name = format!("MatMul {m}x{n}x{k}");
        args.dtypes
            .iter()
            .map(|&d| {
                Workload::new(name.clone(), Op::MatMul { m, n, k }, d).map_err(|e| Failure {
                    code: 2,
                    error: anyhow::anyhow!("invalid shape {m}x{n}x{k}: {e}"),
                })
            })
            .collect()
    })?;
    // The grid, in order: (setup, workload) by flat index.
    let total = (setups.len() * workloads.len()) as u64;
    let (start, end) = args.shard.map_or((0, total), |s| s.range(total));
    let targets: Vec<_> = setups.iter().map(|s| s.target()).collect();
    let predictors: Vec<_> = targets.iter().map(mlsim_engine::Predictor::new).collect();
    let grid = Grid {
        setups: &setups,
        targets: &targets,
        predictors: &predictors,
        workloads: &workloads,
    };
    #[cfg(feature = "parquet")]
    if let (SweepFormat::Parquet, Some(path)) = (args.format, &args.out) {
        let selected = select_columns(&super::sweep_parquet::column_names(&grid), args, "Parquet")?;
        let part = part_header(args, &setups, &workloads, start, end, total);
        return crate::files::write_atomic_with(path, args.force, "results file", |f| {
            super::sweep_parquet::write(
                &grid,
                std::io::BufWriter::new(f),
                part.as_ref(),
                selected.as_deref(),
                start,
                end,
            )
        });
    }
    if args.format == SweepFormat::Csv {
        let selected = select_columns(&csv_columns(), args, "CSV")?;
        let part = part_header(args, &setups, &workloads, start, end, total);
        let stream = |w: &mut dyn std::io::Write| {
            grid.write_csv(w, part.as_ref(), selected.as_deref(), start, end)
        };
        return match &args.out {
            Some(path) => crate::files::write_atomic_with(path, args.force, "results file", |f| {
                stream(&mut std::io::BufWriter::new(f))
            }),
            None => Ok(stream(&mut std::io::BufWriter::new(
                std::io::stdout().lock(),
            ))?),
        };
    }
    let results = grid.simulate(start, end);
    let mut text: Vec<u8> = Vec::new();
    match args.format {
        SweepFormat::Json => {
            let only: Vec<&SimResult> = results.iter().map(|(_, _, r)| r).collect();
            return emit_json(&only, args);
        }
        SweepFormat::Csv | SweepFormat::Parquet => unreachable!("streamed above"),
        SweepFormat::Table => {
            let several = setups.len() > 1;
            let mut headers = vec!["shape", "dtype", "runtime ms", "TFLOPS", "bound", "native"];
            if several {
                headers.splice(0..0, ["chip", "stack"]);
            }
            let mut t = Table::new(headers);
            for (_, _, r) in &results {
                let mut row = vec![
                    r.workload.trim_start_matches("MatMul ").to_string(),
                    r.dtype.to_string(),
                    sig(r.prediction.runtime_ms, 4),
                    sig(r.prediction.achieved_tflops, 4),
                    r.prediction.bottleneck.to_string(),
                    if r.prediction.native { "yes" } else { "no" }.to_string(),
                ];
                if several {
                    row.splice(0..0, [r.hardware.clone(), r.stack.clone()]);
                }
                t.row(row);
            }
            text.extend_from_slice(t.render().as_bytes());
        }
    }
    emit(&text, args)
}

/// `make` of each item, built in parallel and joined in the items' order;
/// the first error in that order is the one reported, whatever the thread
/// count (rayon's own collect into a `Result` keeps whichever came first in
/// time).
fn in_order<I: Sync, T: Send>(
    items: &[I],
    make: impl Fn(&I) -> Result<Vec<T>, Failure> + Sync + Send,
) -> Result<Vec<T>, Failure> {
    let made: Vec<Result<Vec<T>, Failure>> = items.par_iter().map(make).collect();
    let mut all = Vec::new();
    for m in made {
        all.extend(m?);
    }
    Ok(all)
}

/// The columns of the sweep's CSV, in order.
fn csv_columns() -> Vec<String> {
    ["m", "n", "k"]
        .iter()
        .chain(super::result_columns())
        .map(|c| c.to_string())
        .collect()
}

/// The indices in `all` (a format's columns) of `--columns`, in the order
/// given; `None` without `--columns` (every column). An unknown or
/// repeated name is an error listing the format's columns.
fn select_columns(
    all: &[String],
    args: &SweepArgs,
    format: &str,
) -> Result<Option<Vec<usize>>, Failure> {
    if args.columns.is_empty() {
        return Ok(None);
    }
    let bad = |m: String| Failure {
        code: 2,
        error: anyhow::anyhow!(
            "--columns: {m}\n  hint: the {format} columns are {}",
            all.join(",")
        ),
    };
    let mut out = Vec::with_capacity(args.columns.len());
    for name in &args.columns {
        let i = all
            .iter()
            .position(|c| c == name.trim())
            .ok_or_else(|| bad(format!("no column `{name}` in the {format} output")))?;
        if out.contains(&i) {
            return Err(bad(format!("`{name}` named twice")));
        }
        out.push(i);
    }
    Ok(Some(out))
}

/// A csv error as the io error under it (so that a closed pipe stays a
/// closed pipe, which `main` does not report).
fn io_of(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// Grid points predicted and formatted per batch when streaming CSV: a
/// sweep of millions of points holds one batch of CSV text at a time.
const CSV_BATCH: u64 = 1 << 16;

/// Grid points formatted by one task of a batch.
const CSV_PIECE: u64 = 1 << 10;

/// The sweep's grid: (setup, workload) pairs by flat index, chip outermost.
pub(super) struct Grid<'a> {
    pub(super) setups: &'a [mlsim_hw::Setup],
    pub(super) targets: &'a [mlsim_hw::Target<'a>],
    /// The targets' predictors (their rates resolved once), in order.
    pub(super) predictors: &'a [mlsim_engine::Predictor<'a>],
    pub(super) workloads: &'a [Workload],
}

impl Grid<'_> {
    /// (setup, workload, result) for grid points `[start, end)`, in grid
    /// order whatever the thread count.
    fn simulate(&self, start: u64, end: u64) -> Vec<(usize, usize, SimResult)> {
        (start..end)
            .into_par_iter()
            .map(|i| self.point(i))
            .collect()
    }

    /// Grid point `i`'s setup and workload.
    fn indices(&self, i: u64) -> (usize, usize) {
        let per_setup = self.workloads.len() as u64;
        ((i / per_setup) as usize, (i % per_setup) as usize)
    }

    /// Grid point `i`: its setup, its workload and the prediction.
    fn point(&self, i: u64) -> (usize, usize, SimResult) {
        let (si, wi) = self.indices(i);
        (si, wi, simulate(&self.targets[si], &self.workloads[wi]))
    }

    /// Grid point `i`'s prediction alone (no names copied).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(super) fn predict(&self, i: u64) -> (usize, usize, mlsim_engine::Prediction) {
        let (si, wi) = self.indices(i);
        (si, wi, self.predictors[si].predict(&self.workloads[wi]))
    }

    /// Points `[start, end)` as CSV (after a part's first line, when
    /// sharded), predicted and written a batch at a time; only the columns
    /// `selected` (indices into [`csv_columns`], in that order) when given.
    fn write_csv(
        &self,
        out: &mut dyn std::io::Write,
        part: Option<&PartHeader>,
        selected: Option<&[usize]>,
        start: u64,
        end: u64,
    ) -> std::io::Result<()> {
        if let Some(h) = part {
            writeln!(out, "{h}")?;
        }
        // `--columns` names each column once: a cell is moved, not copied.
        let pick = |mut row: Vec<String>| -> Vec<String> {
            match selected {
                Some(indices) => indices
                    .iter()
                    .map(|&i| std::mem::take(&mut row[i]))
                    .collect(),
                None => row,
            }
        };
        let headers = pick(csv_columns());
        let mut w = csv::Writer::from_writer(&mut *out);
        w.write_record(&headers).map_err(io_of)?;
        w.flush()?;
        drop(w);
        // Each batch is predicted and formatted in parallel, in pieces that
        // are written in grid order.
        let mut from = start;
        while from < end {
            let to = (from + CSV_BATCH).min(end);
            let pieces: Vec<std::io::Result<Vec<u8>>> = (from..to)
                .step_by(CSV_PIECE as usize)
                .collect::<Vec<u64>>()
                .into_par_iter()
                .map(|a| {
                    let mut w = csv::Writer::from_writer(Vec::new());
                    for i in a..(a + CSV_PIECE).min(to) {
                        let (si, wi, r) = self.point(i);
                        let Op::MatMul { m, n, k } = self.workloads[wi].op else {
                            unreachable!("only matmuls are swept")
                        };
                        let mut row = vec![m.to_string(), n.to_string(), k.to_string()];
                        row.extend(super::result_values(&self.setups[si].chip, &r));
                        w.write_record(pick(row)).map_err(io_of)?;
                    }
                    w.into_inner()
                        .map_err(|e| std::io::Error::other(e.to_string()))
                })
                .collect();
            for piece in pieces {
                out.write_all(&piece?)?;
            }
            from = to;
        }
        out.flush()
    }
}

/// A part's header when sharded.
fn part_header(
    args: &SweepArgs,
    setups: &[mlsim_hw::Setup],
    workloads: &[Workload],
    start: u64,
    end: u64,
    total: u64,
) -> Option<PartHeader> {
    args.shard.map(|shard| PartHeader {
        shard,
        start,
        end,
        total,
        grid: grid_digest(&definition(args, setups, workloads)),
    })
}

/// What defines the grid, in words: the digest of it tells the parts of
/// one sweep from another's.
fn definition(args: &SweepArgs, setups: &[mlsim_hw::Setup], workloads: &[Workload]) -> String {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let mut d = String::new();
    for s in setups {
        let _ = write!(
            d,
            "{} {} {} {:?} {:?};",
            s.chip.name, s.stack.name, s.framework.name, s.timing, s.host_floor_s
        );
    }
    for w in workloads {
        let _ = write!(d, "{} {};", w.name, w.dtype);
    }
    let _ = write!(d, "{:?}", args.shard.map(|s| s.of));
    // Parts of other columns are another sweep's (no suffix without
    // --columns: parts written before it existed still merge).
    if !args.columns.is_empty() {
        let _ = write!(d, " columns {}", args.columns.join(","));
    }
    d
}

/// Text to `--out` (whole or not at all) or to standard output.
fn emit(text: &[u8], args: &SweepArgs) -> CmdResult {
    match &args.out {
        Some(path) => crate::files::write_atomic(path, text, args.force, "results file"),
        None => {
            std::io::stdout().lock().write_all(text)?;
            Ok(())
        }
    }
}

/// The results as JSON, serialised straight into the file (no second copy
/// of every row as text) or to standard output.
fn emit_json(results: &[&SimResult], args: &SweepArgs) -> CmdResult {
    match &args.out {
        Some(path) => crate::files::write_atomic_with(path, args.force, "results file", |f| {
            let mut w = std::io::BufWriter::new(f);
            serde_json::to_writer_pretty(&mut w, results)?;
            w.write_all(b"\n")?;
            w.flush()
        }),
        None => Ok(write_json(&results)?),
    }
}
