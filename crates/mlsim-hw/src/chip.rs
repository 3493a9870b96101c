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

/// How a dtype's GEMM runs on a GPU.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComputePath {
    /// Native hardware path or emulation through another path.
    pub kind: PathKind,
    /// Share of the peak reached by large GEMMs on this path.
    pub efficiency: f64,
    /// Bytes per output element.
    pub output_bytes: f64,
    /// fp32 operations per loaded element for conversion (emulated paths).
    pub convert_flops_per_element: f64,
    /// Candidate output tiles `(rows, cols)` of the library's kernels for
    /// this dtype, largest first; empty for an emulated path that uses the
    /// tiles of the path it runs through.
    pub tiles: Vec<(u32, u32)>,
    /// Launch cost of this dtype's entry point in seconds, when it differs
    /// from the chip's.
    pub launch_overhead_s: Option<f64>,
}

/// Native or emulated.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PathKind {
    /// Runs on hardware built for this dtype.
    Native {
        /// Dense peak at the boost clock, FLOP/s.
        peak_flops: f64,
        /// Sustained clock over the boost clock, in (0, 1].
        clock_ratio: f64,
    },
    /// Runs through another dtype's native path.
    Emulated {
        /// The native path used.
        via: Dtype,
    },
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
    /// Edge of the square systolic array, `floor(sqrt(units))` (used by
    /// the systolic tiling rule; derived from `units` when loading).
    pub systolic_edge: f64,
    /// Achievable share of the peak, in (0, 1].
    pub efficiency: f64,
    /// Share of stall cycles hidden, in [0, 1).
    pub memory_overlap: f64,
    /// Throughput multiplier over fp32 per dtype.
    pub dtype_speedup: DtypeMap<f64>,
    /// Compute paths per dtype (arch `gpu`); empty otherwise.
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
    /// Clock in Hz (for a GPU, the boost clock its peaks refer to).
    pub frequency_hz: f64,
    /// Guaranteed base clock in Hz, where stated.
    pub base_clock_hz: Option<f64>,
    /// Board power limit in W, where stated.
    pub power_limit_w: Option<f64>,
    /// Fixed cost per kernel launch in seconds.
    pub launch_overhead_s: f64,
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
}

impl Chip {
    /// The last (slowest, largest) memory level: DRAM or HBM.
    pub fn main_memory(&self) -> &MemoryLevel {
        self.memory
            .last()
            .expect("validated chips have at least one memory level")
    }

    /// The native path a dtype runs on (itself, or the path it is
    /// emulated by, or fp32 when the chip has no path for it) and whether
    /// it is native. `None` for chips without compute paths.
    pub fn resolve_path(&self, dtype: Dtype) -> Option<(Dtype, &ComputePath, bool)> {
        let own = self.compute.paths.get(dtype);
        match own.map(|p| &p.kind) {
            Some(PathKind::Native { .. }) => Some((dtype, own.expect("matched"), true)),
            Some(PathKind::Emulated { via }) => {
                self.compute.paths.get(*via).map(|p| (*via, p, false))
            }
            None => self
                .compute
                .paths
                .get(Dtype::Fp32)
                .map(|p| (Dtype::Fp32, p, dtype == Dtype::Fp32)),
        }
    }

    /// Whether `dtype` runs on hardware built for it (chips without compute
    /// paths, on the original's model, count every dtype as native).
    pub fn is_native(&self, dtype: Dtype) -> bool {
        self.resolve_path(dtype).is_none_or(|(_, _, native)| native)
    }

    /// Launch cost per kernel of a GEMM in `dtype`, seconds: the dtype's own
    /// path's, else the chip's.
    pub fn launch_overhead_s(&self, dtype: Dtype) -> f64 {
        self.compute
            .paths
            .get(dtype)
            .and_then(|p| p.launch_overhead_s)
            .unwrap_or(self.launch_overhead_s)
    }

    /// Nominal peak for `dtype` in FLOP/s: the native path's datasheet peak
    /// (chips with compute paths), else fp32 peak x the dtype's multiplier.
    pub fn peak_flops(&self, dtype: Dtype) -> f64 {
        match self.resolve_path(dtype).map(|(_, p, _)| &p.kind) {
            Some(PathKind::Native { peak_flops, .. }) => *peak_flops,
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
