//! Validating a chip file ([`RawChip`]) into a [`Chip`]; parsing and the
//! location of errors are shared with stack files (`doc.rs`).

use std::collections::BTreeSet;

use mlsim_quant::{Dtype, DtypeMap, QuantCost};

use crate::chip::{
    Chip, ChipKind, ChipModel, ClockSource, ComputeArch, ComputePath, ComputeUnit, MemoryLevel,
    PathKind, PathRate, PathUnit,
};
use crate::doc::{
    FieldPath, FileKind, Problem, at_least_one, finite, in_range, non_negative, output_bytes,
    parse_dtype, parse_validated, plausible, positive, problem, problem_with_hint, share,
};
use crate::error::HwError;
use crate::raw::{RawChip, RawCompute, RawMemoryLevel, RawPath, RawQuantCost};

const CHIP_FILE: FileKind = FileKind {
    noun: "chip",
    example: "mlsim presets show t4-seed",
    schema_doc: "presets/README.md",
};

/// Parse and validate a chip file's text. `file` is used in messages only.
pub fn parse_chip(text: &str, file: &str) -> Result<Chip, HwError> {
    parse_validated(text, file, CHIP_FILE, validate)
}

fn validate(raw: RawChip) -> Result<Chip, Problem> {
    let root = FieldPath::default();
    if raw.name.trim().is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(Problem {
            path: root.key("name"),
            message: format!(
                "expected a lower-case identifier of letters, digits and dashes, got {:?}",
                raw.name
            ),
            hint: Some("for example `my-npu-v2`".into()),
        });
    }
    let kind = match raw.kind.as_str() {
        "cpu" => ChipKind::Cpu,
        "gpu" => ChipKind::Gpu,
        "npu" => ChipKind::Npu,
        other => {
            return Err(problem(
                root.key("kind"),
                format!("unknown kind `{other}`, expected one of cpu, gpu, npu"),
            ));
        }
    };
    let frequency_ghz = positive(&root, "frequency_ghz", raw.frequency_ghz)?;
    plausible(&root, "frequency_ghz", frequency_ghz, 1e-3, 20.0, "GHz")?;
    let launch_overhead_us = non_negative(&root, "launch_overhead_us", raw.launch_overhead_us)?;
    plausible(
        &root,
        "launch_overhead_us",
        launch_overhead_us,
        0.0,
        1e6,
        "us",
    )?;
    if raw.sources.is_empty() || raw.sources.iter().any(|s| s.trim().is_empty()) {
        return Err(Problem {
            path: root.key("sources"),
            message: "expected at least one non-empty source".into(),
            hint: Some("cite the datasheet, paper or measurement each value comes from".into()),
        });
    }
    if let Some(c) = &raw.calibration
        && c.note.trim().is_empty()
    {
        return Err(problem(
            root.key("calibration").key("note"),
            "expected a non-empty note saying what was fitted",
        ));
    }
    let base_clock_hz = raw
        .base_clock_ghz
        .map(|v| positive(&root, "base_clock_ghz", v))
        .transpose()?
        .map(|v| v * 1e9);
    let power_limit_w = raw
        .power_limit_w
        .map(|v| positive(&root, "power_limit_w", v))
        .transpose()?;
    if let Some(b) = base_clock_hz
        && b > frequency_ghz * 1e9
    {
        return Err(problem(
            root.key("base_clock_ghz"),
            format!(
                "base clock {} GHz is above the boost clock frequency_ghz = {frequency_ghz}",
                b / 1e9
            ),
        ));
    }
    let arch = parse_arch(&root.key("compute").key("arch"), &raw.compute.arch)?;
    let model = validate_model(&root, raw.model.as_deref(), arch)?;
    let mut compute = validate_compute(&root.key("compute"), raw.compute, frequency_ghz, model)?;
    let power_cap = crate::power::derive_sustained_clocks(
        &mut compute.paths,
        frequency_ghz * 1e9,
        base_clock_hz,
        power_limit_w,
    );
    let memory = validate_memory(&root, raw.memory, model, compute.units)?;
    let mut quantization = DtypeMap::new();
    let qpath = root.key("quantization");
    for (key, cost) in raw.quantization {
        let dtype = parse_dtype(&qpath, &key)?;
        let cost = validate_quant_cost(&qpath.key(&key), cost)?;
        if quantization.insert(dtype, cost).is_some() {
            return Err(problem(
                qpath.key(&key),
                format!("dtype {dtype} is given twice"),
            ));
        }
    }
    // Checked last: a file copied from one of the original's chips (without
    // `model = "original"`) reports its other errors first.
    let default_stack = match raw.default_stack {
        Some(s) => Some(validate_stack_reference(&root.key("default_stack"), s)?),
        None if model.uses_stack() => {
            let example = match model {
                ChipModel::CpuBlocked => "cpu-blas",
                ChipModel::Systolic => "xla-tpu",
                _ => "cublas-hopper",
            };
            return Err(Problem {
                path: root.key("default_stack"),
                message: format!(
                    "model `{model}` needs the software stack its predictions use by default"
                ),
                hint: Some(format!(
                    "name the kernel library of the chip's generation, e.g. default_stack = \"{example}\" (`mlsim stacks list`), or set model = \"original\""
                )),
            });
        }
        None => None,
    };
    let interconnect = crate::interconnect::validate_links(&root, raw.interconnect)?;
    let power = match raw.power {
        Some(p) => {
            let path = root.key("power");
            let Some(limit_w) = power_limit_w else {
                return Err(problem_with_hint(
                    path,
                    "a [power] table needs the chip's power_limit_w",
                    "add power_limit_w (the board's limit, W) or remove [power]",
                ));
            };
            let idle_w = in_range(&path, "idle_w", p.idle_w, (0.0, false), (limit_w, true))?;
            let memory_share = in_range(
                &path,
                "memory_share",
                p.memory_share,
                (0.0, false),
                (1.0, false),
            )?;
            Some(crate::chip::BoardPower {
                idle_w,
                limit_w,
                memory_share,
            })
        }
        None => None,
    };
    Ok(Chip {
        name: raw.name,
        display_name: raw.display_name,
        kind,
        model,
        frequency_hz: frequency_ghz * 1e9,
        base_clock_hz,
        power_limit_w,
        launch_overhead_s: launch_overhead_us / 1e6,
        default_stack,
        sources: raw.sources,
        calibration: raw.calibration,
        compute,
        memory,
        quantization,
        power_cap,
        interconnect,
        power,
    })
}

fn parse_arch(at: &FieldPath, arch: &str) -> Result<ComputeArch, Problem> {
    Ok(match arch {
        "simd" => ComputeArch::Simd,
        "neon" => ComputeArch::Neon,
        "systolic" => ComputeArch::Systolic,
        "gpu" => ComputeArch::Gpu,
        other => {
            return Err(problem(
                at.clone(),
                format!("unknown arch `{other}`, expected one of simd, neon, systolic, gpu"),
            ));
        }
    })
}

/// The chip's model: as the file says (it must suit the arch), else the
/// arch's own.
fn validate_model(
    root: &FieldPath,
    raw: Option<&str>,
    arch: ComputeArch,
) -> Result<ChipModel, Problem> {
    let Some(name) = raw else {
        return Ok(ChipModel::for_arch(arch));
    };
    let Some(model) = ChipModel::ALL.into_iter().find(|m| m.as_str() == name) else {
        let names: Vec<&str> = ChipModel::ALL.iter().map(|m| m.as_str()).collect();
        return Err(problem(
            root.key("model"),
            format!(
                "unknown model `{name}`, expected one of {}",
                names.join(", ")
            ),
        ));
    };
    // The original's model takes the three arches it knew; each of
    // mlsim's models needs the units it describes.
    let fits = match model {
        ChipModel::Original => arch != ComputeArch::Gpu,
        _ => model == ChipModel::for_arch(arch),
    };
    if !fits {
        return Err(problem_with_hint(
            root.key("model"),
            format!("model `{model}` does not describe arch `{}`", arch.as_str()),
            format!(
                "arch `{}` is predicted by model `{}` (or `original` for arch simd, neon and systolic)",
                arch.as_str(),
                ChipModel::for_arch(arch)
            ),
        ));
    }
    Ok(model)
}

fn validate_compute(
    path: &FieldPath,
    raw: RawCompute,
    frequency_ghz: f64,
    model: ChipModel,
) -> Result<ComputeUnit, Problem> {
    let arch = parse_arch(&path.key("arch"), &raw.arch)?;
    let paths = validate_paths(&path.key("paths"), raw.paths, frequency_ghz)?;
    let needs_fp32_path = matches!(model, ChipModel::GpuTiled | ChipModel::Systolic);
    if needs_fp32_path
        && !matches!(
            paths.get(Dtype::Fp32).map(|p| &p.kind),
            Some(PathKind::Native { .. })
        )
    {
        return Err(Problem {
            path: path.key("paths"),
            message: format!(
                "model `{model}` needs a native fp32 path ([compute.paths.fp32] with peak_tflops)"
            ),
            hint: Some(
                "see presets/t4.toml (a GPU) or presets/tpu-v5e.toml (a systolic chip)".into(),
            ),
        });
    }
    if model == ChipModel::Original && !paths.is_empty() {
        return Err(problem_with_hint(
            path.key("paths"),
            "compute paths are not read by the original's model",
            "give dtype multipliers in dtype_speedup, or drop model = \"original\"",
        ));
    }
    let systolic_edge = match (model, raw.array_edge) {
        (ChipModel::Systolic, Some(edge)) => {
            let edge = at_least_one(path, "array_edge", edge)?;
            plausible(path, "array_edge", f64::from(edge), 1.0, 65536.0, "PEs")?
        }
        (ChipModel::Systolic, None) => {
            return Err(problem_with_hint(
                path.key("array_edge"),
                "model `systolic` needs the side of each systolic array",
                "array_edge = 128 for a TPU MXU; units is the number of arrays",
            ));
        }
        (_, Some(_)) => {
            return Err(problem(
                path.key("array_edge"),
                format!("array_edge is read by model `systolic` only, not `{model}`"),
            ));
        }
        (_, None) => f64::from(raw.units.max(1)).sqrt().floor(),
    };
    let mut dtype_speedup = DtypeMap::new();
    let spath = path.key("dtype_speedup");
    for (key, v) in raw.dtype_speedup {
        let dtype = parse_dtype(&spath, &key)?;
        positive(&spath, &key, v)?;
        plausible(&spath, &key, v, 1e-4, 1e4, "times fp32")?;
        if dtype_speedup.insert(dtype, v).is_some() {
            return Err(problem(
                spath.key(&key),
                format!("dtype {dtype} is given twice"),
            ));
        }
    }
    let units = at_least_one(path, "units", raw.units)?;
    plausible(path, "units", f64::from(units), 1.0, 1e7, "units")?;
    plausible(
        path,
        "simd_width",
        f64::from(raw.simd_width),
        0.0,
        65536.0,
        "lanes",
    )?;
    Ok(ComputeUnit {
        arch,
        units,
        systolic_edge,
        simd_width: at_least_one(path, "simd_width", raw.simd_width)?,
        peak_fp32_flops: plausible(
            path,
            "peak_fp32_tflops",
            positive(path, "peak_fp32_tflops", raw.peak_fp32_tflops)?,
            1e-9,
            1e6,
            "TFLOP/s",
        )? * 1e12,
        efficiency: in_range(
            path,
            "efficiency",
            raw.efficiency,
            (0.0, true),
            (1.0, false),
        )?,
        memory_overlap: in_range(
            path,
            "memory_overlap",
            raw.memory_overlap,
            (0.0, false),
            (1.0, true),
        )?,
        dtype_speedup,
        paths,
    })
}

fn validate_paths(
    root: &FieldPath,
    raw: std::collections::BTreeMap<String, RawPath>,
    frequency_ghz: f64,
) -> Result<DtypeMap<ComputePath>, Problem> {
    let mut paths = DtypeMap::new();
    let mut emulated: Vec<(Dtype, Dtype, FieldPath)> = Vec::new();
    for (key, p) in raw {
        let dtype = parse_dtype(root, &key)?;
        let path = root.key(&key);
        let tflops = |field: &str, v: f64| -> Result<f64, Problem> {
            Ok(plausible(
                &path,
                field,
                positive(&path, field, v)?,
                1e-9,
                1e6,
                "TFLOP/s",
            )? * 1e12)
        };
        let kind = match (p.peak_tflops, &p.emulated_by) {
            (Some(peak), None) => {
                let peak_flops = tflops("peak_tflops", peak)?;
                let peak_clock_ghz = match p.peak_clock_ghz {
                    Some(c) => {
                        let c = positive(&path, "peak_clock_ghz", c)?;
                        if c > frequency_ghz {
                            return Err(problem(
                                path.key("peak_clock_ghz"),
                                format!(
                                    "peak clock {c} GHz is above the boost clock frequency_ghz = {frequency_ghz}"
                                ),
                            ));
                        }
                        c
                    }
                    None => frequency_ghz,
                };
                let given = match p.sustained_clock_ghz {
                    Some(c) => {
                        let c = positive(&path, "sustained_clock_ghz", c)?;
                        if c > frequency_ghz {
                            return Err(problem(
                                path.key("sustained_clock_ghz"),
                                format!(
                                    "sustained clock {c} GHz is above the boost clock frequency_ghz = {frequency_ghz}"
                                ),
                            ));
                        }
                        Some(c * 1e9)
                    }
                    None => None,
                };
                let rate = |peak_flops: f64, given: Option<f64>| PathRate {
                    peak_flops,
                    // Filled in by the power model when not given.
                    sustained_clock_hz: given.unwrap_or(frequency_ghz * 1e9),
                    clock_source: if given.is_some() {
                        ClockSource::Given
                    } else {
                        ClockSource::Boost
                    },
                    // Set by the power model, which sees every path.
                    bits_per_cycle: 0.0,
                };
                let half_accumulate = match p.half_accumulate_peak_tflops {
                    Some(h) => {
                        let h = tflops("half_accumulate_peak_tflops", h)?;
                        if h < peak_flops {
                            return Err(problem(
                                path.key("half_accumulate_peak_tflops"),
                                format!(
                                    "the FP16-accumulate peak {} is below peak_tflops {}; it is the higher figure",
                                    h / 1e12,
                                    peak_flops / 1e12
                                ),
                            ));
                        }
                        Some(rate(h, None))
                    }
                    None => None,
                };
                PathKind::Native {
                    peak_clock_hz: peak_clock_ghz * 1e9,
                    rate: rate(peak_flops, given),
                    half_accumulate,
                }
            }
            (None, Some(via)) => {
                let via_dtype = parse_dtype(&path, via).map_err(|mut e| {
                    e.path = path.key("emulated_by");
                    e
                })?;
                for (field, set) in [
                    ("sustained_clock_ghz", p.sustained_clock_ghz.is_some()),
                    ("peak_clock_ghz", p.peak_clock_ghz.is_some()),
                    (
                        "half_accumulate_peak_tflops",
                        p.half_accumulate_peak_tflops.is_some(),
                    ),
                ] {
                    if set {
                        return Err(problem(
                            path.key(field),
                            "an emulated path runs at the clock and rate of the path it runs through",
                        ));
                    }
                }
                emulated.push((dtype, via_dtype, path.key("emulated_by")));
                PathKind::Emulated { via: via_dtype }
            }
            (peak, _) => {
                let message = if peak.is_some() {
                    "a path has either peak_tflops (native) or emulated_by (not native), not both"
                } else {
                    "a path needs peak_tflops (native) or emulated_by (not native)"
                };
                return Err(Problem {
                    path,
                    message: message.into(),
                    hint: Some(
                        "bf16 on a GPU without bf16 tensor cores: emulated_by = \"fp32\"".into(),
                    ),
                });
            }
        };
        let unit = match p.unit.as_deref() {
            Some("tensor") => PathUnit::Tensor,
            Some("vector") => PathUnit::Vector,
            Some(other) => {
                return Err(problem(
                    path.key("unit"),
                    format!("unknown unit `{other}`, expected tensor or vector"),
                ));
            }
            None if dtype == Dtype::Fp32 => PathUnit::Vector,
            None => PathUnit::Tensor,
        };
        let efficiency = p
            .efficiency
            .map(|e| share(&path, "efficiency", e))
            .transpose()?;
        let output_bytes = p.output_bytes.map(|b| output_bytes(&path, b)).transpose()?;
        let convert = plausible(
            &path,
            "convert_flops_per_element",
            non_negative(
                &path,
                "convert_flops_per_element",
                p.convert_flops_per_element.unwrap_or(0.0),
            )?,
            0.0,
            1e6,
            "FLOPs per element",
        )?;
        let tiles = validate_tiles(&path, &p.tiles)?;
        let launch = p
            .launch_overhead_us
            .map(|us| {
                Ok::<f64, Problem>(
                    plausible(
                        &path,
                        "launch_overhead_us",
                        non_negative(&path, "launch_overhead_us", us)?,
                        0.0,
                        1e6,
                        "us",
                    )? / 1e6,
                )
            })
            .transpose()?;
        if paths.contains(dtype) {
            return Err(problem(path, format!("dtype {dtype} is given twice")));
        }
        paths.insert(
            dtype,
            ComputePath {
                kind,
                unit,
                convert_flops_per_element: convert,
                efficiency,
                output_bytes,
                tiles,
                launch_overhead_s: launch,
            },
        );
    }
    for (dtype, via, at) in emulated {
        match paths.get(via).map(|p| &p.kind) {
            Some(PathKind::Native { .. }) => {}
            _ => {
                return Err(Problem {
                    path: at,
                    message: format!(
                        "{dtype} is emulated by {via}, but the chip has no native {via} path"
                    ),
                    hint: Some(format!("add [compute.paths.{via}] with peak_tflops")),
                });
            }
        }
    }
    Ok(paths)
}

/// Output tiles `[rows, cols]`: every side from 1 to 65536.
pub(crate) fn validate_tiles(
    path: &FieldPath,
    raw: &[Vec<u32>],
) -> Result<Vec<(u32, u32)>, Problem> {
    let mut tiles = Vec::with_capacity(raw.len());
    for (i, tile) in raw.iter().enumerate() {
        let &[r, c] = tile.as_slice() else {
            return Err(problem(
                path.key("tiles").index(i),
                format!(
                    "a tile is [rows, cols], got {} number(s): {tile:?}",
                    tile.len()
                ),
            ));
        };
        if r == 0 || c == 0 || r > 65536 || c > 65536 {
            return Err(problem(
                path.key("tiles").index(i),
                format!("tile sides must be from 1 to 65536, got [{r}, {c}]"),
            ));
        }
        tiles.push((r, c));
    }
    Ok(tiles)
}

/// A stack named by a chip file: an embedded stack, or a path to a file.
fn validate_stack_reference(path: &FieldPath, name: String) -> Result<String, Problem> {
    if crate::registry::looks_like_path(&name) || crate::registry::stack_preset(&name).is_some() {
        return Ok(name);
    }
    Err(Problem {
        path: path.clone(),
        message: format!("no embedded software stack is called `{name}`"),
        hint: Some(format!(
            "one of: {} (or a path to a stack file)",
            crate::registry::stack_presets()
                .filter(|s| s.kind() == "library")
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    })
}

/// Most memory levels a chip may list (predictions carry a time per level
/// in a fixed array, without allocating).
pub const MAX_MEMORY_LEVELS: usize = 8;

fn validate_memory(
    root: &FieldPath,
    raw: Vec<RawMemoryLevel>,
    model: ChipModel,
    cores: u32,
) -> Result<Vec<MemoryLevel>, Problem> {
    if raw.is_empty() {
        return Err(Problem {
            path: root.key("memory"),
            message: "expected at least one memory level".into(),
            hint: Some("add a [[memory]] table for main memory (DRAM or HBM)".into()),
        });
    }
    if raw.len() > MAX_MEMORY_LEVELS {
        return Err(problem(
            root.key("memory").index(MAX_MEMORY_LEVELS),
            format!(
                "{} memory levels; at most {MAX_MEMORY_LEVELS} are read",
                raw.len()
            ),
        ));
    }
    let last = raw.len() - 1;
    let mut names = BTreeSet::new();
    let mut levels: Vec<MemoryLevel> = Vec::with_capacity(raw.len());
    for (i, level) in raw.into_iter().enumerate() {
        let path = root.key("memory").index(i);
        if !names.insert(level.name.clone()) {
            return Err(problem(
                path.key("name"),
                format!("memory level `{}` is listed twice", level.name),
            ));
        }
        let parsed = MemoryLevel {
            size_bytes: plausible(
                &path,
                "size_kib",
                positive(&path, "size_kib", level.size_kib)?,
                1e-3,
                1099511627776.0,
                "KiB",
            )? * 1024.0,
            line_bytes: plausible(
                &path,
                "line_bytes",
                f64::from(at_least_one(&path, "line_bytes", level.line_bytes)?),
                1.0,
                1048576.0,
                "bytes",
            )? as u32,
            associativity: at_least_one(&path, "associativity", level.associativity)?,
            latency_cycles: plausible(
                &path,
                "latency_cycles",
                non_negative(&path, "latency_cycles", level.latency_cycles)?,
                0.0,
                1e9,
                "cycles",
            )?,
            bandwidth_bytes_per_s: plausible(
                &path,
                "bandwidth_gb_s",
                positive(&path, "bandwidth_gb_s", level.bandwidth_gb_s)?,
                1e-6,
                1e6,
                "GB/s",
            )? * 1e9,
            miss_penalty_cycles: plausible(
                &path,
                "miss_penalty_cycles",
                non_negative(&path, "miss_penalty_cycles", level.miss_penalty_cycles)?,
                0.0,
                1e9,
                "cycles",
            )?,
            per_core: level.per_core,
            plain_store_reads_line: level.plain_store_reads_line.unwrap_or(true),
            name: level.name,
        };
        if level.plain_store_reads_line.is_some()
            && (model != ChipModel::CpuBlocked || i == 0 || i == last)
        {
            return Err(problem_with_hint(
                path.key("plain_store_reads_line"),
                if model != ChipModel::CpuBlocked {
                    format!(
                        "plain_store_reads_line is read by model `cpu-blocked` only, not `{model}`"
                    )
                } else if i == 0 {
                    "the first level holds the lines being written: no store reads them from it"
                        .to_string()
                } else {
                    "main memory's bandwidth is STREAM's counted rate, the read for ownership inside it".to_string()
                },
                "set plain_store_reads_line on a CPU's caches after the first (L2, L3), or leave it out",
            ));
        }
        if parsed.per_core && (model != ChipModel::CpuBlocked || i == last) {
            return Err(problem_with_hint(
                path.key("per_core"),
                if i == last {
                    "main memory is shared by every core".to_string()
                } else {
                    format!("per_core is read by model `cpu-blocked` only, not `{model}`")
                },
                "mark a CPU's private caches (L1, L2) per_core = true, with one core's size and bandwidth",
            ));
        }
        // Levels compare as the whole chip sees them: a private level's
        // bandwidth over every core, its capacity as one core's.
        let chip_bw = |l: &MemoryLevel| l.bandwidth_for(f64::from(cores));
        if let Some(prev) = levels.last() {
            if chip_bw(&parsed) > chip_bw(prev) {
                return Err(Problem {
                    path: path.key("bandwidth_gb_s"),
                    message: format!(
                        "level `{}` has more bandwidth than `{}` above it; levels must be listed fastest first",
                        parsed.name, prev.name
                    ),
                    hint: Some(
                        "order [[memory]] tables from the highest bandwidth to the lowest".into(),
                    ),
                });
            }
            if parsed.size_bytes < prev.size_bytes {
                return Err(Problem {
                    path: path.key("size_kib"),
                    message: format!(
                        "level `{}` is smaller than `{}` above it; levels must grow towards main memory",
                        parsed.name, prev.name
                    ),
                    hint: Some(
                        "order [[memory]] tables from the smallest, fastest level to main memory"
                            .into(),
                    ),
                });
            }
        }
        levels.push(parsed);
    }
    Ok(levels)
}

fn validate_quant_cost(path: &FieldPath, raw: RawQuantCost) -> Result<QuantCost, Problem> {
    Ok(QuantCost {
        dequant_fraction: in_range(
            path,
            "dequant_fraction",
            raw.dequant_fraction,
            (0.0, false),
            (1.0, false),
        )?,
        dequant_cycles_per_element: non_negative(
            path,
            "dequant_cycles_per_element",
            raw.dequant_cycles_per_element,
        )?,
        layout_penalty: {
            let v = finite(path, "layout_penalty", raw.layout_penalty)?;
            if v < 1.0 {
                return Err(problem(
                    path.key("layout_penalty"),
                    format!("expected a multiplier of at least 1, got {v}"),
                ));
            }
            v
        },
        scale_storage_fraction: in_range(
            path,
            "scale_storage_fraction",
            raw.scale_storage_fraction,
            (0.0, false),
            (1.0, true),
        )?,
        accumulation_buffer: raw.accumulation_buffer,
    })
}
