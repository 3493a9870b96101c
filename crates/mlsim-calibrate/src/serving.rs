//! Serving measurements (one row per measured metric of an LLM serving
//! run) and their predictions by `mlsim_engine::serving`: the error table
//! of `mlsim validate-serving`, with every row the model cannot represent
//! listed with its reason (results/README.md, "Serving measurements";
//! docs/model/serving.md).

use std::path::Path;

use mlsim_engine::serving::{Parallelism, ServingPoint, serve};
use mlsim_hw::{LinkScope, SetupSpec, System, Timing, Topology};
use mlsim_workload::transformer::{Scheme, load_model};

use crate::CalibrateError;

/// What a row measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServingMetric {
    /// Time to first token, ms.
    TtftMs,
    /// Time per output token, ms.
    TpotMs,
    /// Request latency, ms.
    E2eLatencyMs,
    /// Output tokens per second, all GPUs.
    OutputTokensPerS,
    /// Prompt and output tokens per second, all GPUs.
    TotalTokensPerS,
    /// Output tokens per second per GPU.
    OutputTokensPerSPerGpu,
    /// Output tokens per second each sequence sees.
    TokensPerSPerUser,
}

impl ServingMetric {
    /// Every metric with its name in files and its unit.
    pub const ALL: [(ServingMetric, &'static str, &'static str); 7] = [
        (Self::TtftMs, "ttft_ms", "ms"),
        (Self::TpotMs, "tpot_ms", "ms"),
        (Self::E2eLatencyMs, "e2e_latency_ms", "ms"),
        (Self::OutputTokensPerS, "output_tokens_per_s", "tokens/s"),
        (Self::TotalTokensPerS, "total_tokens_per_s", "tokens/s"),
        (
            Self::OutputTokensPerSPerGpu,
            "output_tokens_per_s_per_gpu",
            "tokens/s",
        ),
        (Self::TokensPerSPerUser, "tokens_per_s_per_user", "tokens/s"),
    ];

    /// The name used in files.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(m, ..)| *m == self)
            .map_or("", |e| e.1)
    }

    /// The metric's value for `p`, with `replicas` data-parallel copies.
    pub fn of(self, p: &ServingPoint, replicas: f64) -> f64 {
        let output = p.output_tokens_per_s * replicas;
        match self {
            Self::TtftMs => p.ttft_ms,
            Self::TpotMs => p.tpot_ms,
            Self::E2eLatencyMs => p.e2e_latency_ms,
            Self::OutputTokensPerS => output,
            Self::TotalTokensPerS => output * (p.prompt + p.output) as f64 / p.output as f64,
            // The measured run's chips are one replica's (tp x pp) times its
            // replicas: per GPU is one replica's tokens over its chips,
            // whatever system the prediction was made on.
            Self::OutputTokensPerSPerGpu => p.output_tokens_per_s / p.parallelism.chips() as f64,
            Self::TokensPerSPerUser => 1e3 / p.tpot_ms,
        }
    }
}

/// One measured metric of one serving run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServingRow {
    /// Line in the file.
    pub line: usize,
    /// Model name (`models/`) or file.
    pub model: String,
    /// Chip preset name.
    pub hardware: String,
    /// GPUs (chips) serving, all replicas together.
    pub num_gpus: u64,
    /// Precision scheme (`mlsim serve --schemes`).
    pub precision: String,
    /// Tensor-parallel ways.
    pub tp: u64,
    /// Pipeline stages.
    pub pp: u64,
    /// Serving engine, in words (vLLM, TensorRT-LLM, SGLang).
    pub engine: String,
    /// Its version.
    pub engine_version: String,
    /// Concurrent sequences (batch or client concurrency).
    pub batch: u64,
    /// Prompt tokens.
    pub input_len: u64,
    /// Output tokens.
    pub output_len: u64,
    /// What was measured.
    pub metric: ServingMetric,
    /// Its value, in the metric's unit.
    pub value: f64,
}

const COLUMNS: [&str; 14] = [
    "model",
    "hardware",
    "num_gpus",
    "precision",
    "tp",
    "pp",
    "engine",
    "engine_version",
    "batch_or_concurrency",
    "input_len",
    "output_len",
    "metric",
    "value",
    "unit",
];

/// Read a serving measurement file.
pub fn read_serving(path: &Path) -> Result<Vec<ServingRow>, CalibrateError> {
    let bytes = std::fs::read(path).map_err(|source| CalibrateError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_serving(&bytes, &path.display().to_string())
}

/// Parse a serving measurement file's bytes; `file` names it in messages.
pub fn parse_serving(bytes: &[u8], file: &str) -> Result<Vec<ServingRow>, CalibrateError> {
    let invalid =
        |line: usize, row: usize, column: Option<&str>, message: String| CalibrateError::Invalid {
            file: file.to_string(),
            line,
            row,
            column: column.map(str::to_string),
            message,
            hint: Some("see results/README.md, \"Serving measurements\"".into()),
        };
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| invalid(1, 0, None, format!("not a readable CSV header: {e}")))?
        .clone();
    // The header is the first line that is neither blank nor a comment.
    let header_line = bytes
        .split(|&b| b == b'\n')
        .position(|l| {
            let t = l.trim_ascii();
            !t.is_empty() && !t.starts_with(b"#")
        })
        .map_or(1, |i| i + 1);
    let index = |name: &str| headers.iter().position(|h| h == name);
    let mut at = [0usize; 14];
    for (i, name) in COLUMNS.iter().enumerate() {
        at[i] = index(name).ok_or_else(|| {
            invalid(
                header_line,
                0,
                Some(name),
                format!(
                    "missing column `{name}`; the columns are {}",
                    COLUMNS.join(", ")
                ),
            )
        })?;
    }
    let mut rows = Vec::new();
    for (r, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            invalid(line, r + 1, None, format!("not a readable CSV row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let cell = |c: usize| record.get(at[c]).unwrap_or("");
        let text = |c: usize| -> Result<String, CalibrateError> {
            let v = cell(c);
            if v.is_empty() && c != 7 {
                return Err(invalid(line, r + 1, Some(COLUMNS[c]), "empty cell".into()));
            }
            Ok(v.to_string())
        };
        let count = |c: usize| -> Result<u64, CalibrateError> {
            cell(c)
                .parse::<u64>()
                .ok()
                .filter(|&v| (1..=1 << 24).contains(&v))
                .ok_or_else(|| {
                    invalid(
                        line,
                        r + 1,
                        Some(COLUMNS[c]),
                        format!("expected a whole number from 1 to 2^24, got `{}`", cell(c)),
                    )
                })
        };
        let metric_name = cell(11);
        let Some(&(metric, _, unit)) = ServingMetric::ALL
            .iter()
            .find(|(_, n, _)| *n == metric_name)
        else {
            return Err(invalid(
                line,
                r + 1,
                Some("metric"),
                format!(
                    "unknown metric `{metric_name}`, expected one of {}",
                    ServingMetric::ALL.map(|m| m.1).join(", ")
                ),
            ));
        };
        let given_unit = cell(13);
        let unit_ok = match unit {
            "ms" => given_unit == "ms",
            _ => ["tokens/s", "tok/s", "tokens_per_s"].contains(&given_unit),
        };
        if !unit_ok {
            return Err(invalid(
                line,
                r + 1,
                Some("unit"),
                format!("metric `{metric_name}` is in {unit}, got unit `{given_unit}`"),
            ));
        }
        let value = cell(12)
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| {
                invalid(
                    line,
                    r + 1,
                    Some("value"),
                    format!("expected a positive number, got `{}`", cell(12)),
                )
            })?;
        rows.push(ServingRow {
            line,
            model: text(0)?,
            hardware: text(1)?,
            num_gpus: count(2)?,
            precision: text(3)?,
            tp: count(4)?,
            pp: count(5)?,
            engine: text(6)?,
            engine_version: cell(7).to_string(),
            batch: count(8)?,
            input_len: count(9)?,
            output_len: count(10)?,
            metric,
            value,
        });
    }
    if rows.is_empty() {
        return Err(invalid(
            header_line,
            0,
            None,
            "no measurements after the header".into(),
        ));
    }
    Ok(rows)
}

/// A row predicted, or the reason it cannot be.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServingCase {
    /// The row.
    pub row: ServingRow,
    /// The prediction, in the metric's unit.
    pub predicted: Option<f64>,
    /// 100 (predicted - measured) / measured.
    pub error_pct: Option<f64>,
    /// Why the model cannot represent the row.
    pub unrepresented: Option<String>,
}

/// The system a row ran on: an embedded system of its chip with enough
/// chips in a node, else one node of `tp x pp` of the chip on its own
/// scale-up link (its host link when it has none).
fn system_for(chip: &mlsim_hw::Chip, chips: u64) -> Result<System, String> {
    if let Some(s) = mlsim_hw::system_presets()
        .filter_map(|p| p.load().ok())
        .find(|s| s.chip.name == chip.name && u64::from(s.chips()) >= chips)
    {
        return Ok(s);
    }
    let link = chip
        .interconnect
        .iter()
        .find(|l| l.scope == LinkScope::ScaleUp)
        .or_else(|| chip.interconnect.first())
        .cloned();
    let Some(scale_up) = link else {
        if chips > 1 {
            return Err(format!(
                "chip `{}` has no [[interconnect]] links for {chips} chips",
                chip.name
            ));
        }
        // One chip exchanges nothing: any link will do.
        return Ok(System {
            name: format!("{}-1", chip.name),
            display_name: chip.display_name.clone(),
            chip: chip.clone(),
            chips_per_node: 1,
            nodes: 1,
            scale_up: mlsim_hw::Link {
                name: "none".into(),
                scope: LinkScope::Host,
                bandwidth_bytes_per_s: 1.0,
                links: None,
                latency_s: 0.0,
            },
            topology: Topology::Host,
            network: None,
            sources: Vec::new(),
        });
    };
    Ok(System {
        name: format!("{}-{chips}", chip.name),
        display_name: chip.display_name.clone(),
        chip: chip.clone(),
        chips_per_node: u32::try_from(chips).map_err(|_| "too many chips".to_string())?,
        nodes: 1,
        topology: if scale_up.scope == LinkScope::Host {
            Topology::Host
        } else {
            Topology::Switch
        },
        scale_up,
        network: None,
        sources: Vec::new(),
    })
}

/// Predict one row. Serving engines run decode as CUDA graphs: the chips
/// run the `cuda-graph` framework, timed back to back.
pub fn predict_row(row: &ServingRow) -> Result<f64, String> {
    let cfg = load_model(&row.model).map_err(|e| format!("model: {e}"))?;
    let scheme: Scheme = row
        .precision
        .parse()
        .map_err(|e| format!("precision: {e}"))?;
    let chip = mlsim_hw::load(&row.hardware).map_err(|e| format!("hardware: {e}"))?;
    let par = Parallelism {
        tp: row.tp,
        pp: row.pp,
    };
    if !row.num_gpus.is_multiple_of(par.chips()) {
        return Err(format!(
            "{} GPUs are not whole replicas of tp {} x pp {}",
            row.num_gpus, row.tp, row.pp
        ));
    }
    let replicas = (row.num_gpus / par.chips()) as f64;
    let system = system_for(&chip, par.chips())?;
    let spec = SetupSpec {
        framework: Some("cuda-graph"),
        timing: Some(Timing::BackToBack),
        ..SetupSpec::default()
    };
    let setup =
        mlsim_hw::Setup::with_chip(system.chip.clone(), &spec).map_err(|e| e.to_string())?;
    let p = serve(
        &setup.target(),
        &system,
        &cfg,
        par,
        &scheme,
        row.batch,
        row.input_len,
        row.output_len,
        None,
    )?;
    if !p.fits {
        return Err(format!(
            "{} sequences of {} tokens do not fit next to the weights (the model fits {})",
            row.batch,
            row.input_len + row.output_len,
            p.max_sequences
        ));
    }
    Ok(row.metric.of(&p, replicas))
}

/// Every row predicted (in file order) or set aside with its reason.
pub fn validate_serving(rows: &[ServingRow]) -> Vec<ServingCase> {
    rows.iter()
        .map(|row| match predict_row(row) {
            Ok(predicted) => ServingCase {
                row: row.clone(),
                predicted: Some(predicted),
                error_pct: Some(100.0 * (predicted - row.value) / row.value),
                unrepresented: None,
            },
            Err(reason) => ServingCase {
                row: row.clone(),
                predicted: None,
                error_pct: None,
                unrepresented: Some(reason),
            },
        })
        .collect()
}

/// The error of one metric over the rows predicted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricError {
    /// The metric's name in files.
    pub metric: &'static str,
    /// Rows predicted.
    pub points: usize,
    /// Mean absolute percentage error.
    pub mape_pct: f64,
    /// Mean signed percentage error.
    pub bias_pct: f64,
}

/// MAPE and bias per metric, over the cases predicted, in the metrics'
/// fixed order (metrics without a predicted row left out).
pub fn by_metric(cases: &[ServingCase]) -> Vec<MetricError> {
    ServingMetric::ALL
        .iter()
        .filter_map(|&(metric, name, _)| {
            let errors: Vec<f64> = cases
                .iter()
                .filter(|c| c.row.metric == metric)
                .filter_map(|c| c.error_pct)
                .collect();
            (!errors.is_empty()).then(|| MetricError {
                metric: name,
                points: errors.len(),
                mape_pct: errors.iter().map(|e| e.abs()).sum::<f64>() / errors.len() as f64,
                bias_pct: errors.iter().sum::<f64>() / errors.len() as f64,
            })
        })
        .collect()
}
