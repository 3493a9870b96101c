//! Parsing a chip file (TOML -> [`RawChip`]) and validating it into a
//! [`Chip`], with errors located by line, column and field path.

use std::collections::BTreeSet;

use mlsim_quant::{Dtype, DtypeMap, QuantCost};
use toml::de::{DeTable, DeValue};

use crate::chip::{Chip, ChipKind, ComputeArch, ComputePath, ComputeUnit, MemoryLevel, PathKind};
use crate::error::{Diagnostic, HwError};
use crate::raw::{RawChip, RawCompute, RawMemoryLevel, RawPath, RawQuantCost};

/// Chip files larger than this are refused before parsing (a real one is a
/// few KiB).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// A dotted path into the document, e.g. `memory[2].bandwidth_gb_s`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct FieldPath(Vec<Seg>);

impl FieldPath {
    fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }
    fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
    fn render(&self) -> String {
        let mut s = String::new();
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }
}

/// A validation failure before it is located in the file.
struct Problem {
    path: FieldPath,
    message: String,
    hint: Option<String>,
}

fn problem(path: FieldPath, message: impl Into<String>) -> Problem {
    Problem {
        path,
        message: message.into(),
        hint: None,
    }
}

/// Turns a byte offset into a 1-based (line, column).
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Finds the byte offset of the deepest existing node on `path`.
fn locate(doc: &DeTable<'_>, path: &FieldPath) -> usize {
    let mut best = 0;
    let mut current: Option<&toml::Spanned<DeValue<'_>>> = None;
    for (depth, seg) in path.0.iter().enumerate() {
        let next = match (depth, seg) {
            (0, Seg::Key(k)) => doc.get(k.as_str()),
            (_, Seg::Key(k)) => current.and_then(|v| v.get_ref().get(k.as_str())),
            (_, Seg::Index(i)) => current.and_then(|v| v.get_ref().get(*i)),
        };
        match next {
            Some(v) => {
                best = v.span().start;
                current = Some(v);
            }
            None => break,
        }
    }
    best
}

/// Parse and validate a chip file's text. `file` is used in messages only.
pub fn parse_chip(text: &str, file: &str) -> Result<Chip, HwError> {
    let diag = |offset: usize, field: String, message: String, hint: Option<String>| {
        let (line, column) = line_col(text, offset);
        HwError::Invalid(Box::new(Diagnostic {
            file: file.to_string(),
            line,
            column,
            field,
            message,
            hint,
        }))
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(diag(
            0,
            String::new(),
            format!(
                "file is {} bytes, more than the {} a chip file may have",
                text.len(),
                MAX_FILE_BYTES
            ),
            Some("is this really a chip description?".into()),
        ));
    }
    if text.trim().is_empty() {
        return Err(diag(
            0,
            String::new(),
            "file is empty, expected a chip description".into(),
            Some("start from `mlsim presets show t4-seed`".into()),
        ));
    }
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            return Err(diag(offset, String::new(), first_line(e.message()), None));
        }
    };
    let deserializer = toml::Deserializer::from(doc.clone());
    let raw: RawChip = match serde_path_to_error::deserialize(deserializer) {
        Ok(raw) => raw,
        Err(e) => {
            let mut path = path_from_serde(e.path());
            let inner = e.inner();
            let message = first_line(inner.message());
            let mut hint = None;
            if let Some(missing) = backticked_after(&message, "missing field") {
                path = path.key(&missing);
                hint = Some(
                    "add the field; `mlsim presets show t4-seed` shows a complete file".into(),
                );
            } else if message.starts_with("unknown field") {
                hint = Some("check the spelling against presets/README.md".into());
            }
            let offset = inner
                .span()
                .map_or_else(|| locate(doc.get_ref(), &path), |s| s.start);
            return Err(diag(offset, path.render(), message, hint));
        }
    };
    validate(raw).map_err(|p| {
        let offset = locate(doc.get_ref(), &p.path);
        diag(offset, p.path.render(), p.message, p.hint)
    })
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

/// The name in backticks after `prefix`, e.g. `missing field `x``.
fn backticked_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?.trim_start();
    let rest = rest.strip_prefix('`')?;
    Some(rest[..rest.find('`')?].to_string())
}

fn path_from_serde(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment;
    let mut p = FieldPath::default();
    for seg in path.iter() {
        match seg {
            Segment::Map { key } => p = p.key(key),
            Segment::Seq { index } => p = p.index(*index),
            Segment::Enum { variant } => p = p.key(variant),
            Segment::Unknown => {}
        }
    }
    p
}

/// Checks for one number.
fn finite(path: &FieldPath, field: &str, v: f64) -> Result<f64, Problem> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(problem(
            path.key(field),
            format!("expected a finite number, got {v}"),
        ))
    }
}

fn positive(path: &FieldPath, field: &str, v: f64) -> Result<f64, Problem> {
    if finite(path, field, v)? > 0.0 {
        Ok(v)
    } else {
        Err(problem(
            path.key(field),
            format!("expected a number above 0, got {v}"),
        ))
    }
}

/// Physical sense: `v` within `[lo, hi]` for a quantity no real chip can
/// have outside (so a typo such as `frequency_ghz = 1500` is caught and
/// overflow-sized values never reach the model).
fn plausible(
    path: &FieldPath,
    field: &str,
    v: f64,
    lo: f64,
    hi: f64,
    what: &str,
) -> Result<f64, Problem> {
    if v < lo || v > hi {
        return Err(Problem {
            path: path.key(field),
            message: format!(
                "{} is outside the range any real chip has ({lo} to {hi} {what})",
                readable(v)
            ),
            hint: Some("check the unit in the field name".into()),
        });
    }
    Ok(v)
}

/// A number for a message: plain when moderate, scientific when huge or tiny.
fn readable(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e7).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn non_negative(path: &FieldPath, field: &str, v: f64) -> Result<f64, Problem> {
    if finite(path, field, v)? >= 0.0 {
        Ok(v)
    } else {
        Err(problem(
            path.key(field),
            format!("expected a number of at least 0, got {v}"),
        ))
    }
}

/// `v` in [lo, hi] or [lo, hi) depending on `hi_open`, or (lo, hi] with `lo_open`.
fn in_range(
    path: &FieldPath,
    field: &str,
    v: f64,
    (lo, lo_open): (f64, bool),
    (hi, hi_open): (f64, bool),
) -> Result<f64, Problem> {
    finite(path, field, v)?;
    let lo_ok = if lo_open { v > lo } else { v >= lo };
    let hi_ok = if hi_open { v < hi } else { v <= hi };
    if lo_ok && hi_ok {
        Ok(v)
    } else {
        let l = if lo_open { '(' } else { '[' };
        let h = if hi_open { ')' } else { ']' };
        Err(problem(
            path.key(field),
            format!("expected a number in {l}{lo}, {hi}{h}, got {v}"),
        ))
    }
}

fn at_least_one(path: &FieldPath, field: &str, v: u32) -> Result<u32, Problem> {
    if v >= 1 {
        Ok(v)
    } else {
        Err(problem(
            path.key(field),
            "expected an integer of at least 1, got 0",
        ))
    }
}

fn parse_dtype(path: &FieldPath, key: &str) -> Result<Dtype, Problem> {
    key.parse::<Dtype>().map_err(|e| Problem {
        path: path.key(key),
        message: e.to_string(),
        hint: Some("dtype keys are names such as fp16, bf16, int8".into()),
    })
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
    if let Some(c) = &raw.calibration {
        if c.note.trim().is_empty() {
            return Err(problem(
                root.key("calibration").key("note"),
                "expected a non-empty note saying what was fitted",
            ));
        }
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
    let compute = validate_compute(&root.key("compute"), raw.compute, frequency_ghz)?;
    let memory = validate_memory(&root, raw.memory)?;
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
    Ok(Chip {
        name: raw.name,
        display_name: raw.display_name,
        kind,
        frequency_hz: frequency_ghz * 1e9,
        base_clock_hz,
        power_limit_w,
        launch_overhead_s: launch_overhead_us / 1e6,
        sources: raw.sources,
        calibration: raw.calibration,
        compute,
        memory,
        quantization,
    })
}

fn validate_compute(
    path: &FieldPath,
    raw: RawCompute,
    frequency_ghz: f64,
) -> Result<ComputeUnit, Problem> {
    let arch = match raw.arch.as_str() {
        "simd" => ComputeArch::Simd,
        "neon" => ComputeArch::Neon,
        "systolic" => ComputeArch::Systolic,
        "gpu" => ComputeArch::Gpu,
        other => {
            return Err(problem(
                path.key("arch"),
                format!("unknown arch `{other}`, expected one of simd, neon, systolic, gpu"),
            ));
        }
    };
    let efficiency = in_range(
        path,
        "efficiency",
        raw.efficiency,
        (0.0, true),
        (1.0, false),
    )?;
    let paths = validate_paths(&path.key("paths"), raw.paths, efficiency, frequency_ghz)?;
    if arch == ComputeArch::Gpu
        && !matches!(
            paths.get(Dtype::Fp32).map(|p| &p.kind),
            Some(PathKind::Native { .. })
        )
    {
        return Err(Problem {
            path: path.key("paths"),
            message: "arch `gpu` needs a native fp32 path ([compute.paths.fp32] with peak_tflops and tiles)".into(),
            hint: Some("see presets/t4.toml for a complete GPU description".into()),
        });
    }
    if arch != ComputeArch::Gpu && !paths.is_empty() {
        return Err(problem(
            path.key("paths"),
            format!(
                "compute paths are used by arch `gpu` only, not `{}`",
                arch.as_str()
            ),
        ));
    }
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
        systolic_edge: f64::from(units).sqrt().floor(),
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
    default_efficiency: f64,
    frequency_ghz: f64,
) -> Result<DtypeMap<ComputePath>, Problem> {
    let mut paths = DtypeMap::new();
    let mut emulated: Vec<(Dtype, Dtype, FieldPath)> = Vec::new();
    for (key, p) in raw {
        let dtype = parse_dtype(root, &key)?;
        let path = root.key(&key);
        let kind = match (p.peak_tflops, &p.emulated_by) {
            (Some(peak), None) => {
                let peak = plausible(
                    &path,
                    "peak_tflops",
                    positive(&path, "peak_tflops", peak)?,
                    1e-9,
                    1e6,
                    "TFLOP/s",
                )? * 1e12;
                let clock = p.sustained_clock_ghz.unwrap_or(frequency_ghz);
                let clock = positive(&path, "sustained_clock_ghz", clock)?;
                if clock > frequency_ghz {
                    return Err(problem(
                        path.key("sustained_clock_ghz"),
                        format!(
                            "sustained clock {clock} GHz is above the boost clock frequency_ghz = {frequency_ghz}"
                        ),
                    ));
                }
                if p.tiles.is_empty() {
                    return Err(Problem {
                        path: path.key("tiles"),
                        message: "a native path needs at least one output tile".into(),
                        hint: Some("e.g. tiles = [[128, 128], [64, 64]]".into()),
                    });
                }
                PathKind::Native {
                    peak_flops: peak,
                    clock_ratio: clock / frequency_ghz,
                }
            }
            (None, Some(via)) => {
                let via_dtype = parse_dtype(&path, via).map_err(|mut e| {
                    e.path = path.key("emulated_by");
                    e
                })?;
                if p.sustained_clock_ghz.is_some() {
                    return Err(problem(
                        path.key("sustained_clock_ghz"),
                        "an emulated path runs at the clock of the path it runs through",
                    ));
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
        let efficiency = match p.efficiency {
            Some(e) => in_range(&path, "efficiency", e, (0.0, true), (1.0, false))?,
            None => default_efficiency,
        };
        let output_bytes = match p.output_bytes {
            Some(b) => plausible(
                &path,
                "output_bytes",
                positive(&path, "output_bytes", b)?,
                0.0,
                64.0,
                "bytes",
            )?,
            None => dtype.bytes_per_element(),
        };
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
        let mut tiles = Vec::with_capacity(p.tiles.len());
        for (i, [r, c]) in p.tiles.iter().copied().enumerate() {
            if r == 0 || c == 0 || r > 65536 || c > 65536 {
                return Err(problem(
                    path.key("tiles").index(i),
                    format!("tile sides must be from 1 to 65536, got [{r}, {c}]"),
                ));
            }
            tiles.push((r, c));
        }
        let launch = match p.launch_overhead_us {
            Some(us) => Some(
                plausible(
                    &path,
                    "launch_overhead_us",
                    non_negative(&path, "launch_overhead_us", us)?,
                    0.0,
                    1e6,
                    "us",
                )? / 1e6,
            ),
            None => None,
        };
        if paths.contains(dtype) {
            return Err(problem(path, format!("dtype {dtype} is given twice")));
        }
        paths.insert(
            dtype,
            ComputePath {
                kind,
                efficiency,
                output_bytes,
                convert_flops_per_element: convert,
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
                    hint: Some(format!(
                        "add [compute.paths.{via}] with peak_tflops and tiles"
                    )),
                });
            }
        }
    }
    Ok(paths)
}

fn validate_memory(
    root: &FieldPath,
    raw: Vec<RawMemoryLevel>,
) -> Result<Vec<MemoryLevel>, Problem> {
    if raw.is_empty() {
        return Err(Problem {
            path: root.key("memory"),
            message: "expected at least one memory level".into(),
            hint: Some("add a [[memory]] table for main memory (DRAM or HBM)".into()),
        });
    }
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
            name: level.name,
        };
        if let Some(prev) = levels.last() {
            if parsed.bandwidth_bytes_per_s > prev.bandwidth_bytes_per_s {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("a\nbé c", 6), (2, 4));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
