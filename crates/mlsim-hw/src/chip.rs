//! The validated chip description the model works with.

use std::fmt;

use mlsim_quant::{Dtype, DtypeMap, QuantCost};
use mlsim_roofline::{Ceiling, HierarchicalRoofline, Roofline};

/// What kind of device a chip is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChipKind {
    /// A general-purpose processor.
    Cpu,
    /// A GPU.
    Gpu,
    /// A neural processing unit or TPU.
    Npu,
}

impl ChipKind {
    /// Lower-case name as written in chip files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
            Self::Npu => "npu",
        }
    }
}

impl fmt::Display for ChipKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The compute architecture, which picks the tiling rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputeArch {
    /// x86 SIMD vector units (AVX2, AVX-512).
    Simd,
    /// Arm NEON vector units.
    Neon,
    /// A systolic array of processing elements (NPU/TPU; GPUs in the
    /// original model).
    Systolic,
    /// GPU streaming multiprocessors running tiled library GEMM kernels
    /// (mlsim's tiled model; needs compute paths).
    Gpu,
}

impl ComputeArch {
    /// Lower-case name as written in chip files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simd => "simd",
            Self::Neon => "neon",
            Self::Systolic => "systolic",
            Self::Gpu => "gpu",
        }
    }
}

/// The model that predicts a chip (the chip file's `model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChipModel {
    /// The original program's model, kept bit-exact for its four chips
    /// (memory never adds time beyond its stall cascade).
    Original,
    /// mlsim's tiled GPU model: output tiles in waves over SMs.
    GpuTiled,
    /// mlsim's CPU model: a cache-blocked GEMM over cores, traffic and
    /// time at every memory level.
    CpuBlocked,
    /// mlsim's systolic-array model (NPU, TPU): padded array passes,
    /// traffic at on-chip SRAM and HBM.
    Systolic,
}

impl ChipModel {
    /// Every model, in the order `mlsim presets list` shows them.
    pub const ALL: [ChipModel; 4] = [
        Self::Original,
        Self::GpuTiled,
        Self::CpuBlocked,
        Self::Systolic,
    ];

    /// Name as written in chip files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::GpuTiled => "gpu-tiled",
            Self::CpuBlocked => "cpu-blocked",
            Self::Systolic => "systolic",
        }
    }

    /// The model a chip file without `model` gets: the one of its arch.
    pub fn for_arch(arch: ComputeArch) -> Self {
        match arch {
            ComputeArch::Gpu => Self::GpuTiled,
            ComputeArch::Simd | ComputeArch::Neon => Self::CpuBlocked,
            ComputeArch::Systolic => Self::Systolic,
        }
    }

    /// Whether predictions read a software stack, a framework and a timing
    /// method (every model but the original's).
    pub fn uses_stack(self) -> bool {
        self != Self::Original
    }
}

impl fmt::Display for ChipModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a dtype's GEMM runs on a GPU: the hardware path, and chip-level
/// calibrations of what the software stack would otherwise decide.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComputePath {
    /// Native hardware path or emulation through another path.
    pub kind: PathKind,
    /// Matrix (tensor) units or vector (SIMT) lanes.
    pub unit: PathUnit,
    /// fp32 operations per loaded element for conversion (emulated paths).
    pub convert_flops_per_element: f64,
    /// Chip-level calibration of the share of the sustained peak a large
    /// GEMM reaches (`None`: the stack's).
    pub efficiency: Option<f64>,
    /// Chip-level calibration of the bytes per output element (`None`: the
    /// stack's).
    pub output_bytes: Option<f64>,
    /// Chip-level calibration of the kernel tiles `(rows, cols)`, largest
    /// first (empty: the stack's).
    pub tiles: Vec<(u32, u32)>,
    /// Chip-level calibration of the host cost per call of this dtype's
    /// entry point, seconds (`None`: the framework's).
    pub launch_overhead_s: Option<f64>,
}

impl ComputePath {
    /// Field names of the chip-level calibrations this path carries.
    pub fn calibrated_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.efficiency.is_some() {
            out.push("efficiency");
        }
        if self.output_bytes.is_some() {
            out.push("output_bytes");
        }
        if !self.tiles.is_empty() {
            out.push("tiles");
        }
        if self.launch_overhead_s.is_some() {
            out.push("launch_overhead_us");
        }
        out
    }
}

/// Which hardware units a path runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathUnit {
    /// Matrix units (tensor cores, matrix cores, MXUs).
    Tensor,
    /// Vector (SIMT) lanes.
    Vector,
}

/// Where a native path's sustained clock comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockSource {
    /// Stated in the chip file (`sustained_clock_ghz`: a source, or a fit).
    Given,
    /// Derived from the base clock and power limit (`crate::power`).
    PowerModel,
    /// The boost clock: the chip file gives no base clock or power limit.
    Boost,
}

/// Native or emulated.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PathKind {
    /// Runs on hardware built for this dtype.
    Native {
        /// The clock the datasheet peaks refer to, Hz.
        peak_clock_hz: f64,
        /// The rate with FP32 accumulation (the datasheet's main figure).
        rate: PathRate,
        /// The rate with FP16 accumulation, where the datasheet gives a
        /// second, higher figure (GeForce fp16 and fp8).
        half_accumulate: Option<PathRate>,
    },
    /// Runs through another dtype's native path.
    Emulated {
        /// The native path used.
        via: Dtype,
    },
}

/// A datasheet peak and the clock a long GEMM sustains at it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PathRate {
    /// Dense peak at the path's peak clock, FLOP/s.
    pub peak_flops: f64,
    /// The clock a long GEMM sustains, Hz: as given, the boost clock, or
    /// (power model) the clock of a kernel running the path at its full
    /// peak per cycle; a kernel doing less per cycle draws less power and
    /// may run faster ([`Chip::kernel_clock_hz`]).
    pub sustained_clock_hz: f64,
    /// Where `sustained_clock_hz` comes from.
    pub clock_source: ClockSource,
    /// Operand bits the path processes per cycle at its peak (per chip;
    /// the power model's measure of its activity).
    pub bits_per_cycle: f64,
}

/// The power cap of a chip whose file gives a base clock and a power
/// limit: the base clock holds the heaviest path at the limit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PowerCap {
    /// The base clock, Hz.
    pub base_hz: f64,
    /// Bits per cycle of the heaviest native path.
    pub heaviest_bits_per_cycle: f64,
}

impl PathKind {
    /// The rate and its peak clock a kernel runs at: the FP16-accumulate
    /// rate when `half_accumulate` and the datasheet gives one. `None` for
    /// an emulated path.
    pub fn rate(&self, half_accumulate: bool) -> Option<(&PathRate, f64)> {
        match self {
            PathKind::Native {
                peak_clock_hz,
                rate,
                half_accumulate: half,
            } => Some(match (half_accumulate, half) {
                (true, Some(h)) => (h, *peak_clock_hz),
                _ => (rate, *peak_clock_hz),
            }),
            PathKind::Emulated { .. } => None,
        }
    }
}

/// One memory level. Sizes in bytes, bandwidth in bytes/s.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemoryLevel {
    /// Level name, unique within the chip.
    pub name: String,
    /// Capacity in bytes.
    pub size_bytes: f64,
    /// Line size in bytes.
    pub line_bytes: u32,
    /// Set associativity.
    pub associativity: u32,
    /// Hit latency in cycles.
    pub latency_cycles: f64,
    /// Bandwidth in bytes per second.
    pub bandwidth_bytes_per_s: f64,
    /// Cycles per line that misses this level.
    pub miss_penalty_cycles: f64,
    /// Private to each core: size and bandwidth are one core's.
    pub per_core: bool,
    /// A plain store that misses L1 reads its line from this level first,
    /// at this level's bandwidth (a cache after the first, model
    /// `cpu-blocked`; true elsewhere, where it is not read).
    pub plain_store_reads_line: bool,
}

impl MemoryLevel {
    /// Capacity available to `cores` cores working together, bytes.
    pub fn capacity_for(&self, cores: f64) -> f64 {
        if self.per_core {
            self.size_bytes * cores
        } else {
            self.size_bytes
        }
    }

    /// Bandwidth available to `cores` cores working together, bytes/s.
    pub fn bandwidth_for(&self, cores: f64) -> f64 {
        if self.per_core {
            self.bandwidth_bytes_per_s * cores
        } else {
            self.bandwidth_bytes_per_s
        }
    }
}

/// The compute unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComputeUnit {
    /// Architecture.
    pub arch: ComputeArch,
    /// Cores, SMs or processing elements.
    pub units: u32,
    /// fp32 lanes per unit.
    pub simd_width: u32,
    /// Dense fp32 peak in FLOP/s.
    pub peak_fp32_flops: f64,
    /// Edge of the square systolic array: the file's `array_edge` (the
    /// `systolic` model), else `floor(sqrt(units))` (the original's
    /// systolic tiling rule).
    pub systolic_edge: f64,
    /// Achievable share of the peak, in (0, 1].
    pub efficiency: f64,
    /// Share of stall cycles hidden, in [0, 1).
    pub memory_overlap: f64,
    /// Throughput multiplier over fp32 per dtype.
    pub dtype_speedup: DtypeMap<f64>,
    /// Compute paths per dtype (every model but the original's; may be
    /// empty on a CPU, whose dtypes then run at `dtype_speedup`).
    pub paths: DtypeMap<ComputePath>,
}

impl ComputeUnit {
    /// The multiplier for `dtype`: 1.0 when the chip file gives none.
    pub fn speedup(&self, dtype: Dtype) -> f64 {
        self.dtype_speedup.get(dtype).copied().unwrap_or(1.0)
    }
}

/// A validated chip: every number finite and in its physical range, at
/// least one memory level, levels ordered fastest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Chip {
    /// Short identifier (`t4-seed`).
    pub name: String,
    /// Label for tables (`GPU (T4)`).
    pub display_name: String,
    /// Device kind.
    pub kind: ChipKind,
    /// The model that predicts it.
    pub model: ChipModel,
    /// Clock in Hz (for a GPU, the boost clock its peaks refer to).
    pub frequency_hz: f64,
    /// Guaranteed base clock in Hz, where stated.
    pub base_clock_hz: Option<f64>,
    /// Board power limit in W, where stated.
    pub power_limit_w: Option<f64>,
    /// Fixed cost per kernel launch in seconds (the original's model; on a
    /// `gpu` chip a value above 0 is a chip-level calibration of the host
    /// floor).
    pub launch_overhead_s: f64,
    /// The software stack predictions use by default (a stack name or a
    /// path), where the chip file names one.
    pub default_stack: Option<String>,
    /// Where the numbers come from.
    pub sources: Vec<String>,
    /// What was fitted, if anything.
    pub calibration: Option<crate::raw::RawCalibration>,
    /// The compute unit.
    pub compute: ComputeUnit,
    /// Memory levels, fastest first; never empty.
    pub memory: Vec<MemoryLevel>,
    /// Quantization overhead terms per dtype.
    pub quantization: DtypeMap<QuantCost>,
    /// The power cap, where the file gives a base clock and a power limit.
    pub power_cap: Option<PowerCap>,
    /// Links to other chips and the host (empty where the file gives none).
    pub interconnect: Vec<crate::interconnect::Link>,
    /// How the board's power follows its activity, where the file says.
    pub power: Option<BoardPower>,
}

/// A board's power between idle and its limit: P = idle + (limit - idle) x
/// min(1, compute activity + memory_share x memory activity)
/// (docs/model/energy.md).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BoardPower {
    /// Watts doing nothing.
    pub idle_w: f64,
    /// The power limit, watts.
    pub limit_w: f64,
    /// Share of the power above idle that memory at full bandwidth adds.
    pub memory_share: f64,
}

impl BoardPower {
    /// Watts at `compute` (achieved / peak FLOP/s) and `memory` (achieved /
    /// peak main-memory bandwidth) activity, each clamped to [0, 1].
    pub fn watts(&self, compute: f64, memory: f64) -> f64 {
        let activity = compute.clamp(0.0, 1.0) + self.memory_share * memory.clamp(0.0, 1.0);
        self.idle_w + (self.limit_w - self.idle_w) * activity.min(1.0)
    }
}

impl Chip {
    /// The last (slowest, largest) memory level: DRAM or HBM.
    pub fn main_memory(&self) -> &MemoryLevel {
        self.memory
            .last()
            .expect("validated chips have at least one memory level")
    }

    /// The native path a dtype runs on (itself, or the path it is
    /// emulated by, or the library's dequantize path when the chip has no
    /// path for it: see [`Chip::fallback_path`]) and whether it is native.
    /// `None` for chips without compute paths.
    pub fn resolve_path(&self, dtype: Dtype) -> Option<(Dtype, &ComputePath, bool)> {
        let own = self.compute.paths.get(dtype);
        match own.map(|p| &p.kind) {
            Some(PathKind::Native { .. }) => Some((dtype, own.expect("matched"), true)),
            Some(PathKind::Emulated { via }) => {
                self.compute.paths.get(*via).map(|p| (*via, p, false))
            }
            None => {
                let via = self.fallback_path(dtype);
                self.compute
                    .paths
                    .get(via)
                    .map(|p| (via, p, dtype == Dtype::Fp32))
            }
        }
    }

    /// The path a dtype without one of its own runs on: a float format
    /// narrower than fp32 is dequantized to the narrowest native float
    /// path that holds each of its values exactly (fp8 to fp16 on Ampere,
    /// fp4 and fp6 to fp8 e4m3 on Hopper), as the libraries that serve
    /// such weights do; a block-scaled format to the first native one of
    /// its [`BlockScaling::dequantized_formats`] (MXFP4 to bf16 on Hopper:
    /// an fp8 path cannot hold the scaled values); integers, fp16 without
    /// a path of its own where only bf16 is native, and everything else run
    /// on fp32.
    ///
    /// [`BlockScaling::dequantized_formats`]: mlsim_quant::BlockScaling::dequantized_formats
    pub fn fallback_path(&self, dtype: Dtype) -> Dtype {
        if dtype.element_bits() >= 32 {
            return Dtype::Fp32;
        }
        let native = |d: Dtype| self.has_native_path(d);
        if let Some(scaling) = dtype.block_scaling() {
            return scaling
                .dequantized_formats()
                .iter()
                .copied()
                .find(|d| native(*d))
                .unwrap_or(Dtype::Fp32);
        }
        Dtype::ALL
            .into_iter()
            .filter(|d| {
                d.block_scaling().is_none()
                    && d.element_bits() <= 32
                    && dtype.fits_exactly_in(*d)
                    && native(*d)
            })
            // Narrowest first; among equals the first in `Dtype::ALL`.
            .min_by_key(|d| (d.element_bits(), d.index()))
            .unwrap_or(Dtype::Fp32)
    }

    /// Whether the file gives `dtype` a native path of its own (a
    /// datasheet peak).
    pub fn has_native_path(&self, dtype: Dtype) -> bool {
        matches!(
            self.compute.paths.get(dtype).map(|p| &p.kind),
            Some(PathKind::Native { .. })
        )
    }

    /// The chip's own variant of an fp8 format: CDNA 3 computes fp8 only
    /// in the FNUZ encodings, which is what a framework's "fp8" means
    /// there (PyTorch's float8_e4m3fnuz on an MI300X); `dtype` itself
    /// everywhere else.
    pub fn own_fp8_variant(&self, dtype: Dtype) -> Dtype {
        let twin = match dtype {
            Dtype::Fp8E4m3 => Dtype::Fp8E4m3Fnuz,
            Dtype::Fp8E5m2 => Dtype::Fp8E5m2Fnuz,
            _ => return dtype,
        };
        if !self.has_native_path(dtype) && self.has_native_path(twin) {
            twin
        } else {
            dtype
        }
    }

    /// Whether the chip can run `dtype` at all: a format wider than fp32
    /// (fp64) needs a path of its own (or, on the original's model, a
    /// multiplier), since no narrower unit stands in for it; every other
    /// format runs, natively or emulated.
    pub fn runs(&self, dtype: Dtype) -> bool {
        !dtype.is_wider_than_fp32()
            || self.compute.paths.contains(dtype)
            || self.compute.dtype_speedup.contains(dtype)
    }

    /// [`Chip::runs`] as an error for the command line: which chip, which
    /// dtype and what the file needs.
    pub fn check_runs(&self, dtype: Dtype) -> Result<(), String> {
        if self.runs(dtype) {
            Ok(())
        } else {
            Err(format!(
                "chip `{}` has no {dtype} path: add [compute.paths.{dtype}] with its peak_tflops (no narrower unit can stand in for {dtype})",
                self.name
            ))
        }
    }

    /// Whether `dtype` runs on hardware built for it (chips without compute
    /// paths, on the original's model, count every dtype as native).
    pub fn is_native(&self, dtype: Dtype) -> bool {
        self.resolve_path(dtype).is_none_or(|(_, _, native)| native)
    }

    /// Launch cost per kernel of a GEMM in `dtype`, seconds: the dtype's own
    /// path's, else the chip's (the original's model).
    pub fn launch_overhead_s(&self, dtype: Dtype) -> f64 {
        self.host_floor_override_s(dtype)
            .unwrap_or(self.launch_overhead_s)
    }

    /// A chip-level calibration of the host cost per call of `dtype`, seconds:
    /// its path's `launch_overhead_us`, else the chip's when above 0.
    pub fn host_floor_override_s(&self, dtype: Dtype) -> Option<f64> {
        self.compute
            .paths
            .get(dtype)
            .and_then(|p| p.launch_overhead_s)
            .or((self.launch_overhead_s > 0.0).then_some(self.launch_overhead_s))
    }

    /// The chip-level calibrations the file carries, as field paths
    /// (`compute.paths.int8.efficiency`, `launch_overhead_us`): values that
    /// replace a software stack's or a framework's. Empty for a datasheet
    /// chip.
    pub fn chip_level_calibrations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.model.uses_stack() && self.launch_overhead_s > 0.0 {
            out.push("launch_overhead_us".to_string());
        }
        for d in Dtype::ALL {
            if let Some(p) = self.compute.paths.get(d) {
                for f in p.calibrated_fields() {
                    out.push(format!("compute.paths.{d}.{f}"));
                }
            }
        }
        // Anything else a fit recorded (a sustained clock, say).
        if let Some(c) = &self.calibration {
            for f in &c.fitted {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out
    }

    /// The clock a kernel runs `rate` at when it reaches `share` of the
    /// path's peak per cycle, Hz: a given clock as given; under a power cap,
    /// `min(boost, base x (share x bits / heaviest bits)^(-1/3))`
    /// (`crate::power`); else the boost clock.
    pub fn kernel_clock_hz(&self, rate: &PathRate, share: f64) -> f64 {
        match (rate.clock_source, self.power_cap) {
            (ClockSource::PowerModel, Some(cap)) => crate::power::sustained_clock_hz(
                rate.bits_per_cycle * share,
                cap.heaviest_bits_per_cycle,
                cap.base_hz,
                self.frequency_hz,
            ),
            _ => rate.sustained_clock_hz,
        }
    }

    /// The highest rate `dtype` can reach on this chip, FLOP/s: its peak
    /// (the half-accumulate one where higher) scaled from the clock it is
    /// quoted at to the boost clock when that is higher. No prediction may
    /// beat it (the conformance laws check).
    pub fn ceiling_flops(&self, dtype: Dtype) -> f64 {
        match self.resolve_path(dtype).map(|(_, p, _)| &p.kind) {
            Some(PathKind::Native {
                peak_clock_hz,
                rate,
                half_accumulate,
            }) => {
                rate.peak_flops
                    .max(half_accumulate.map_or(0.0, |h| h.peak_flops))
                    * (self.frequency_hz / peak_clock_hz).max(1.0)
            }
            _ => self.peak_flops(dtype),
        }
    }

    /// Nominal peak for `dtype` in FLOP/s: the native path's datasheet peak
    /// (chips with compute paths), else fp32 peak x the dtype's multiplier.
    pub fn peak_flops(&self, dtype: Dtype) -> f64 {
        match self.resolve_path(dtype).map(|(_, p, _)| &p.kind) {
            Some(PathKind::Native { rate, .. }) => rate.peak_flops,
            _ => self.compute.peak_fp32_flops * self.compute.speedup(dtype),
        }
    }

    /// Dtypes the chip file says something about (fp32 plus every dtype with
    /// a speedup or quantization cost), in [`Dtype::ALL`] order.
    pub fn described_dtypes(&self) -> Vec<Dtype> {
        Dtype::ALL
            .into_iter()
            .filter(|d| {
                *d == Dtype::Fp32
                    || self.compute.dtype_speedup.contains(*d)
                    || self.compute.paths.contains(*d)
                    || self.quantization.contains(*d)
            })
            .collect()
    }

    /// The plain roofline of `dtype` against main memory.
    pub fn roofline(&self, dtype: Dtype) -> Roofline {
        Roofline::new(
            self.peak_flops(dtype),
            self.main_memory().bandwidth_bytes_per_s,
        )
        .expect("validated chips have positive peaks and bandwidths")
    }

    /// One compute ceiling per described dtype, one bandwidth ceiling per
    /// memory level.
    pub fn hierarchical_roofline(&self) -> HierarchicalRoofline {
        let compute = self
            .described_dtypes()
            .into_iter()
            .map(|d| Ceiling {
                name: d.name().to_string(),
                value: self.peak_flops(d),
            })
            .collect();
        let bandwidth = self
            .memory
            .iter()
            .map(|m| Ceiling {
                name: m.name.clone(),
                value: m.bandwidth_bytes_per_s,
            })
            .collect();
        HierarchicalRoofline::new(compute, bandwidth)
            .expect("validated chips have positive peaks and bandwidths")
    }
}
