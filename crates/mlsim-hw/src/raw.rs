//! The wire format of a chip file: what serde reads from TOML, unchecked.
//!
//! Field doc comments here are the schema's documentation (presets/README.md
//! is written from them). Every struct denies unknown fields, so a typo is an
//! error, never a silently ignored value.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A chip file.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawChip {
    /// Short identifier, lower-case with dashes (`t4-seed`). For a file under
    /// `presets/` it must equal the file name without `.toml`.
    pub name: String,
    /// Human-readable label used in tables (`"GPU (T4)"`).
    pub display_name: String,
    /// `cpu`, `gpu` or `npu`.
    pub kind: String,
    /// Clock frequency in GHz used to turn cycles into time (for a GPU:
    /// the boost clock its datasheet peaks refer to).
    pub frequency_ghz: f64,
    /// Guaranteed (base) clock in GHz, where the vendor states one.
    #[serde(default)]
    pub base_clock_ghz: Option<f64>,
    /// Board power limit in watts, where the vendor states one.
    #[serde(default)]
    pub power_limit_w: Option<f64>,
    /// Fixed cost per kernel launch or dispatch, in microseconds (default 0).
    #[serde(default)]
    pub launch_overhead_us: f64,
    /// Where the numbers come from: datasheets, papers, measurements (at
    /// least one entry).
    pub sources: Vec<String>,
    /// What was fitted to measurements, on what data (`[calibration]`);
    /// absent for a datasheet-only chip.
    #[serde(default)]
    pub calibration: Option<RawCalibration>,
    /// The compute unit.
    pub compute: RawCompute,
    /// Memory levels, fastest (highest bandwidth) first, at least one.
    pub memory: Vec<RawMemoryLevel>,
    /// Quantization overhead terms per dtype (`[quantization.int8]`).
    #[serde(default)]
    pub quantization: BTreeMap<String, RawQuantCost>,
}

/// `[calibration]`: the record of a fit. `mlsim calibrate` writes it.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawCalibration {
    /// What was done, in words.
    pub note: String,
    /// Field paths of the fitted values (`compute.efficiency`).
    #[serde(default)]
    pub fitted: Vec<String>,
    /// The measurement file fitted on.
    #[serde(default)]
    pub measurements: Option<String>,
    /// When (ISO 8601 date).
    #[serde(default)]
    pub date: Option<String>,
    /// Mean absolute percentage error on the fitted points.
    #[serde(default)]
    pub in_sample_mape_pct: Option<f64>,
    /// Median absolute percentage error on the fitted points.
    #[serde(default)]
    pub in_sample_median_ape_pct: Option<f64>,
    /// Cross-validation scheme of the next two fields.
    #[serde(default)]
    pub cv: Option<String>,
    /// Mean absolute percentage error on held-out points.
    #[serde(default)]
    pub cv_mape_pct: Option<f64>,
    /// Median absolute percentage error on held-out points.
    #[serde(default)]
    pub cv_median_ape_pct: Option<f64>,
}

/// `[compute]`: the compute unit.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawCompute {
    /// `simd` (x86 vector units), `neon` (Arm vector units), `systolic`
    /// (NPU/TPU arrays; GPUs in the original model) or `gpu` (SMs running
    /// tiled library kernels: the tiled model, which needs `[compute.paths]`).
    pub arch: String,
    /// Cores, SMs or processing elements (a systolic array's PE count).
    pub units: u32,
    /// fp32 lanes per unit.
    pub simd_width: u32,
    /// Dense fp32 peak in TFLOP/s.
    pub peak_fp32_tflops: f64,
    /// Share of the peak sustained on well-shaped kernels, in (0, 1].
    pub efficiency: f64,
    /// Share of memory stall cycles hidden behind compute, in [0, 1).
    pub memory_overlap: f64,
    /// Throughput multiplier over fp32 per dtype (`fp16 = 2.0`); a dtype
    /// that is absent runs at the fp32 rate. Used by the original's model
    /// (arch simd, neon, systolic).
    #[serde(default)]
    pub dtype_speedup: BTreeMap<String, f64>,
    /// Compute paths per dtype (`[compute.paths.fp16]`), for arch `gpu`.
    #[serde(default)]
    pub paths: BTreeMap<String, RawPath>,
}

/// `[compute.paths.<dtype>]`: how a dtype's GEMM runs. A native path has
/// its own `peak_tflops` and `tiles`; a path without hardware support names
/// the native path it runs through in `emulated_by`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawPath {
    /// Dense peak in TFLOP/s (TOP/s for integers) at `frequency_ghz`
    /// (native paths).
    #[serde(default)]
    pub peak_tflops: Option<f64>,
    /// The native dtype path this dtype runs through (non-native paths),
    /// e.g. `"fp32"` for bf16 on a GPU without bf16 tensor cores.
    #[serde(default)]
    pub emulated_by: Option<String>,
    /// Clock in GHz this path sustains under a long GEMM (power-capped
    /// parts run below boost); default `frequency_ghz`.
    #[serde(default)]
    pub sustained_clock_ghz: Option<f64>,
    /// Output tiles `[rows, cols]` the library's kernels use for this dtype,
    /// largest first (required for native paths; an emulated path without
    /// tiles uses those of the path it runs through); the model picks the
    /// fastest for each shape.
    #[serde(default)]
    pub tiles: Vec<[u32; 2]>,
    /// Share of the peak a large GEMM reaches on this path, in (0, 1];
    /// default `compute.efficiency`.
    #[serde(default)]
    pub efficiency: Option<f64>,
    /// Bytes per output element (default: the dtype's own; int8 GEMMs
    /// usually write int32, 4).
    #[serde(default)]
    pub output_bytes: Option<f64>,
    /// fp32 operations spent converting each loaded element to the
    /// emulating path's format (non-native paths), default 0.
    #[serde(default)]
    pub convert_flops_per_element: Option<f64>,
    /// Launch and dispatch cost of this dtype's library entry point in
    /// microseconds, when it differs from the chip's `launch_overhead_us`
    /// (e.g. int8 GEMMs dispatched through cuBLASLt with a heuristic query).
    #[serde(default)]
    pub launch_overhead_us: Option<f64>,
}

/// `[[memory]]`: one level of the memory hierarchy.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawMemoryLevel {
    /// Level name (`L1`, `L2`, `L3`, `SRAM`, `HBM`, `DRAM`), unique.
    pub name: String,
    /// Capacity in KiB (1024 bytes).
    pub size_kib: f64,
    /// Cache line (or burst) size in bytes.
    pub line_bytes: u32,
    /// Set associativity (1 for DRAM).
    pub associativity: u32,
    /// Hit latency in cycles.
    pub latency_cycles: f64,
    /// Bandwidth in GB/s (1e9 bytes per second).
    pub bandwidth_gb_s: f64,
    /// Cycles charged per line that misses this level. Only the last level's
    /// value is used: bytes that miss every level pay it.
    pub miss_penalty_cycles: f64,
}

/// `[quantization.<dtype>]`: the original model's overhead terms.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawQuantCost {
    /// Share of the work that needs dequantization, in [0, 1].
    pub dequant_fraction: f64,
    /// Cycles per dequantized element, at least 0.
    pub dequant_cycles_per_element: f64,
    /// Multiplier (at least 1) for a non-native data layout.
    pub layout_penalty: f64,
    /// Scale storage as a share of the quantized bytes, in [0, 1).
    pub scale_storage_fraction: f64,
    /// Whether a wider accumulation buffer is needed (default false).
    #[serde(default)]
    pub accumulation_buffer: bool,
}
