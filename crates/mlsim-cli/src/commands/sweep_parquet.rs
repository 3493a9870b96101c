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
use mlsim_engine::{CpuDetail, ModelDetail, OriginalDetail, Prediction, SystolicDetail};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

use super::parquet_columns::{
    Columns, Dictionary, Kind, Spec, read_row_group, schema, specs_of, write_row_group,
};

/// Grid points per row group (and per parallel batch of predictions).
pub const ROW_GROUP: u64 = 1 << 16;

/// Grid points predicted and filled by one task.
const PIECE: u64 = 1 << 11; // whole runs of the encoder's 1024 rows

/// Grid points predicted before their columns are filled (their
/// predictions held in the core's cache meanwhile).
const BATCH: u64 = 1 << 8;

/// The key of a part's slice in the file's key-value metadata.
pub const SHARD_KEY: &str = "mlsim.sweep.shard";

/// Where a sweep column's value comes from.
#[derive(Debug, Clone, Copy)]
enum Field {
    M,
    N,
    K,
    Workload,
    Op,
    Hardware,
    Stack,
    Framework,
    Timing,
    Dtype,
    Native,
    Flops,
    Bytes,
    ArithmeticIntensity,
    RuntimeMs,
    Model,
    ComputeMs,
    MemoryMs,
    /// The memory time at the sweep's `i`-th level (of [`memory_levels`]).
    LevelMs(usize),
    LaunchMs,
    KernelMs,
    KernelFloorMs,
    ConversionMs,
    DramBytes,
    ComputeUtilization,
    AchievedTflops,
    EffectiveTflops,
    TilingEfficiency,
    HitRate,
    ServingLevel,
    Bottleneck,
    ComputeCycles,
    MemoryStallCycles,
    ExposedStallCycles,
    AvgLatencyCycles,
    Waves,
    SplitK,
    Threads,
    BlockM,
    BlockN,
    BlockK,
    Passes,
    Rounds,
}

/// The columns of a sweep whose chips name `levels` (every chip's memory
/// levels, in order of first appearance), each with where its value comes
/// from: one list, so that a column's type and its value cannot drift.
fn columns(levels: &[String]) -> Vec<(Spec, Field)> {
    use Field as F;
    use Kind::{Bool, F64, Str, U64};
    let col = |name: &str, kind, nullable, field| {
        let spec = Spec {
            name: name.to_string(),
            kind,
            nullable,
        };
        (spec, field)
    };
    let mut s = vec![
        col("m", U64, false, F::M),
        col("n", U64, false, F::N),
        col("k", U64, false, F::K),
        col("workload", Str, false, F::Workload),
        col("op", Str, false, F::Op),
        col("hardware", Str, false, F::Hardware),
        col("stack", Str, false, F::Stack),
        col("framework", Str, false, F::Framework),
        col("timing", Str, true, F::Timing),
        col("dtype", Str, false, F::Dtype),
        col("native", Bool, false, F::Native),
        col("flops", F64, false, F::Flops),
        col("bytes", F64, false, F::Bytes),
        col("arithmetic_intensity", F64, false, F::ArithmeticIntensity),
        col("runtime_ms", F64, false, F::RuntimeMs),
        col("model", Str, false, F::Model),
        col("compute_ms", F64, false, F::ComputeMs),
        col("memory_ms", F64, false, F::MemoryMs),
    ];
    for (i, level) in levels.iter().enumerate() {
        s.push(col(&format!("memory_ms_{level}"), F64, true, F::LevelMs(i)));
    }
    s.extend([
        col("launch_ms", F64, false, F::LaunchMs),
        col("kernel_ms", F64, false, F::KernelMs),
        col("kernel_floor_ms", F64, false, F::KernelFloorMs),
        col("conversion_ms", F64, false, F::ConversionMs),
        col("dram_bytes", F64, false, F::DramBytes),
        col("compute_utilization", F64, false, F::ComputeUtilization),
        col("achieved_tflops", F64, false, F::AchievedTflops),
        col("effective_tflops", F64, false, F::EffectiveTflops),
        col("tiling_efficiency", F64, false, F::TilingEfficiency),
        col("hit_rate", F64, false, F::HitRate),
        col("serving_level", Str, true, F::ServingLevel),
        col("bottleneck", Str, false, F::Bottleneck),
        col("compute_cycles", F64, true, F::ComputeCycles),
        col("memory_stall_cycles", F64, true, F::MemoryStallCycles),
        col("exposed_stall_cycles", F64, true, F::ExposedStallCycles),
        col("avg_latency_cycles", F64, true, F::AvgLatencyCycles),
        col("waves", F64, true, F::Waves),
        col("split_k", U64, true, F::SplitK),
        col("threads", U64, true, F::Threads),
        col("block_m", U64, true, F::BlockM),
        col("block_n", U64, true, F::BlockN),
        col("block_k", U64, true, F::BlockK),
        col("passes", F64, true, F::Passes),
        col("rounds", F64, true, F::Rounds),
    ]);
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

    /// Add `points` (grid points: setup index, workload index, prediction)
    /// to `columns`, the chosen `fields` only (`--columns`), a column at a
    /// time.
    fn fill(&self, fields: &[Field], columns: &mut Columns, points: &[Point]) {
        use Field as F;
        let setup = |&(si, _, _): &Point| &self.setups[si];
        let workload = |&(_, wi, _): &Point| &self.workloads[wi];
        let mut batch = columns.batch(points.len());
        let all = points.iter();
        // A number every model gives, a term of one chip model (null for
        // the others).
        let number = |term: fn(&Prediction) -> f64| all.clone().map(move |(_, _, p)| term(p));
        let original = |term: fn(&OriginalDetail) -> f64| {
            all.clone().map(move |(_, _, p)| match &p.detail {
                ModelDetail::Original(o) => term(o),
                _ => f64::NAN,
            })
        };
        let blocked = |term: fn(&CpuDetail) -> u64| {
            all.clone().map(move |(_, _, p)| match &p.detail {
                ModelDetail::CpuBlocked(c) => Some(term(c)),
                _ => None,
            })
        };
        let systolic = |term: fn(&SystolicDetail) -> f64| {
            all.clone().map(move |(_, _, p)| match &p.detail {
                ModelDetail::Systolic(s) => term(s),
                _ => f64::NAN,
            })
        };
        for field in fields {
            match *field {
                F::M => batch.u64s(all.clone().map(|q| workload(q).shape.0)),
                F::N => batch.u64s(all.clone().map(|q| workload(q).shape.1)),
                F::K => batch.u64s(all.clone().map(|q| workload(q).shape.2)),
                F::Workload => batch.names(all.clone().map(|q| workload(q).name)),
                F::Op => batch.names(all.clone().map(|q| workload(q).op)),
                F::Hardware => batch.names(all.clone().map(|q| setup(q).hardware)),
                F::Stack => batch.names(all.clone().map(|q| setup(q).stack)),
                F::Framework => batch.names(all.clone().map(|q| setup(q).framework)),
                F::Timing => batch.opt_names(all.clone().map(|q| setup(q).timing)),
                F::Dtype => batch.names(all.clone().map(|q| workload(q).dtype)),
                F::Native => batch.bools(all.clone().map(|(_, _, p)| p.native)),
                F::Flops => batch.f64s(number(|p| p.flops)),
                F::Bytes => batch.f64s(number(|p| p.bytes)),
                F::ArithmeticIntensity => batch.f64s(number(|p| p.arithmetic_intensity)),
                F::RuntimeMs => batch.f64s(number(|p| p.runtime_ms)),
                F::Model => batch.names(all.clone().map(|(_, _, p)| {
                    self.models[match p.detail {
                        ModelDetail::Original(_) => 0,
                        ModelDetail::GpuTiled(_) => 1,
                        ModelDetail::CpuBlocked(_) => 2,
                        ModelDetail::Systolic(_) => 3,
                    }]
                })),
                F::ComputeMs => batch.f64s(number(|p| p.compute_ms)),
                F::MemoryMs => batch.f64s(number(|p| p.memory_ms)),
                F::LevelMs(i) => batch.opt_f64s(all.clone().map(|q| {
                    setup(q).level_of[i].map_or(f64::NAN, |l| q.2.level_memory_ms.as_slice()[l])
                })),
                F::LaunchMs => batch.f64s(number(|p| p.launch_ms)),
                F::KernelMs => batch.f64s(number(|p| p.kernel_ms)),
                F::KernelFloorMs => batch.f64s(number(|p| p.kernel_floor_ms)),
                F::ConversionMs => batch.f64s(number(|p| p.conversion_ms)),
                F::DramBytes => batch.f64s(number(|p| p.dram_bytes)),
                F::ComputeUtilization => batch.f64s(number(|p| p.compute_utilization)),
                F::AchievedTflops => batch.f64s(number(|p| p.achieved_tflops)),
                F::EffectiveTflops => batch.f64s(number(|p| p.effective_tflops)),
                F::TilingEfficiency => batch.f64s(number(|p| p.tiling_efficiency)),
                F::HitRate => batch.f64s(number(|p| p.hit_rate)),
                F::ServingLevel => batch.opt_names(
                    all.clone()
                        .map(|q| q.2.serving_level_index.map(|i| setup(q).level_names[i])),
                ),
                F::Bottleneck => batch.names(all.clone().map(|(_, _, p)| {
                    self.bounds[usize::from(p.bottleneck == mlsim_roofline::Bound::Compute)]
                })),
                F::ComputeCycles => batch.opt_f64s(original(|o| o.compute_cycles)),
                F::MemoryStallCycles => batch.opt_f64s(original(|o| o.memory_stall_cycles)),
                F::ExposedStallCycles => batch.opt_f64s(original(|o| o.exposed_stall_cycles)),
                F::AvgLatencyCycles => batch.opt_f64s(original(|o| o.avg_latency_cycles)),
                F::Waves => batch.opt_f64s(all.clone().map(|(_, _, p)| match &p.detail {
                    ModelDetail::GpuTiled(g) => g.waves,
                    _ => f64::NAN,
                })),
                F::SplitK => batch.opt_u64s(all.clone().map(|(_, _, p)| match &p.detail {
                    ModelDetail::GpuTiled(g) => Some(u64::from(g.split_k)),
                    _ => None,
                })),
                F::Threads => batch.opt_u64s(blocked(|c| u64::from(c.threads))),
                F::BlockM => batch.opt_u64s(blocked(|c| c.block_m)),
                F::BlockN => batch.opt_u64s(blocked(|c| c.block_n)),
                F::BlockK => batch.opt_u64s(blocked(|c| c.block_k)),
                F::Passes => batch.opt_f64s(systolic(|s| s.passes)),
                F::Rounds => batch.opt_f64s(systolic(|s| s.rounds)),
            }
        }
        batch.done();
    }
}

/// A grid point predicted: its setup's index, its workload's, the
/// prediction.
type Point = (usize, usize, Prediction);

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
    columns(&memory_levels(grid))
        .into_iter()
        .map(|(s, _)| s.name)
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
    let all = columns(&names.levels);
    let (specs, fields): (Vec<Spec>, Vec<Field>) = match selected {
        Some(chosen) => chosen.iter().map(|&i| all[i].clone()).unzip(),
        None => all.into_iter().unzip(),
    };
    let mut file = SerializedFileWriter::new(out, schema(&specs).map_err(io)?, properties(part))
        .map_err(io)?;
    // Two sets of pieces: one row group is encoded (on this thread) while
    // the next is predicted (on the others); the memory is reused.
    let pieces_per_group = ROW_GROUP.div_ceil(PIECE) as usize;
    let new_set = || vec![Columns::new(&specs); pieces_per_group];
    let (mut ready, mut next) = (new_set(), new_set());
    let fill = |set: &mut Vec<Columns>, from: u64| {
        let to = end.min((from / ROW_GROUP + 1) * ROW_GROUP);
        set.par_iter_mut().enumerate().for_each(|(j, c)| {
            c.clear();
            let a = from + j as u64 * PIECE;
            let b = (a + PIECE).min(to);
            // Predicted a batch at a time, then written column by column.
            let mut points = Vec::with_capacity(BATCH as usize);
            for start in (a..b).step_by(BATCH as usize) {
                points.clear();
                points.extend((start..b.min(start + BATCH)).map(|i| grid.predict(i)));
                names.fill(&fields, c, &points);
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
