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
    /// The model that predicts this chip: `original` (the original
    /// program's, kept for its four chips and parity), `gpu-tiled`,
    /// `cpu-blocked` or `systolic`. Default: the one of `compute.arch`
    /// (`gpu` -> `gpu-tiled`, `simd` and `neon` -> `cpu-blocked`,
    /// `systolic` -> `systolic`).
    #[serde(default)]
    pub model: Option<String>,
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
    /// Used by the original's model; on a `gpu` chip a value above 0 is a
    /// chip-level calibration that replaces the host floor of the framework
    /// (reported as such).
    #[serde(default)]
    pub launch_overhead_us: f64,
    /// The software stack (`stacks/`) that predictions use unless another is
    /// asked for: the kernel library of the chip's generation, e.g.
    /// `cublas-hopper` (an embedded stack's name or a path to a stack file).
    /// Required by every model but the original's.
    #[serde(default)]
    pub default_stack: Option<String>,
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
    /// The links the chip talks to other chips and its host over
    /// (`[[interconnect]]`); none for a chip described without them.
    #[serde(default)]
    pub interconnect: Vec<RawLink>,
    /// How the board's power follows its activity (`[power]`), for
    /// energy per token; needs `power_limit_w`.
    #[serde(default)]
    pub power: Option<RawPower>,
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
    /// Cores, SMs or processing elements (on the original's model, a
    /// systolic array's PE count; on the `systolic` model, the number of
    /// arrays, each `array_edge` x `array_edge`).
    pub units: u32,
    /// Side of each square systolic array in processing elements (the
    /// `systolic` model; 128 for a TPU's MXU). Required there, refused
    /// elsewhere.
    #[serde(default)]
    pub array_edge: Option<u32>,
    /// fp32 lanes per unit.
    pub simd_width: u32,
    /// Dense fp32 peak in TFLOP/s.
    pub peak_fp32_tflops: f64,
    /// Share of the peak sustained on well-shaped kernels, in (0, 1].
    pub efficiency: f64,
    /// Share of memory stall cycles hidden behind compute, in [0, 1).
    pub memory_overlap: f64,
    /// Throughput multiplier over fp32 per dtype (`fp16 = 2.0`); a dtype
    /// that is absent runs at the fp32 rate. Used where a dtype has no
    /// compute path (the original's model, and CPU chips that give
    /// multipliers instead of paths).
    #[serde(default)]
    pub dtype_speedup: BTreeMap<String, f64>,
    /// Compute paths per dtype (`[compute.paths.fp16]`): every model but
    /// the original's (required, with a native fp32 path, on `gpu-tiled`
    /// and `systolic`).
    #[serde(default)]
    pub paths: BTreeMap<String, RawPath>,
}

/// `[compute.paths.<dtype>]`: the hardware a dtype's GEMM runs on. A native
/// path has its own datasheet `peak_tflops`; a path without hardware
/// support names the native path it runs through in `emulated_by`. What a
/// kernel library makes of the path (share of peak, tiles, output width)
/// belongs to the software stack (`stacks/`); the same fields here are a
/// chip-level calibration that overrides the stack's, reported as such.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawPath {
    /// Dense peak in TFLOP/s (TOP/s for integers) at `peak_clock_ghz`
    /// (native paths), with FP32 accumulation where the datasheet gives
    /// both.
    #[serde(default)]
    pub peak_tflops: Option<f64>,
    /// The clock in GHz the datasheet's peak refers to, where it is not
    /// `frequency_ghz` (H100: tensor-core peaks at 1.83 GHz, FP32 at the
    /// 1.98 GHz boost).
    #[serde(default)]
    pub peak_clock_ghz: Option<f64>,
    /// Dense peak in TFLOP/s with FP16 accumulation, where the datasheet
    /// gives a second, higher figure (GeForce parts run FP16 and FP8 with
    /// FP32 accumulation at half rate). A stack whose path accumulates in
    /// fp16 uses it.
    #[serde(default)]
    pub half_accumulate_peak_tflops: Option<f64>,
    /// `tensor` (matrix units) or `vector` (SIMT lanes); default `vector`
    /// for fp32, `tensor` otherwise. The power model uses it.
    #[serde(default)]
    pub unit: Option<String>,
    /// The native dtype path this dtype runs through (non-native paths),
    /// e.g. `"fp32"` for bf16 on a GPU without bf16 tensor cores.
    #[serde(default)]
    pub emulated_by: Option<String>,
    /// Clock in GHz this path sustains under a long GEMM, where a source
    /// states it (or a fit set it); default: from the power model
    /// (docs/model/sustained-clock.md), which needs `base_clock_ghz` and
    /// `power_limit_w`, else the boost clock.
    #[serde(default)]
    pub sustained_clock_ghz: Option<f64>,
    /// fp32 operations spent converting each loaded element to the
    /// emulating path's format (non-native paths), default 0.
    #[serde(default)]
    pub convert_flops_per_element: Option<f64>,
    /// Chip-level calibration: output tiles `[rows, cols]`, replacing the
    /// stack's for this path.
    #[serde(default)]
    // Read as lists so a tile of three numbers is an error, not cut to two.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<[u32; 2]>"))]
    pub tiles: Vec<Vec<u32>>,
    /// Chip-level calibration: share of the sustained peak a large GEMM
    /// reaches on this path, in (0, 1], replacing the stack's.
    #[serde(default)]
    pub efficiency: Option<f64>,
    /// Chip-level calibration: bytes per output element, replacing the
    /// stack's.
    #[serde(default)]
    pub output_bytes: Option<f64>,
    /// Chip-level calibration: host cost per call of this dtype's entry
    /// point in microseconds, replacing the host floor.
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
    /// A level private to each core (a CPU's L1 and L2): `size_kib` and
    /// `bandwidth_gb_s` are one core's, and the CPU model multiplies them by
    /// the cores a call uses. Default false: the values are the chip's
    /// (shared L3, DRAM, HBM, a GPU's levels).
    #[serde(default)]
    pub per_core: bool,
    /// Whether a plain store to a line that is not in L1 costs this level a
    /// read of the line before it is written (write-allocate), at this
    /// level's bandwidth: the CPU model then counts a plain-store kernel's
    /// written bytes twice here (STREAM's scale, add and triad; not copy's
    /// `memcpy`). Default true. Model `cpu-blocked` only, and only a cache
    /// after the first (L2, L3): L1 holds the lines being written, and main
    /// memory's bandwidth is STREAM's counted rate, the read inside it.
    /// `mlsim hw memory` measures it: false where scale, add and triad run
    /// as fast as copy at this level (the Zen 4 dev guest's caches).
    #[serde(default)]
    pub plain_store_reads_line: Option<bool>,
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

/// A kernel-library stack file (`stacks/*.toml` with `kind = "library"`):
/// what a GEMM library, reached through a framework's entry points, makes
/// of one chip generation. Values come from measurements on one chip of the
/// generation and transfer to the others; `mlsim calibrate` writes them.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    /// Short identifier, lower-case with dashes (`cublas-hopper`). For a file
    /// under `stacks/` it must equal the file name without `.toml`.
    pub name: String,
    /// Human-readable label.
    pub display_name: String,
    /// `library` (this schema) or `framework` (the host side: see
    /// [`RawFramework`]).
    pub kind: String,
    /// The chip generation the values were measured on or are meant for
    /// (`turing`, `ampere`, `ada`, `hopper`, `cdna`, ...), in words.
    pub generation: String,
    /// Where the numbers come from: measurements, papers, library
    /// documentation (at least one entry).
    pub sources: Vec<String>,
    /// What was fitted to measurements, on what data (`[calibration]`).
    #[serde(default)]
    pub calibration: Option<RawCalibration>,
    /// Share of a path's sustained peak a large GEMM reaches, in (0, 1],
    /// for dtypes without their own `[paths.<dtype>]` entry.
    pub efficiency: f64,
    /// Output tiles `[rows, cols]` of the library's kernels, for dtypes
    /// without their own list; the model picks the fastest for each shape.
    // Read as lists so a tile of three numbers is an error, not cut to two.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<[u32; 2]>"))]
    pub tiles: Vec<Vec<u32>>,
    /// The GPU-side terms of one kernel (`[kernel]`).
    pub kernel: RawKernel,
    /// Share of each memory level's datasheet bandwidth the library's
    /// kernels reach, by level name (`L2 = 0.8`) or `main` for the chip's
    /// last level (`[memory_share]`); 1 for levels not listed.
    #[serde(default)]
    pub memory_share: BTreeMap<String, f64>,
    /// Per-dtype kernels (`[paths.fp16]`).
    #[serde(default)]
    pub paths: BTreeMap<String, RawStackPath>,
    /// The host floor of the machine a fitted stack was measured on
    /// (`[host]`); replaces the framework's when present.
    #[serde(default)]
    pub host: Option<RawHostOverride>,
    /// What the library's kernels spend dequantizing a format the chip
    /// has no path for (`[dequantize]`): required, so that no stack
    /// converts for free by omission (0 and 0 say so explicitly).
    pub dequantize: RawDequantize,
}

/// `[dequantize]`: the work the library's kernels do per element loaded to
/// turn a format the chip has no path of its own for (fp8 on Ampere, MXFP4
/// on Hopper) into the format of the path that runs it
/// (docs/model/dequantization.md). Counted in fp32 operations, run on the
/// chip's fp32 lanes.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawDequantize {
    /// Operations per element to decode it into the wider format.
    pub convert_flops_per_element: f64,
    /// Further operations per element of a block-scaled format (MXFP8/6/4,
    /// NVFP4): applying its block's scale.
    pub scale_flops_per_element: f64,
}

/// `[kernel]`: what one kernel costs on the GPU beyond its arithmetic and
/// memory traffic (docs/model/kernel-floor.md).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawKernel {
    /// GPU-side time of a kernel that does no work, in microseconds: block
    /// scheduling, prologue set-up, epilogue flush and completion.
    pub fixed_us: f64,
    /// K-slices a thread block keeps in flight (the software pipeline's
    /// depth); a K loop cannot go faster than one slice per main-memory
    /// latency divided by this.
    pub pipeline_stages: u32,
    /// Depth of one K-slice in bytes per operand row (128 bytes: 32 fp32,
    /// 64 fp16, 128 fp8 elements).
    pub k_slice_bytes: f64,
    /// Whether the library splits K across thread blocks when the output
    /// tiles alone leave SMs idle (split-K / stream-K).
    #[serde(default)]
    pub split_k: bool,
    /// Most K-splits of one GEMM; without it, as many as fill the SMs.
    #[serde(default)]
    pub max_split_k: Option<u32>,
    /// Share of main-memory bandwidth the library reaches while packing
    /// the operands of a GEMM (short runs a matrix row apart), in (0, 1];
    /// default 1. Used by the `cpu-blocked` model.
    #[serde(default)]
    pub pack_main_memory_share: Option<f64>,
}

/// `[paths.<dtype>]`: the library's kernels for one dtype.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawStackPath {
    /// Share of the path's sustained peak a large GEMM reaches, in (0, 1];
    /// default the stack's `efficiency`.
    #[serde(default)]
    pub efficiency: Option<f64>,
    /// Output tiles; default the stack's `tiles`.
    #[serde(default)]
    // Read as lists so a tile of three numbers is an error, not cut to two.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<[u32; 2]>"))]
    pub tiles: Vec<Vec<u32>>,
    /// Bytes per output element (default: the dtype's own; int8 GEMMs
    /// usually write int32, 4).
    #[serde(default)]
    pub output_bytes: Option<f64>,
    /// `fp32` (default) or `fp16`: the accumulator, which selects the
    /// chip's `half_accumulate_peak_tflops` where it has one.
    #[serde(default)]
    pub accumulate: Option<String>,
    /// Whether these kernels split K across thread blocks; default the
    /// stack's `kernel.split_k`.
    #[serde(default)]
    pub split_k: Option<bool>,
    /// The entry point these kernels are reached through, in words
    /// (`torch._int_mm`).
    #[serde(default)]
    pub entry_point: Option<String>,
    /// Cycles of one core per element the library converts one at a time
    /// for a dtype the chip emulates (fp16 on a CPU without fp16
    /// arithmetic): an operand packed element by element and the output
    /// stored in the dtype after each k block. Used by the `cpu-blocked`
    /// model; without it, conversion is vectorised at the chip path's
    /// `convert_flops_per_element` (docs/model/cpu-blocked.md).
    #[serde(default)]
    pub convert_cycles_per_element: Option<f64>,
    /// Threads a GEMV (M = 1 or N = 1) in this dtype runs on where the
    /// library caps them (the gemm crate runs its GEMVs on one); default:
    /// as any call. Used by the `cpu-blocked` model.
    #[serde(default)]
    pub gemv_threads: Option<u32>,
    /// The dtype whose path this library computes the dtype through even
    /// where the chip has a path of its own (`"fp32"`: gemm-f16 0.19 runs
    /// fp16 through fp32 kernels on x86, AVX512-FP16 or not); default: the
    /// chip's path. Converted as an emulated dtype is.
    #[serde(default)]
    pub runs_as: Option<String>,
}

/// `[host]` of a stack file: the host floor of the machine it was fitted on.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawHostOverride {
    /// The host floor per call, microseconds (as a framework's
    /// `host_floor_us`).
    #[serde(default)]
    pub floor_us: Option<f64>,
    /// Host time a per-call timing loop adds per call, microseconds (as a
    /// framework's `timing_overhead_us`).
    #[serde(default)]
    pub timing_overhead_us: Option<f64>,
}

/// A framework file (`stacks/*.toml` with `kind = "framework"`): the host
/// side of a prediction, what the caller's software costs per GEMM call.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawFramework {
    /// Short identifier (`pytorch-eager`), the file name without `.toml`.
    pub name: String,
    /// Human-readable label.
    pub display_name: String,
    /// `framework`.
    pub kind: String,
    /// Where the numbers come from (at least one entry).
    pub sources: Vec<String>,
    /// The host floor, microseconds: host time from a call's start to its
    /// kernel's launch (Python, dispatch, library heuristics, the launch),
    /// what a call whose kernel takes no time measures when timed on its
    /// own.
    pub host_floor_us: f64,
    /// Host time per call that a loop timing each call adds beyond the call
    /// itself (recording a pair of CUDA events, the loop), microseconds:
    /// it decides when queued calls start to hide the host.
    pub timing_overhead_us: f64,
    /// GPU idle time between two queued kernels, microseconds.
    pub gpu_gap_us: f64,
    /// One dtype's entry point's host floor over the others', a factor of
    /// at least 1 (`fp8_e4m3 = 1.2`: `torch._scaled_mm` does more per call
    /// than `torch.mm`; a factor, because the whole floor scales with the
    /// host's speed).
    #[serde(default)]
    pub dtype_floor_factor: BTreeMap<String, f64>,
}

/// `[[interconnect]]`: one kind of link a chip talks to other chips or its
/// host over (NVLink, Infinity Fabric, ICI, PCIe), all links of that kind
/// together (docs/model/collectives.md).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    /// Name that system files refer to (`NVLink 4`, `PCIe Gen5 x16`).
    pub name: String,
    /// `scale-up` (chip to chip inside a node or pod) or `host` (to the
    /// CPU; chips without a scale-up link talk to each other through it).
    pub scope: String,
    /// Bandwidth of one direction, all links of this kind together, GB/s
    /// (datasheets often print both directions added: halve them).
    pub bandwidth_gb_s: f64,
    /// Number of links, where the datasheet states it.
    #[serde(default)]
    pub links: Option<u32>,
    /// Start-up time of one step of a collective over these links, in
    /// microseconds: the library's synchronisation and the wire's latency.
    pub latency_us: f64,
}

/// A system file (`systems/NAME.toml`): chips in nodes, how the chips of
/// a node are connected and the network between nodes.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawSystem {
    /// Short identifier, the file name without `.toml` (`hgx-h100-8`).
    pub name: String,
    /// Label for tables.
    pub display_name: String,
    /// Always `system`.
    pub kind: String,
    /// The chip: a preset name or a chip file path.
    pub chip: String,
    /// Chips in one node (one scale-up domain).
    pub chips_per_node: u32,
    /// Nodes (default 1).
    #[serde(default)]
    pub nodes: Option<u32>,
    /// The chip's `[[interconnect]]` entry the chips of a node talk over.
    pub scale_up: String,
    /// How the node's chips are wired: `switch` (every pair at full
    /// bandwidth through switches, NVSwitch), `fully-connected` (a direct
    /// link to every peer, Infinity Fabric), `torus` (neighbours only,
    /// ICI) or `host` (through the host's PCIe).
    pub topology: String,
    /// Where the numbers come from.
    pub sources: Vec<String>,
    /// The network between nodes (`[network]`); required when `nodes` > 1.
    #[serde(default)]
    pub network: Option<RawNetwork>,
}

/// `[network]`: the scale-out network of a node.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Name, in words (`InfiniBand NDR`).
    pub name: String,
    /// Network adapters per node.
    pub nics_per_node: u32,
    /// Line rate of one adapter, Gb/s per direction (400 for NDR).
    pub gbit_s_per_nic: f64,
    /// Start-up time of one step of a collective across nodes, microseconds.
    pub latency_us: f64,
}

/// `[power]`: the board's draw between idle and its power limit
/// (docs/model/energy.md).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawPower {
    /// Watts the board draws doing nothing (clocks up, memory refreshing).
    pub idle_w: f64,
    /// Share of the power above idle that streaming memory at its full
    /// bandwidth adds, in [0, 1] (the rest follows the math units).
    pub memory_share: f64,
}
