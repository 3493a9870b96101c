//! `mlsim sweep --format parquet` and the merge of Parquet parts (cargo
//! feature `parquet`, with the `parquet` crate's own file writer and number
//! encoders, the names' pages written by `parquet_names.rs`: no Arrow, no
//! polars, no compression codec, so the feature adds little to a build).
//!
//! The columns are the CSV's, typed: sizes as unsigned 64-bit integers,
//! names as dictionary-encoded UTF-8, numbers as doubles. Null where the
//! CSV cell is empty: the timing of a chip on the original's model, a
//! term another chip model computes, a non-finite value of those. One
//! change: the CSV's `memory_ms_by_level` text becomes one nullable
//! column per memory level, `memory_ms_<level>` (null for a chip without
//! that level), in the order the sweep's chips name them.
//!
//! Row groups cover fixed ranges of the grid, [j B, (j + 1) B) with
//! B = [`ROW_GROUP`], cut at a slice's ends: a file is the same bytes
//! whatever the thread count, and `mlsim merge` re-encodes the parts' rows
//! into the same row groups, so that the merged file is byte for byte the
//! unsharded sweep's. A part carries its slice in the file's key-value
//! metadata (`mlsim.sweep.shard`, the CSV part's first line).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mlsim_calibrate::shards::PartHeader;
use mlsim_engine::{ModelDetail, Prediction};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

use super::parquet_columns::{
    Columns, Dictionary, Kind, Row, Spec, read_row_group, schema, specs_of, write_row_group,
};

/// Grid points per row group (and per parallel batch of predictions).
pub const ROW_GROUP: u64 = 1 << 16;

/// Grid points predicted and filled by one task.
const PIECE: u64 = 1 << 11; // whole runs of the encoder's 1024 rows

/// The key of a part's slice in the file's key-value metadata.
pub const SHARD_KEY: &str = "mlsim.sweep.shard";

/// The columns of a sweep whose chips name `levels` (every chip's memory
/// levels, in order of first appearance).
fn specs(levels: &[String]) -> Vec<Spec> {
    use Kind::{Bool, F64, Str, U64};
    let col = |name: &str, kind, nullable| Spec {
        name: name.to_string(),
        kind,
        nullable,
    };
    let mut s = vec![
        col("m", U64, false),
        col("n", U64, false),
        col("k", U64, false),
    ];
    for name in ["workload", "op", "hardware", "stack", "framework"] {
        s.push(col(name, Str, false));
    }
    s.push(col("timing", Str, true));
    s.push(col("dtype", Str, false));
    s.push(col("native", Bool, false));
    for name in ["flops", "bytes", "arithmetic_intensity", "runtime_ms"] {
        s.push(col(name, F64, false));
    }
    s.push(col("model", Str, false));
    s.push(col("compute_ms", F64, false));
    s.push(col("memory_ms", F64, false));
    for level in levels {
        s.push(col(&format!("memory_ms_{level}"), F64, true));
    }
    for name in [
        "launch_ms",
        "kernel_ms",
        "kernel_floor_ms",
        "conversion_ms",
        "dram_bytes",
        "compute_utilization",
        "achieved_tflops",
        "effective_tflops",
        "tiling_efficiency",
        "hit_rate",
    ] {
        s.push(col(name, F64, false));
    }
    s.push(col("serving_level", Str, true));
    s.push(col("bottleneck", Str, false));
    for name in [
        "compute_cycles",
        "memory_stall_cycles",
        "exposed_stall_cycles",
        "avg_latency_cycles",
        "waves",
    ] {
        s.push(col(name, F64, true));
    }
    for name in ["split_k", "threads", "block_m", "block_n", "block_k"] {
        s.push(col(name, U64, true));
    }
    for name in ["passes", "rounds"] {
        s.push(col(name, F64, true));
    }
    s
}

/// Every chip's memory levels, in order of first appearance.
fn memory_levels(grid: &super::sweep::Grid<'_>) -> Vec<String> {
    let mut levels: Vec<String> = Vec::new();
    for s in grid.setups {
        for l in &s.chip.memory {
            if !levels.contains(&l.name) {
                levels.push(l.name.clone());
            }
        }
    }
    levels
}

/// The names a grid's rows repeat, each an index into `dictionary`.
struct Names {
    dictionary: Dictionary,
    /// Every chip's memory levels, in order of first appearance.
    levels: Vec<String>,
    setups: Vec<SetupNames>,
    workloads: Vec<WorkloadNames>,
    models: [u32; 4],
    bounds: [u32; 2],
}

struct SetupNames {
    hardware: u32,
    stack: u32,
    framework: u32,
    timing: Option<u32>,
    /// The chip's level names, by its level index.
    level_names: Vec<u32>,
    /// For each of [`Names::levels`], the chip's index of that level.
    level_of: Vec<Option<usize>>,
}

struct WorkloadNames {
    name: u32,
    op: u32,
    dtype: u32,
    shape: (u64, u64, u64),
}

impl Names {
    fn new(grid: &super::sweep::Grid<'_>) -> Self {
        let levels = memory_levels(grid);
        let mut dictionary = Dictionary::default();
        let mut text = |s: &str| dictionary.intern(s.as_bytes());
        let setups = grid
            .targets
            .iter()
            .map(|t| {
                // As `mlsim_engine::simulate` names them: a chip on the
                // original's model has no stack, framework or timing.
                let stacked = t.uses_stack();
                // `or_none` borrows `text` until its last use: the stack and
                // framework first, then the other names.
                let mut or_none = |name: &str| text(if stacked { name } else { "none" });
                SetupNames {
                    stack: or_none(&t.stack.name),
                    framework: or_none(&t.framework.name),
                    hardware: text(&t.chip.name),
                    timing: stacked.then(|| text(&t.timing.to_string())),
                    level_names: t.chip.memory.iter().map(|l| text(&l.name)).collect(),
                    level_of: levels
                        .iter()
                        .map(|name| t.chip.memory.iter().position(|l| &l.name == name))
                        .collect(),
                }
            })
            .collect();
        // A grid repeats each shape's name once per dtype, one after the
        // other, and has one op and a few dtypes: a name is interned once
        // per run of it, an op or dtype once.
        let mut few: Vec<(String, u32)> = Vec::new();
        let mut once = |name: &str, text: &mut dyn FnMut(&str) -> u32| match few
            .iter()
            .find(|(n, _)| n == name)
        {
            Some(&(_, i)) => i,
            None => {
                let i = text(name);
                few.push((name.to_string(), i));
                i
            }
        };
        let mut previous: Option<(&str, u32)> = None;
        let workloads = grid
            .workloads
            .iter()
            .map(|w| {
                let name = match previous {
                    Some((p, i)) if p == w.name => i,
                    _ => text(&w.name),
                };
                previous = Some((&w.name, name));
                WorkloadNames {
                    name,
                    op: once(w.op.kind_name(), &mut text),
                    dtype: once(w.dtype.name(), &mut text),
                    shape: match w.op {
                        mlsim_workload::Op::MatMul { m, n, k } => (m, n, k),
                        _ => unreachable!("only matmuls are swept"),
                    },
                }
            })
            .collect();
        let models = ["original", "gpu-tiled", "cpu-blocked", "systolic"].map(&mut text);
        let bounds = ["memory", "compute"].map(&mut text);
        Self {
            dictionary,
            levels,
            setups,
            workloads,
            models,
            bounds,
        }
    }

    /// Fill one row: grid point (setup `si`, workload `wi`) predicted `p`.
    fn fill(&self, row: &mut Row<'_>, si: usize, wi: usize, p: &Prediction) {
        let (s, w) = (&self.setups[si], &self.workloads[wi]);
        let (m, n, k) = w.shape;
        row.u64(m);
        row.u64(n);
        row.u64(k);
        row.name(w.name);
        row.name(w.op);
        row.name(s.hardware);
        row.name(s.stack);
        row.name(s.framework);
        row.opt_name(s.timing);
        row.name(w.dtype);
        row.bool(p.native);
        row.f64(p.flops);
        row.f64(p.bytes);
        row.f64(p.arithmetic_intensity);
        row.f64(p.runtime_ms);
        row.name(
            self.models[match p.detail {
                ModelDetail::Original(_) => 0,
                ModelDetail::GpuTiled(_) => 1,
                ModelDetail::CpuBlocked(_) => 2,
                ModelDetail::Systolic(_) => 3,
            }],
        );
        row.f64(p.compute_ms);
        row.f64(p.memory_ms);
        let by_level = p.level_memory_ms.as_slice();
        for i in &s.level_of {
            row.opt_f64(i.map_or(f64::NAN, |i| by_level[i]));
        }
        for v in [
            p.launch_ms,
            p.kernel_ms,
            p.kernel_floor_ms,
            p.conversion_ms,
            p.dram_bytes,
            p.compute_utilization,
            p.achieved_tflops,
            p.effective_tflops,
            p.tiling_efficiency,
            p.hit_rate,
        ] {
            row.f64(v);
        }
        row.opt_name(p.serving_level_index.map(|i| s.level_names[i]));
        row.name(self.bounds[usize::from(p.bottleneck == mlsim_roofline::Bound::Compute)]);
        let (mut floats, mut counts) = ([f64::NAN; 7], [None; 5]);
        match p.detail {
            ModelDetail::Original(o) => {
                floats[..4].copy_from_slice(&[
                    o.compute_cycles,
                    o.memory_stall_cycles,
                    o.exposed_stall_cycles,
                    o.avg_latency_cycles,
                ]);
            }
            ModelDetail::GpuTiled(g) => {
                floats[4] = g.waves;
                counts[0] = Some(u64::from(g.split_k));
            }
            ModelDetail::CpuBlocked(c) => {
                counts[1..].copy_from_slice(&[
                    Some(u64::from(c.threads)),
                    Some(c.block_m),
                    Some(c.block_n),
                    Some(c.block_k),
                ]);
            }
            ModelDetail::Systolic(s) => {
                floats[5] = s.passes;
                floats[6] = s.rounds;
            }
        }
        for v in &floats[..5] {
            row.opt_f64(*v);
        }
        for v in counts {
            row.opt_u64(v);
        }
        for v in &floats[5..] {
            row.opt_f64(*v);
        }
    }
}

/// The number columns plain, with chunk statistics for readers that filter
/// (the names' dictionary pages are written by hand, `parquet_names.rs`).
fn properties(part: Option<&PartHeader>) -> Arc<WriterProperties> {
    Arc::new(
        WriterProperties::builder()
            .set_created_by(format!("mlsim {}", env!("CARGO_PKG_VERSION")))
            .set_max_row_group_size(ROW_GROUP as usize)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_key_value_metadata(
                part.map(|h| vec![KeyValue::new(SHARD_KEY.into(), h.to_string())]),
            )
            .build(),
    )
}

fn io(e: parquet::errors::ParquetError) -> std::io::Error {
    match e {
        parquet::errors::ParquetError::External(inner) => {
            match inner.downcast::<std::io::Error>() {
                Ok(io) => *io,
                Err(other) => std::io::Error::other(other),
            }
        }
        other => std::io::Error::other(other),
    }
}

/// The names of the columns a sweep of `grid` writes as Parquet, in order
/// (what `--columns` chooses from).
pub(super) fn column_names(grid: &super::sweep::Grid<'_>) -> Vec<String> {
    specs(&memory_levels(grid))
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// Grid points `[start, end)` as Parquet (a part's slice in the metadata
/// when sharded), predicted in parallel a row group at a time; only the
/// columns `selected` (indices into [`column_names`], in that order) when
/// given.
pub(super) fn write(
    grid: &super::sweep::Grid<'_>,
    out: impl Write + Send,
    part: Option<&PartHeader>,
    selected: Option<&[usize]>,
    start: u64,
    end: u64,
) -> std::io::Result<()> {
    let names = Names::new(grid);
    let all = specs(&names.levels);
    let every: Vec<usize> = (0..all.len()).collect();
    let written = selected.unwrap_or(&every);
    let specs: Vec<Spec> = written.iter().map(|&i| all[i].clone()).collect();
    let mut file = SerializedFileWriter::new(out, schema(&specs).map_err(io)?, properties(part))
        .map_err(io)?;
    // Two sets of pieces: one row group is encoded (on this thread) while
    // the next is predicted (on the others); the memory is reused.
    let pieces_per_group = ROW_GROUP.div_ceil(PIECE) as usize;
    let new_set = || vec![Columns::selecting(&all, written); pieces_per_group];
    let (mut ready, mut next) = (new_set(), new_set());
    let fill = |set: &mut Vec<Columns>, from: u64| {
        let to = end.min((from / ROW_GROUP + 1) * ROW_GROUP);
        set.par_iter_mut().enumerate().for_each(|(j, c)| {
            c.clear();
            let a = from + j as u64 * PIECE;
            for i in a..(a + PIECE).min(to) {
                let (si, wi, p) = grid.predict(i);
                let mut row = c.row();
                names.fill(&mut row, si, wi, &p);
                row.done();
            }
        });
        to
    };
    let mut from = start;
    if from < end {
        from = fill(&mut ready, from);
    }
    loop {
        let more = from < end;
        let (written, filled) = rayon::join(
            || write_row_group(&ready, &names.dictionary, &mut file),
            || more.then(|| fill(&mut next, from)),
        );
        written.map_err(io)?;
        match filled {
            Some(to) => {
                from = to;
                std::mem::swap(&mut ready, &mut next);
            }
            None => break,
        }
    }
    file.close().map_err(io)?;
    Ok(())
}

/// A Parquet part's slice (from its metadata) and its column specs;
/// errors start with the path.
pub fn header_of(path: &Path) -> Result<PartHeader, String> {
    let bad = |m: String| format!("{}: {m}", path.display());
    let reader = open(path).map_err(bad)?;
    let value = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == SHARD_KEY))
        .and_then(|kv| kv.value.clone())
        .ok_or_else(|| {
            bad(format!(
                "no `{SHARD_KEY}` in the file's metadata: not a part written by mlsim sweep --shard"
            ))
        })?;
    let h: PartHeader = value.parse().map_err(bad)?;
    mlsim_calibrate::shards::check_range(&h).map_err(|m| bad(format!("metadata: {m}")))?;
    Ok(h)
}

fn open(path: &Path) -> Result<SerializedFileReader<File>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    SerializedFileReader::new(file).map_err(|e| format!("not a readable Parquet file: {e}"))
}

/// Write the checked Parquet `parts` (slice order) as one file: their rows
/// re-encoded into the unsharded sweep's row groups, so that the file is
/// the unsharded sweep's byte for byte. Each part's schema must be the
/// first's and its rows its slice's.
pub fn write_merged(
    parts: &[(PartHeader, PathBuf)],
    out: impl Write + Send,
) -> std::io::Result<()> {
    let invalid = |path: &Path, m: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {m}", path.display()),
        )
    };
    let mut file: Option<(Vec<Spec>, SerializedFileWriter<_>)> = None;
    let mut out = Some(out);
    let mut pending: Option<Columns> = None;
    let mut names = Dictionary::default();
    let mut position = 0u64; // grid index of pending's first row
    for (h, path) in parts {
        let reader = open(path).map_err(|m| invalid(path, m))?;
        let specs = specs_of(&reader).map_err(|m| invalid(path, m))?;
        let rows = reader.metadata().file_metadata().num_rows();
        if u64::try_from(rows).ok() != Some(h.end - h.start) {
            return Err(invalid(
                path,
                h.wrong_row_count(u64::try_from(rows).unwrap_or(0)),
            ));
        }
        let (first_specs, writer) = match &mut file {
            Some(f) => (&f.0, &mut f.1),
            None => {
                let writer = SerializedFileWriter::new(
                    out.take().expect("the output, once"),
                    schema(&specs).map_err(io)?,
                    properties(None),
                )
                .map_err(io)?;
                position = h.start;
                let f = file.insert((specs.clone(), writer));
                (&f.0, &mut f.1)
            }
        };
        if *first_specs != specs {
            return Err(invalid(
                path,
                "its columns differ from the first part's".into(),
            ));
        }
        for g in 0..reader.num_row_groups() {
            let columns = read_row_group(&reader, g, &specs, &mut names)
                .map_err(|e| invalid(path, e.to_string()))?;
            let rows = pending.get_or_insert_with(|| Columns::new(&specs));
            rows.append(columns);
            // Write every whole row group of the unsharded sweep's.
            loop {
                let boundary = (position / ROW_GROUP + 1) * ROW_GROUP;
                let whole = usize::try_from(boundary - position).unwrap_or(usize::MAX);
                if rows.rows < whole {
                    break;
                }
                write_row_group(&[rows.split_off_front(whole)], &names, writer).map_err(io)?;
                position = boundary;
            }
        }
    }
    let Some((_, mut writer)) = file else {
        return Err(std::io::Error::other("no parts given"));
    };
    if let Some(rows) = pending.filter(|r| r.rows > 0) {
        write_row_group(&[rows], &names, &mut writer).map_err(io)?;
    }
    writer.close().map_err(io)?;
    Ok(())
}
