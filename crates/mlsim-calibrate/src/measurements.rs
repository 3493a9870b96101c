//! Measurement files (`results/*.csv`), read with polars.
//!
//! Two layouts are accepted: mlsim's (`hardware, op, m, n, k, dtype,
//! runtime_ms` plus optional columns) and the original program's
//! (`hardware, workload, matrix_size, dtype, runtime_ms, ...`, where
//! `matrix_size` means m = n = k). Lines starting with `#` are provenance
//! comments; one of them, `# host_floor_us: X`, gives the measured per-call
//! floor of the host for every row. Every cell is checked; the first bad one
//! is reported with its file, line, row and column, and nothing is dropped
//! silently: columns the reader does not use are listed in
//! [`MeasurementSet::ignored_columns`].
//!
//! How a row was measured travels with it: `timing` (`kernel`,
//! `back-to-back`, `per-call`), `stack` (the kernel library), `framework`
//! (the host side) and `host_floor_us` (the host's measured per-call
//! floor), each optional and per row, so one file may mix them.

use rayon::prelude::*;
use std::io::Cursor;
use std::path::Path;

use mlsim_hw::Timing;
use mlsim_quant::Dtype;
use polars::prelude::*;

use crate::error::CalibrateError;

/// What a measured row ran: a GEMM, or one of STREAM's memory kernels
/// over `n` elements per array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasuredOp {
    /// `C(m,n) = A(m,k) @ B(k,n)` (`gemm` or `matmul` in a file).
    #[default]
    Gemm,
    /// `c[i] = a[i]`.
    Copy,
    /// `b[i] = s c[i]`.
    Scale,
    /// `c[i] = a[i] + b[i]`.
    Add,
    /// `a[i] = b[i] + s c[i]`.
    Triad,
}

impl MeasuredOp {
    /// The memory kernels, as files name them.
    pub const STREAM: [MeasuredOp; 4] = [Self::Copy, Self::Scale, Self::Add, Self::Triad];

    /// The name a results file uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gemm => "gemm",
            Self::Copy => "copy",
            Self::Scale => "scale",
            Self::Add => "add",
            Self::Triad => "triad",
        }
    }

    /// The workload's elementwise kind, for a memory kernel: the bytes
    /// STREAM counts (two arrays for copy and scale, three for add and
    /// triad).
    pub fn elementwise(self) -> Option<mlsim_workload::ElementwiseKind> {
        use mlsim_workload::ElementwiseKind as K;
        match self {
            Self::Gemm => None,
            Self::Copy => Some(K::Copy),
            Self::Scale => Some(K::Scale),
            Self::Add => Some(K::StreamAdd),
            Self::Triad => Some(K::Triad),
        }
    }
}

/// One measured row: a GEMM `C(m,n) = A(m,k) @ B(k,n)` in `dtype`, or a
/// memory kernel over `n` elements per array (`m = k = 1` here; empty in
/// the file).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Measurement {
    /// Device as recorded in the file.
    pub hardware: String,
    /// What ran.
    pub op: MeasuredOp,
    /// Rows of A and C.
    pub m: u64,
    /// Columns of B and C.
    pub n: u64,
    /// Reduction dimension.
    pub k: u64,
    /// Element type.
    pub dtype: Dtype,
    /// Runtime of one call, ms.
    pub runtime_ms: f64,
    /// How it was timed, where the file says.
    pub timing: Option<Timing>,
    /// The kernel-library stack it ran on (a name or path), where the file
    /// says.
    pub stack: Option<String>,
    /// The framework that called it, where the file says.
    pub framework: Option<String>,
    /// The measured per-call floor of the host that took it, microseconds.
    pub host_floor_us: Option<f64>,
    /// Run-to-run spread of the runtime over repeated runs, as
    /// `100 (max - min) / median`, where the file says (a file of medians).
    pub spread_pct: Option<f64>,
    /// How many runs the runtime is the median of, where the file says.
    pub repeats: Option<u32>,
    /// 1-based line in the file, for messages.
    pub line: usize,
}

impl Measurement {
    /// The shape `(m, n, k)` (a memory kernel: `(1, n, 1)`).
    pub fn shape(&self) -> (u64, u64, u64) {
        (self.m, self.n, self.k)
    }

    /// The key that groups rows by size: the op and the shape, so a memory
    /// kernel over n elements never shares a size with a GEMM.
    pub fn size(&self) -> (MeasuredOp, (u64, u64, u64)) {
        (self.op, self.shape())
    }

    /// Whether the row is a GEMM (not a memory kernel).
    pub fn is_gemm(&self) -> bool {
        self.op == MeasuredOp::Gemm
    }
}

/// The measurements of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasurementSet {
    /// File name as given.
    pub file: String,
    /// Rows in file order.
    pub rows: Vec<Measurement>,
    /// Columns present in the file that the reader does not use.
    pub ignored_columns: Vec<String>,
    /// The cores' clock while the file was measured, GHz: the mean of the
    /// values its `# clock:` comment gives (`mlsim measure cpu` measures it
    /// before and after the points); `None` without one.
    pub host_clock_ghz: Option<f64>,
}

impl MeasurementSet {
    /// The device named by the rows (all rows name the same one).
    pub fn hardware(&self) -> &str {
        self.rows.first().map_or("", |r| r.hardware.as_str())
    }

    /// That `chip` can run the dtype of every row (fp64 needs a path of its
    /// own): else the first row that it cannot, by file, line and column.
    pub fn check_runs_on(&self, chip: &mlsim_hw::Chip) -> Result<(), CalibrateError> {
        for (i, r) in self.rows.iter().enumerate() {
            if let Err(why) = chip.check_runs(r.dtype) {
                return Err(CalibrateError::Invalid {
                    file: self.file.clone(),
                    line: r.line,
                    row: i + 1,
                    column: Some("dtype".into()),
                    message: why,
                    hint: Some(format!(
                        "validate the {} rows on a chip with that path, or leave them out",
                        r.dtype
                    )),
                });
            }
        }
        Ok(())
    }
}

/// Columns of mlsim's layout.
const OURS_REQUIRED: [&str; 7] = ["hardware", "op", "m", "n", "k", "dtype", "runtime_ms"];
/// Optional columns for people: accepted, not read.
const FOR_PEOPLE: [&str; 11] = [
    "tflops",
    "method",
    "source",
    "notes",
    "median_ms",
    "mean_ms",
    "stdev_ms",
    "warmup",
    "reps",
    "threads",
    "arithmetic_intensity",
];

/// The optional columns that say how a row was measured.
const HOW_MEASURED: [&str; 6] = [
    "timing",
    "stack",
    "framework",
    "host_floor_us",
    "spread_pct",
    "repeats",
];
/// Columns of the original's layout.
const ORIGINAL_REQUIRED: [&str; 4] = ["hardware", "matrix_size", "dtype", "runtime_ms"];
const ORIGINAL_DERIVED: [&str; 5] = [
    "workload",
    "tflops",
    "arithmetic_intensity",
    "flops",
    "bytes_accessed",
];

/// Read a measurement file.
pub fn read_measurements(path: &Path) -> Result<MeasurementSet, CalibrateError> {
    let bytes = std::fs::read(path).map_err(|source| CalibrateError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_measurements(&bytes, &path.display().to_string())
}

/// Parse the bytes of a measurement file; `file` names it in messages.
pub fn parse_measurements(bytes: &[u8], file: &str) -> Result<MeasurementSet, CalibrateError> {
    let invalid =
        |line: usize, row: usize, column: Option<&str>, message: String, hint: Option<&str>| {
            CalibrateError::Invalid {
                file: file.to_string(),
                line,
                row,
                column: column.map(str::to_string),
                message,
                hint: hint.map(str::to_string),
            }
        };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        invalid(
            line,
            0,
            None,
            "not valid UTF-8 text".into(),
            Some("a measurement file is CSV text"),
        )
    })?;

    // Keep the header and data lines, remembering each data row's line
    // number; comments and blank lines are not data.
    let mut kept = String::with_capacity(text.len());
    let mut lines_of_rows = Vec::new();
    let mut header_line = 0;
    let mut file_host_floor_us: Option<f64> = None;
    let mut host_clock_ghz: Option<f64> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(value) = comment_value(trimmed, "clock:") {
            host_clock_ghz = clock_ghz(value);
            continue;
        }
        if let Some(value) = comment_value(trimmed, "host_floor_us:") {
            // The first word is the number; the rest says how it was taken.
            let word = value.split_whitespace().next().unwrap_or("");
            file_host_floor_us = Some(parse_host_floor(word).ok_or_else(|| {
                invalid(
                    i + 1,
                    0,
                    None,
                    format!(
                        "`# host_floor_us:` expects a number of microseconds above 0, got `{word}`"
                    ),
                    Some("for example `# host_floor_us: 21.5 (an empty op timed per call)`"),
                )
            })?);
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if header_line == 0 {
            header_line = i + 1;
        } else {
            lines_of_rows.push(i + 1);
        }
        kept.push_str(line);
        kept.push('\n');
    }
    if header_line == 0 {
        return Err(invalid(
            1,
            0,
            None,
            "no header line: the file is empty or only comments".into(),
            Some("see results/README.md for the format"),
        ));
    }
    if lines_of_rows.is_empty() {
        return Err(invalid(
            header_line,
            0,
            None,
            "no measurements after the header".into(),
            None,
        ));
    }

    // Ragged rows: name the line (polars would only say the table is bad).
    let mut data_lines = kept.lines();
    let width = data_lines.next().map_or(0, field_count);
    for (i, line) in data_lines.enumerate() {
        let fields = field_count(line);
        if fields != width {
            return Err(invalid(
                lines_of_rows[i],
                i + 1,
                None,
                format!("row {} has {fields} fields, the header has {width}", i + 1),
                Some("a comma inside a value must be quoted"),
            ));
        }
    }

    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0)) // every column as text: we parse and check each cell
        .with_raise_if_empty(true)
        .into_reader_with_file_handle(Cursor::new(kept.into_bytes()))
        .finish()
        .map_err(|e| {
            invalid(
                header_line,
                0,
                None,
                format!("not a readable CSV table: {}", first_line(&e.to_string())),
                None,
            )
        })?;
    if df.height() != lines_of_rows.len() {
        return Err(invalid(
            header_line,
            0,
            None,
            format!(
                "read {} rows from {} data lines",
                df.height(),
                lines_of_rows.len()
            ),
            Some("a quoted field spanning lines? keep one measurement per line"),
        ));
    }

    let columns: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let has = |c: &str| columns.iter().any(|x| x == c);
    let original = has("matrix_size") && !has("m");
    let (required, known): (&[&str], Vec<&str>) = if original {
        (
            &ORIGINAL_REQUIRED,
            ORIGINAL_REQUIRED
                .iter()
                .chain(ORIGINAL_DERIVED.iter())
                .chain(HOW_MEASURED.iter())
                .copied()
                .collect(),
        )
    } else {
        (
            &OURS_REQUIRED,
            OURS_REQUIRED
                .iter()
                .chain(HOW_MEASURED.iter())
                .chain(FOR_PEOPLE.iter())
                .copied()
                .collect(),
        )
    };
    for col in required {
        if !has(col) {
            return Err(invalid(
                header_line,
                0,
                None,
                format!("missing column `{col}` (found: {})", columns.join(", ")),
                Some(
                    "required: hardware, op, m, n, k, dtype, runtime_ms (or the original's hardware, matrix_size, dtype, runtime_ms)",
                ),
            ));
        }
    }
    let ignored_columns: Vec<String> = columns
        .iter()
        .filter(|c| !known.contains(&c.as_str()))
        .cloned()
        .collect();

    // Cells borrowed from the table, each column found once: no copy of a
    // cell and no lookup by name per row.
    let text_column = |name: &str| -> Option<Vec<Option<&str>>> {
        has(name).then(|| {
            df.column(name)
                .expect("checked above")
                .str()
                .expect("read as text")
                .iter()
                .collect()
        })
    };
    let column = |name: &'static str| Column {
        name,
        cells: text_column(name),
    };
    let [
        c_hardware,
        c_op,
        c_m,
        c_n,
        c_k,
        c_matrix_size,
        c_dtype,
        c_runtime_ms,
    ] = [
        "hardware",
        "op",
        "m",
        "n",
        "k",
        "matrix_size",
        "dtype",
        "runtime_ms",
    ]
    .map(column);
    let [
        h_timing,
        h_stack,
        h_framework,
        h_host_floor_us,
        h_spread_pct,
        h_repeats,
    ] = HOW_MEASURED.map(column);
    let workload_cells: Option<Vec<Option<&str>>> = if original {
        text_column("workload")
    } else {
        None
    };
    let mut known_stacks = std::collections::BTreeSet::new();
    // Stack and framework names as small numbers, for the duplicate check.
    let mut names: Vec<String> = Vec::new();
    let mut keys: Vec<(RowKey, usize)> = Vec::with_capacity(df.height());
    let mut rows: Vec<Measurement> = Vec::with_capacity(df.height());
    let mut read_rows = || -> Result<(), CalibrateError> {
        for (i, &line) in lines_of_rows.iter().enumerate() {
            let row = i + 1;
            // An error at this row in column `name`.
            let at =
                |name: &'static str, message: String| invalid(line, row, Some(name), message, None);
            let hardware = c_hardware.required(i, at)?;
            let mut op = MeasuredOp::Gemm;
            let (m, n, k) = if original {
                if let Some(w) = workload_cells.as_ref().and_then(|c| c[i])
                    && !w.trim().to_ascii_lowercase().starts_with("matmul")
                {
                    return Err(invalid(
                        line,
                        row,
                        Some("workload"),
                        format!(
                            "`{w}` is not a matmul; the original's format describes square matmuls"
                        ),
                        None,
                    ));
                }
                let s = c_matrix_size.positive(i, at)?;
                (s, s, s)
            } else {
                let op_text = c_op.required(i, at)?;
                let is = |name: &str| op_text.eq_ignore_ascii_case(name);
                op = match () {
                _ if is("gemm") || is("matmul") => MeasuredOp::Gemm,
                _ => MeasuredOp::STREAM
                    .into_iter()
                    .find(|o| is(o.name()))
                    .ok_or_else(|| {
                        invalid(
                            line,
                            row,
                            Some("op"),
                            format!(
                                "unknown op `{op_text}`, expected gemm, matmul, copy, scale, add or triad"
                            ),
                            Some("copy, scale, add and triad are STREAM's kernels over n elements per array, with m and k empty"),
                        )
                    })?,
            };
                if op == MeasuredOp::Gemm {
                    (
                        c_m.positive(i, at)?,
                        c_n.positive(i, at)?,
                        c_k.positive(i, at)?,
                    )
                } else {
                    for col in [&c_m, &c_k] {
                        if let Some(v) = col.at(i) {
                            return Err(invalid(
                                line,
                                row,
                                Some(col.name),
                                format!(
                                    "a {} row runs over n elements per array: `{}` must be empty, got `{v}`",
                                    op.name(),
                                    col.name
                                ),
                                None,
                            ));
                        }
                    }
                    (1, c_n.positive(i, at)?, 1)
                }
            };
            if 2.0 * m as f64 * n as f64 * k as f64 >= 9_007_199_254_740_992.0 {
                return Err(invalid(
                    line,
                    row,
                    Some(if original { "matrix_size" } else { "m" }),
                    format!("{m}x{n}x{k} is more than 2^53 FLOPs, beyond exact arithmetic"),
                    None,
                ));
            }
            let dtype_text = c_dtype.required(i, at)?;
            let dtype: Dtype = dtype_text.parse().map_err(|e: mlsim_quant::UnknownDtype| {
                invalid(line, row, Some("dtype"), e.to_string(), None)
            })?;
            let rt = c_runtime_ms.required(i, at)?;
            let runtime_ms: f64 = rt.parse().map_err(|_| {
                invalid(
                    line,
                    row,
                    Some("runtime_ms"),
                    format!("expected a number, got `{rt}`"),
                    None,
                )
            })?;
            if !(runtime_ms.is_finite() && runtime_ms > 0.0) {
                return Err(invalid(
                    line,
                    row,
                    Some("runtime_ms"),
                    format!("expected a positive runtime, got `{rt}`"),
                    None,
                ));
            }
            if let Some(first) = rows.first().map(|r: &Measurement| &r.hardware)
                && first != hardware
            {
                return Err(invalid(
                    line,
                    row,
                    Some("hardware"),
                    format!(
                        "`{hardware}` differs from `{first}` on line {}; one file holds one device",
                        rows[0].line
                    ),
                    Some("split the file per device"),
                ));
            }
            let timing = h_timing.at(i)
            .map(|v| {
                v.parse::<Timing>().map_err(|e| {
                    invalid(
                        line,
                        row,
                        Some("timing"),
                        e.to_string(),
                        Some("kernel: a profiler's kernel duration; back-to-back: the mean of calls queued without synchronisation; per-call: each call timed on its own"),
                    )
                })
            })
            .transpose()?;
            let mut named =
                |col: &Column<'_>, kind: &'static str| -> Result<Option<String>, CalibrateError> {
                    let Some(v) = col.at(i) else {
                        return Ok(None);
                    };
                    if let Some(p) = mlsim_hw::stack_preset(v).filter(|p| p.kind() != kind) {
                        let other = if kind == "library" {
                            "framework"
                        } else {
                            "stack"
                        };
                        return Err(invalid(
                            line,
                            row,
                            Some(col.name),
                            format!("`{v}` is a {}, not a {kind}", p.kind()),
                            Some(&format!(
                                "it belongs in the `{other}` column (or pass it with --{other})"
                            )),
                        ));
                    }
                    // Keyed by kind too: a path that loaded as a library must still
                    // be checked when it appears as a framework.
                    if !known_stacks.contains(&(kind, v.to_string())) {
                        let loaded = if kind == "library" {
                            mlsim_hw::load_stack(v).map(|_| ())
                        } else {
                            mlsim_hw::load_framework(v).map(|_| ())
                        };
                        if let Err(e) = loaded {
                            let accepted: Vec<&str> = mlsim_hw::stack_presets()
                                .filter(|p| p.kind() == kind)
                                .map(|p| p.name)
                                .collect();
                            return Err(invalid(
                                line,
                                row,
                                Some(col.name),
                                format!(
                                    "`{v}` is not a {kind} mlsim can load: {}",
                                    first_line(&e.to_string())
                                ),
                                Some(&format!(
                                    "accepted: {} (embedded), or a path to a {kind} file",
                                    accepted.join(", ")
                                )),
                            ));
                        }
                        known_stacks.insert((kind, v.to_string()));
                    }
                    Ok(Some(v.to_string()))
                };
            let stack = named(&h_stack, "library")?;
            let framework = named(&h_framework, "framework")?;
            let host_floor_us = match h_host_floor_us.at(i) {
                Some(v) => Some(parse_host_floor(v).ok_or_else(|| {
                    invalid(
                        line,
                        row,
                        Some("host_floor_us"),
                        format!("expected a number of microseconds above 0, got `{v}`"),
                        None,
                    )
                })?),
                None => file_host_floor_us,
            };
            let spread_pct = h_spread_pct
                .at(i)
                .map(|v| {
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite() && *x >= 0.0 && *x < 1e4)
                        .ok_or_else(|| {
                            invalid(
                                line,
                                row,
                                Some("spread_pct"),
                                format!("expected a percentage of 0 or more, got `{v}`"),
                                Some("100 (max - min) / median of the repeated runs"),
                            )
                        })
                })
                .transpose()?;
            let repeats = h_repeats
                .at(i)
                .map(|v| {
                    v.parse::<u32>().ok().filter(|x| *x >= 1).ok_or_else(|| {
                        invalid(
                            line,
                            row,
                            Some("repeats"),
                            format!("expected a whole number of runs, 1 or more, got `{v}`"),
                            None,
                        )
                    })
                })
                .transpose()?;
            if let (Some(_), Some(1)) = (spread_pct, repeats) {
                return Err(invalid(
                    line,
                    row,
                    Some("spread_pct"),
                    "a spread over one run: a single run has none".into(),
                    Some("leave spread_pct empty for a single run"),
                ));
            }
            // One row per shape, dtype and way of measuring: checked once all
            // rows are read (a sort, O(n log n)), or before any later error.
            let mut id = |name: &Option<String>| {
                name.as_ref().map(|v| {
                    names.iter().position(|n| n == v).unwrap_or_else(|| {
                        names.push(v.clone());
                        names.len() - 1
                    })
                })
            };
            let key = RowKey {
                op,
                shape: (m, n, k),
                dtype,
                timing,
                stack: id(&stack),
                framework: id(&framework),
            };
            keys.push((key, rows.len()));
            rows.push(Measurement {
                hardware: hardware.to_string(),
                op,
                m,
                n,
                k,
                dtype,
                runtime_ms,
                timing,
                stack,
                framework,
                host_floor_us,
                spread_pct,
                repeats,
                line,
            });
        }
        Ok(())
    };
    // A duplicate before a bad row is the error a reader meets first.
    let read = read_rows();
    if let Some(e) = first_duplicate(&mut keys, &rows, &invalid) {
        return Err(e);
    }
    read?;
    Ok(MeasurementSet {
        file: file.to_string(),
        rows,
        ignored_columns,
        host_clock_ghz,
    })
}

/// What follows `key` in a `# key ...` provenance comment that carries
/// data (`None` for any other line).
fn comment_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix('#')
        .map(str::trim_start)
        .and_then(|c| c.strip_prefix(key))
}

/// The mean of the `<number> GHz` values in a `# clock:` comment's text
/// (`3.48 GHz before the points, 3.46 GHz after ...`); `None` when it gives
/// none (`not measured`).
fn clock_ghz(text: &str) -> Option<f64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let values: Vec<f64> = words
        .windows(2)
        .filter(|w| w[1].trim_end_matches([',', ';', '.']) == "GHz")
        .filter_map(|w| w[0].parse::<f64>().ok())
        .filter(|g| g.is_finite() && *g > 0.0)
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// One column's cells, borrowed from the table (`None`: no such column).
struct Column<'a> {
    name: &'static str,
    cells: Option<Vec<Option<&'a str>>>,
}

impl<'a> Column<'a> {
    /// Row `i`'s cell, or the error `at` gives for an empty one.
    fn required(
        &self,
        i: usize,
        at: impl Fn(&'static str, String) -> CalibrateError,
    ) -> Result<&'a str, CalibrateError> {
        self.at(i)
            .ok_or_else(|| at(self.name, "empty value".into()))
    }

    /// Row `i`'s cell as an integer above 0, or the error `at` gives.
    fn positive(
        &self,
        i: usize,
        at: impl Fn(&'static str, String) -> CalibrateError,
    ) -> Result<u64, CalibrateError> {
        let v = self.required(i, &at)?;
        match v.parse::<u64>() {
            Ok(x) if x > 0 => Ok(x),
            _ => Err(at(
                self.name,
                format!("expected a positive integer, got `{v}`"),
            )),
        }
    }

    /// Row `i`'s cell, trimmed; `None` when empty or absent.
    fn at(&self, i: usize) -> Option<&'a str> {
        self.cells
            .as_ref()
            .and_then(|c| c[i])
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// What makes two rows the same measurement: shape, dtype and the way it
/// was measured (stack and framework by their number in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RowKey {
    op: MeasuredOp,
    shape: (u64, u64, u64),
    dtype: Dtype,
    timing: Option<Timing>,
    stack: Option<usize>,
    framework: Option<usize>,
}

/// The first row (in file order) that repeats an earlier row's key, as the
/// error naming both lines: `keys` pairs each key with its row's index in
/// `rows`, and is sorted here.
fn first_duplicate(
    keys: &mut [(RowKey, usize)],
    rows: &[Measurement],
    invalid: &impl Fn(usize, usize, Option<&str>, String, Option<&str>) -> CalibrateError,
) -> Option<CalibrateError> {
    // The keys are distinct (each carries its row's index): the order is
    // the same whatever the thread count.
    keys.par_sort_unstable();
    // Runs of one key hold its rows in file order: a run's first repeat is
    // its second row, and the earliest of those is the one a reader meets.
    let (first, second) = keys
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .map(|run| (run[0].1, run[1].1))
        .min_by_key(|&(_, second)| second)?;
    let (r, dup_line) = (&rows[second], rows[first].line);
    Some(invalid(
        r.line,
        second + 1,
        None,
        format!(
            "{} {} is measured twice (also on line {dup_line})",
            match r.op {
                MeasuredOp::Gemm => format!("{}x{}x{}", r.m, r.n, r.k),
                _ => format!("{} over {} elements", r.op.name(), r.n),
            },
            r.dtype
        ),
        Some("keep one row per shape, dtype and timing"),
    ))
}

/// A host floor in microseconds: finite and above 0.
fn parse_host_floor(v: &str) -> Option<f64> {
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0 && *x < 1e6)
}

/// Fields on one CSV line, honouring double quotes.
fn field_count(line: &str) -> usize {
    let mut quoted = false;
    let mut fields = 1;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields += 1,
            _ => {}
        }
    }
    fields
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}
