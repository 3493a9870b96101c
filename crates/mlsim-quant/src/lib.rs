//! Number formats and what quantizing to them costs.
//!
//! - [`Dtype`]: the element formats mlsim models (fp64, fp32, tf32, fp16,
//!   bf16, fp8 e4m3/e5m2 and their FNUZ variants, int8, fp6 e2m3/e3m2,
//!   fp4 e2m1, int4, and the block-scaled MXFP8/6/4 and NVFP4 with their
//!   scale bytes), with bits and bytes per element; int4 is
//!   half a byte everywhere in mlsim (the original program counted it as a
//!   whole byte in its workload layer and half a byte in its quantization
//!   layer; we do not carry that inconsistency).
//! - [`QuantCost`]: the original program's per-(chip, dtype) overhead terms
//!   (dequantization share and cycles, layout penalty, scale storage).
//! - [`seed`]: the original program's overhead formulas and its analytical
//!   crossover AI, kept under that name so every later model can be compared
//!   with them.
//!
//! ```
//! use mlsim_quant::{Dtype, QuantCost, seed};
//! let int8: Dtype = "INT8".parse().unwrap();
//! assert_eq!(int8.bytes_per_element(), 1.0);
//! assert_eq!("fp8-e4m3".parse::<Dtype>().unwrap(), Dtype::Fp8E4m3);
//! assert_eq!(Dtype::Int4.bytes_per_element(), 0.5);
//!
//! // The original's crossover AI for fp16 on its GPU target: 4.001.
//! let gpu_fp16 = QuantCost { dequant_fraction: 0.05, dequant_cycles_per_element: 0.5, ..QuantCost::FREE };
//! let ai = seed::crossover_ai(Dtype::Fp16, &gpu_fp16).unwrap();
//! assert!((ai - 4.001).abs() < 1e-9);
//! ```
#![deny(missing_docs)]

use std::fmt;
use std::str::FromStr;

pub mod seed;

/// An element format: a plain number format, or a block-scaled one (a
/// number format whose elements share one scale per block; see
/// [`BlockScaling`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Dtype {
    /// IEEE 754 double precision.
    Fp64,
    /// IEEE 754 single precision.
    Fp32,
    /// NVIDIA TensorFloat-32: fp32 storage, 10-bit mantissa tensor-core math.
    Tf32,
    /// IEEE 754 half precision.
    Fp16,
    /// bfloat16: fp32's exponent range with a 7-bit mantissa.
    Bf16,
    /// 8-bit float, 4 exponent and 3 mantissa bits (OCP FP8 E4M3).
    Fp8E4m3,
    /// 8-bit float, 5 exponent and 2 mantissa bits (OCP FP8 E5M2).
    Fp8E5m2,
    /// E4M3 without infinities and with a single NaN, exponent bias 8
    /// (AMD CDNA3's FP8, `float8_e4m3fnuz`).
    Fp8E4m3Fnuz,
    /// E5M2 without infinities and with a single NaN, exponent bias 16
    /// (AMD CDNA3's BF8, `float8_e5m2fnuz`).
    Fp8E5m2Fnuz,
    /// 8-bit signed integer.
    Int8,
    /// 6-bit float, 2 exponent and 3 mantissa bits (OCP FP6 E2M3).
    Fp6E2m3,
    /// 6-bit float, 3 exponent and 2 mantissa bits (OCP FP6 E3M2).
    Fp6E3m2,
    /// 4-bit float, 2 exponent bits and 1 mantissa bit (OCP FP4 E2M1).
    Fp4E2m1,
    /// 4-bit signed integer, two per byte.
    Int4,
    /// OCP MXFP8 (E4M3 elements): 32-element blocks, one E8M0 scale each.
    Mxfp8,
    /// OCP MXFP6 (E2M3 elements): 32-element blocks, one E8M0 scale each.
    Mxfp6,
    /// OCP MXFP4 (E2M1 elements): 32-element blocks, one E8M0 scale each.
    Mxfp4,
    /// NVIDIA NVFP4 (E2M1 elements): 16-element blocks, one E4M3 scale
    /// each, and one fp32 scale per tensor.
    Nvfp4,
}

/// How many dtypes there are (the length of [`Dtype::ALL`]).
pub const DTYPE_COUNT: usize = 18;

/// The format of a block scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleFormat {
    /// An 8-bit power of two (OCP E8M0: exponent only).
    E8m0,
    /// An 8-bit float (FP8 E4M3), as NVFP4 uses.
    E4m3,
}

impl ScaleFormat {
    /// Storage bits of one scale.
    pub fn bits(self) -> u32 {
        match self {
            Self::E8m0 | Self::E4m3 => 8,
        }
    }
}

/// The shared scales of a block-scaled format: every `block` consecutive
/// elements along the reduction (K) dimension share one scale of
/// `scale` format; some formats add one fp32 scale per tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockScaling {
    /// The plain format of each element.
    pub element: Dtype,
    /// Elements per scale.
    pub block: u32,
    /// The format of each block's scale.
    pub scale: ScaleFormat,
    /// Bytes of per-tensor scale (NVFP4: one fp32, 4 bytes).
    pub tensor_scale_bytes: u32,
}

impl BlockScaling {
    /// Scale bits spread over each element of a whole block.
    pub fn scale_bits_per_element(&self) -> f64 {
        f64::from(self.scale.bits()) / f64::from(self.block)
    }

    /// The plain formats a scaled element (element x its block's scale) is
    /// dequantized to where a chip has no path for the block format,
    /// narrowest first. An E8M0 scale is a power of two over fp32's whole
    /// exponent range, so MX values need an 8-bit exponent (bf16, fp32);
    /// NVFP4's fp4 element times its E4M3 scale lies in [2^-10, 2688] with
    /// at most 6 significant bits, exact in fp16 (its fp32 tensor scale is applied
    /// to the output). Not fp8: an fp8 path cannot hold the scaled values,
    /// which is why libraries serve MXFP4 on Hopper as 16-bit GEMMs.
    pub fn dequantized_formats(&self) -> &'static [Dtype] {
        match self.scale {
            ScaleFormat::E8m0 => &[Dtype::Bf16, Dtype::Fp32],
            ScaleFormat::E4m3 => &[Dtype::Fp16, Dtype::Bf16, Dtype::Fp32],
        }
    }
}

impl Dtype {
    /// Every dtype, in a fixed order (widest first; the block-scaled
    /// formats last).
    pub const ALL: [Dtype; DTYPE_COUNT] = [
        Dtype::Fp64,
        Dtype::Fp32,
        Dtype::Tf32,
        Dtype::Fp16,
        Dtype::Bf16,
        Dtype::Fp8E4m3,
        Dtype::Fp8E5m2,
        Dtype::Fp8E4m3Fnuz,
        Dtype::Fp8E5m2Fnuz,
        Dtype::Int8,
        Dtype::Fp6E2m3,
        Dtype::Fp6E3m2,
        Dtype::Fp4E2m1,
        Dtype::Int4,
        Dtype::Mxfp8,
        Dtype::Mxfp6,
        Dtype::Mxfp4,
        Dtype::Nvfp4,
    ];

    /// Canonical lower-case name, as accepted by [`FromStr`] and written in
    /// TOML and CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fp64 => "fp64",
            Self::Fp32 => "fp32",
            Self::Tf32 => "tf32",
            Self::Fp16 => "fp16",
            Self::Bf16 => "bf16",
            Self::Fp8E4m3 => "fp8_e4m3",
            Self::Fp8E5m2 => "fp8_e5m2",
            Self::Fp8E4m3Fnuz => "fp8_e4m3_fnuz",
            Self::Fp8E5m2Fnuz => "fp8_e5m2_fnuz",
            Self::Int8 => "int8",
            Self::Fp6E2m3 => "fp6_e2m3",
            Self::Fp6E3m2 => "fp6_e3m2",
            Self::Fp4E2m1 => "fp4_e2m1",
            Self::Int4 => "int4",
            Self::Mxfp8 => "mxfp8",
            Self::Mxfp6 => "mxfp6",
            Self::Mxfp4 => "mxfp4",
            Self::Nvfp4 => "nvfp4",
        }
    }

    /// Storage bits of one element, scales not counted (tf32 is stored in
    /// 32 bits; a block-scaled format's element is its plain format's).
    pub fn element_bits(self) -> u32 {
        match self {
            Self::Fp64 => 64,
            Self::Fp32 | Self::Tf32 => 32,
            Self::Fp16 | Self::Bf16 => 16,
            Self::Fp8E4m3 | Self::Fp8E5m2 | Self::Fp8E4m3Fnuz | Self::Fp8E5m2Fnuz | Self::Int8 => 8,
            Self::Fp6E2m3 | Self::Fp6E3m2 => 6,
            Self::Fp4E2m1 | Self::Int4 => 4,
            Self::Mxfp8 | Self::Mxfp6 | Self::Mxfp4 | Self::Nvfp4 => self
                .block_scaling()
                .expect("a block-scaled format")
                .element
                .element_bits(),
        }
    }

    /// The block scales of a block-scaled format (OCP Microscaling v1.0:
    /// 32-element blocks, E8M0 scales; NVFP4: 16-element blocks, E4M3
    /// scales, one fp32 per tensor); `None` for a plain format.
    pub fn block_scaling(self) -> Option<BlockScaling> {
        let mx = |element| BlockScaling {
            element,
            block: 32,
            scale: ScaleFormat::E8m0,
            tensor_scale_bytes: 0,
        };
        match self {
            Self::Mxfp8 => Some(mx(Self::Fp8E4m3)),
            Self::Mxfp6 => Some(mx(Self::Fp6E2m3)),
            Self::Mxfp4 => Some(mx(Self::Fp4E2m1)),
            Self::Nvfp4 => Some(BlockScaling {
                element: Self::Fp4E2m1,
                block: 16,
                scale: ScaleFormat::E4m3,
                tensor_scale_bytes: 4,
            }),
            _ => None,
        }
    }

    /// Storage bits per element, the block scales spread over their blocks
    /// (MXFP4 4.25, NVFP4 4.5; a plain format its element bits). The
    /// bytes of a whole tensor, with its last partial block and its tensor
    /// scale, are [`Dtype::tensor_bytes`].
    pub fn bits(self) -> f64 {
        f64::from(self.element_bits())
            + self
                .block_scaling()
                .map_or(0.0, |s| s.scale_bits_per_element())
    }

    /// Storage bytes per element, scales spread over their blocks: fp64 8,
    /// fp32 4, fp16 2, fp8 1, fp6 0.75, int4 0.5, MXFP4 0.53125.
    #[inline]
    pub fn bytes_per_element(self) -> f64 {
        self.bits() / 8.0
    }

    /// Bytes of a `rows` x `inner` tensor whose blocks run along `inner`
    /// (the reduction dimension): the packed elements of each row, one
    /// scale per block or part of a block, and the per-tensor scale.
    /// Sub-byte elements are counted in bits (rows packed back to back).
    pub fn tensor_bytes(self, rows: u64, inner: u64) -> f64 {
        let elements = rows as f64 * inner as f64;
        let element_bytes = elements * f64::from(self.element_bits()) / 8.0;
        match self.block_scaling() {
            None => element_bytes,
            Some(s) => {
                let blocks = rows as f64 * inner.div_ceil(u64::from(s.block)) as f64;
                element_bytes
                    + blocks * f64::from(s.scale.bits()) / 8.0
                    + f64::from(s.tensor_scale_bytes)
            }
        }
    }

    /// How many times fewer bytes than fp32 an element takes (fp16 2, int8 4,
    /// int4 8; tf32 1; fp64 0.5).
    pub fn memory_reduction_vs_fp32(self) -> f64 {
        32.0 / self.bits()
    }

    /// Position in [`Dtype::ALL`], for table lookups.
    pub fn index(self) -> usize {
        self as usize
    }

    /// True for the integer formats.
    pub fn is_integer(self) -> bool {
        matches!(self, Self::Int8 | Self::Int4)
    }

    /// Exponent and mantissa bits of a float format (a block-scaled format:
    /// its elements'); `None` for the integers.
    pub fn float_fields(self) -> Option<(u32, u32)> {
        match self {
            Self::Fp64 => Some((11, 52)),
            Self::Fp32 => Some((8, 23)),
            Self::Tf32 => Some((8, 10)),
            Self::Fp16 => Some((5, 10)),
            Self::Bf16 => Some((8, 7)),
            Self::Fp8E4m3 | Self::Fp8E4m3Fnuz => Some((4, 3)),
            Self::Fp8E5m2 | Self::Fp8E5m2Fnuz => Some((5, 2)),
            Self::Fp6E2m3 => Some((2, 3)),
            Self::Fp6E3m2 => Some((3, 2)),
            Self::Fp4E2m1 => Some((2, 1)),
            Self::Int8 | Self::Int4 => None,
            Self::Mxfp8 | Self::Mxfp6 | Self::Mxfp4 | Self::Nvfp4 => {
                self.block_scaling().and_then(|s| s.element.float_fields())
            }
        }
    }

    /// The largest finite value and the smallest positive (subnormal)
    /// value of a float format's elements, from its encoding: IEEE-style
    /// formats keep their top exponent for infinities and NaN; OCP fp8
    /// E4M3 keeps only the all-ones pattern for NaN (max 448); the FNUZ
    /// variants have a bias one larger and only one NaN (E4M3 FNUZ: max
    /// 240, smallest 2^-10); the OCP fp6 and fp4 formats have no special
    /// values at all (fp4 E2M1: max 6, smallest 0.5). `None` for integers
    /// and for the block-scaled formats, whose values are element x scale
    /// ([`BlockScaling::dequantized_formats`] says what holds them).
    pub fn float_range(self) -> Option<(f64, f64)> {
        if self.block_scaling().is_some() {
            return None;
        }
        let (e, m) = self.float_fields()?;
        let element = self;
        let ieee_bias = (1i32 << (e - 1)) - 1;
        let (bias, top_exponent, top_mantissa) = match element {
            // Every exponent code is finite; the top mantissa at the top
            // exponent is NaN.
            Self::Fp8E4m3 => (ieee_bias, (1i32 << e) - 1, (1u64 << m) - 2),
            // A bias one larger; every code finite but the negative zero.
            Self::Fp8E4m3Fnuz | Self::Fp8E5m2Fnuz => {
                (ieee_bias + 1, (1i32 << e) - 1, (1u64 << m) - 1)
            }
            // No infinities or NaN.
            Self::Fp6E2m3 | Self::Fp6E3m2 | Self::Fp4E2m1 => {
                (ieee_bias, (1i32 << e) - 1, (1u64 << m) - 1)
            }
            // IEEE: the top exponent code is infinity and NaN.
            _ => (ieee_bias, (1i32 << e) - 2, (1u64 << m) - 1),
        };
        let mantissa = 1.0 + top_mantissa as f64 / (1u64 << m) as f64;
        let max = mantissa * f64::from(top_exponent - bias).exp2();
        let smallest = f64::from(1 - bias - m as i32).exp2();
        Some((max, smallest))
    }

    /// Whether every value of float format `self` is a value of float
    /// format `wider` too: no more mantissa bits, and a range inside the
    /// wider one's ([`Dtype::float_range`]): fp8 e4m3 and e5m2 into fp16,
    /// fp4 into fp8 e4m3, not fp16 into bf16, and not OCP fp8 E4M3 (max
    /// 448) into the FNUZ E4M3 (max 240) of CDNA 3.
    pub fn fits_exactly_in(self, wider: Dtype) -> bool {
        match (
            self.float_fields().zip(self.float_range()),
            wider.float_fields().zip(wider.float_range()),
        ) {
            (Some(((_, m), (max, smallest))), Some(((_, wm), (wmax, wsmallest)))) => {
                m <= wm && max <= wmax && smallest >= wsmallest
            }
            _ => false,
        }
    }

    /// True for formats wider than fp32 (fp64), which no narrower unit can
    /// stand in for at its own rate: a chip runs them only on a path of
    /// their own.
    pub fn is_wider_than_fp32(self) -> bool {
        self.element_bits() > 32
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value per dtype, stored in a fixed array: lookups cost an index, not a
/// search (the simulator's hot path reads it on every prediction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtypeMap<T> {
    slots: [Option<T>; DTYPE_COUNT],
}

impl<T> Default for DtypeMap<T> {
    fn default() -> Self {
        Self {
            slots: [const { None }; DTYPE_COUNT],
        }
    }
}

impl<T> DtypeMap<T> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value for `dtype`, if any.
    pub fn get(&self, dtype: Dtype) -> Option<&T> {
        self.slots[dtype.index()].as_ref()
    }

    /// The value for `dtype`, mutable.
    pub fn get_mut(&mut self, dtype: Dtype) -> Option<&mut T> {
        self.slots[dtype.index()].as_mut()
    }

    /// Set the value for `dtype`, returning the previous one.
    pub fn insert(&mut self, dtype: Dtype, value: T) -> Option<T> {
        self.slots[dtype.index()].replace(value)
    }

    /// Whether `dtype` has a value.
    pub fn contains(&self, dtype: Dtype) -> bool {
        self.slots[dtype.index()].is_some()
    }

    /// Entries in [`Dtype::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Dtype, &T)> {
        Dtype::ALL
            .into_iter()
            .zip(self.slots.iter())
            .filter_map(|(d, v)| v.as_ref().map(|v| (d, v)))
    }

    /// Dtypes with a value, in [`Dtype::ALL`] order.
    pub fn keys(&self) -> impl Iterator<Item = Dtype> + '_ {
        self.iter().map(|(d, _)| d)
    }

    /// Number of dtypes with a value.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|v| v.is_some()).count()
    }

    /// True when no dtype has a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: serde::Serialize> serde::Serialize for DtypeMap<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter().map(|(d, v)| (d.name(), v)))
    }
}

/// A dtype name that is not one of [`Dtype::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown dtype `{0}`, expected one of fp64, fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2, fp8_e4m3_fnuz, fp8_e5m2_fnuz, int8, fp6_e2m3, fp6_e3m2, fp4_e2m1, int4, mxfp8, mxfp6, mxfp4, nvfp4"
)]
pub struct UnknownDtype(pub String);

impl FromStr for Dtype {
    type Err = UnknownDtype;

    /// Case-insensitive; `-` may stand for `_` (`FP8-E4M3` is `fp8_e4m3`);
    /// `fp8`, `fp6` and `fp4` name the OCP E4M3, E2M3 and E2M1 formats;
    /// PyTorch's names are accepted too (`float16`, `bfloat16`,
    /// `float8_e4m3fn`, `float8_e4m3fnuz`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The common case, a canonical name, without allocating (a
        // measurement file parses one per row).
        if let Some(d) = Dtype::ALL.into_iter().find(|d| d.name() == s) {
            return Ok(d);
        }
        let lower = s.trim().to_ascii_lowercase().replace('-', "_");
        // PyTorch's spelling: `float`/`bfloat` for `fp`/`bf`, `fn` (finite,
        // the OCP E4M3) and `fnuz` without an underscore.
        let torch = match lower.strip_prefix("bfloat") {
            Some(bits) => format!("bf{bits}"),
            None => lower
                .strip_prefix("float")
                .map_or(lower.clone(), |r| format!("fp{r}")),
        };
        let torch = match torch.strip_suffix("fnuz") {
            Some(stem) if !stem.ends_with('_') => format!("{stem}_fnuz"),
            _ => torch
                .strip_suffix("e4m3fn")
                .map_or(torch.clone(), |r| format!("{r}e4m3")),
        };
        // The short names people use for the OCP formats.
        let wanted = match torch.as_str() {
            "fp8" => "fp8_e4m3",
            "fp6" => "fp6_e2m3",
            "fp4" => "fp4_e2m1",
            other => other,
        };
        Dtype::ALL
            .into_iter()
            .find(|d| d.name() == wanted)
            .ok_or_else(|| UnknownDtype(s.to_string()))
    }
}

/// The original program's overhead terms for running a workload in some dtype
/// on some chip (all dimensionless unless stated).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QuantCost {
    /// Share of the work that needs dequantization, in [0, 1].
    pub dequant_fraction: f64,
    /// Cycles spent per dequantized element.
    pub dequant_cycles_per_element: f64,
    /// Multiplier (>= 1) on the memory-side time for a non-native layout.
    pub layout_penalty: f64,
    /// Scale storage as a share of the quantized bytes, in [0, 1).
    pub scale_storage_fraction: f64,
    /// Whether a wider accumulation buffer is needed (recorded, not charged:
    /// the original model never charged it either).
    pub accumulation_buffer: bool,
}

impl QuantCost {
    /// No overhead at all.
    pub const FREE: QuantCost = QuantCost {
        dequant_fraction: 0.0,
        dequant_cycles_per_element: 0.0,
        layout_penalty: 1.0,
        scale_storage_fraction: 0.0,
        accumulation_buffer: false,
    };
}

impl Default for QuantCost {
    fn default() -> Self {
        Self::FREE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_aliases_and_case() {
        for d in Dtype::ALL {
            assert_eq!(d.name().parse::<Dtype>().unwrap(), d);
            assert_eq!(
                d.name()
                    .to_uppercase()
                    .replace('_', "-")
                    .parse::<Dtype>()
                    .unwrap(),
                d
            );
        }
        let err = "fp12".parse::<Dtype>().unwrap_err();
        assert!(err.to_string().contains("unknown dtype `fp12`"));
        assert_eq!("FP4".parse::<Dtype>().unwrap(), Dtype::Fp4E2m1);
        assert_eq!("fp8".parse::<Dtype>().unwrap(), Dtype::Fp8E4m3);
        assert_eq!("MXFP4".parse::<Dtype>().unwrap(), Dtype::Mxfp4);
        // PyTorch's dtype names (torch.float8_e4m3fn is the OCP E4M3).
        for (torch, d) in [
            ("float64", Dtype::Fp64),
            ("float32", Dtype::Fp32),
            ("float16", Dtype::Fp16),
            ("bfloat16", Dtype::Bf16),
            ("float8_e4m3fn", Dtype::Fp8E4m3),
            ("float8_e5m2", Dtype::Fp8E5m2),
            ("float8_e4m3fnuz", Dtype::Fp8E4m3Fnuz),
            ("float8_e5m2fnuz", Dtype::Fp8E5m2Fnuz),
            ("fp8_e4m3fnuz", Dtype::Fp8E4m3Fnuz),
        ] {
            assert_eq!(torch.parse::<Dtype>().unwrap(), d, "{torch}");
        }
        for typo in ["fp8_e4m3_fnu", "float8_e4m3fnu", "bfloat8", "float12"] {
            assert!(typo.parse::<Dtype>().is_err(), "{typo}");
        }
    }

    #[test]
    fn dtype_map_keeps_canonical_order() {
        let mut m = DtypeMap::new();
        assert_eq!(m.insert(Dtype::Int8, 4.0), None);
        assert_eq!(m.insert(Dtype::Fp16, 2.0), None);
        assert_eq!(m.insert(Dtype::Int8, 3.0), Some(4.0));
        assert_eq!(m.keys().collect::<Vec<_>>(), vec![Dtype::Fp16, Dtype::Int8]);
        assert_eq!(m.get(Dtype::Int8), Some(&3.0));
        assert!(!m.contains(Dtype::Bf16));
        assert_eq!(m.len(), 2);
        for (i, d) in Dtype::ALL.iter().enumerate() {
            assert_eq!(d.index(), i);
        }
    }

    #[test]
    fn sizes() {
        let bits: Vec<f64> = Dtype::ALL.iter().map(|d| d.bits()).collect();
        // fp64 .. int4 by their definitions; MX formats add 8 / 32 bits of
        // E8M0 scale per element, NVFP4 8 / 16 of E4M3.
        assert_eq!(
            bits,
            [
                64.0, 32.0, 32.0, 16.0, 16.0, 8.0, 8.0, 8.0, 8.0, 8.0, 6.0, 6.0, 4.0, 4.0, 8.25,
                6.25, 4.25, 4.5
            ]
        );
        assert_eq!(Dtype::Int4.memory_reduction_vs_fp32(), 8.0);
        assert_eq!(Dtype::Tf32.memory_reduction_vs_fp32(), 1.0);
        assert_eq!(Dtype::Fp64.memory_reduction_vs_fp32(), 0.5);
        assert_eq!(Dtype::Fp6E3m2.bytes_per_element(), 0.75);
        assert!(Dtype::Fp64.is_wider_than_fp32());
        assert!(!Dtype::Mxfp8.is_wider_than_fp32());
        assert!(Dtype::Fp8E5m2.fits_exactly_in(Dtype::Fp16));
        assert!(!Dtype::Fp8E5m2.fits_exactly_in(Dtype::Fp8E4m3));
        assert!(Dtype::Fp4E2m1.fits_exactly_in(Dtype::Fp8E4m3));
        assert!(Dtype::Fp6E3m2.fits_exactly_in(Dtype::Fp8E4m3));
        assert!(!Dtype::Fp16.fits_exactly_in(Dtype::Bf16));
        assert!(!Dtype::Int8.fits_exactly_in(Dtype::Fp16));
        // FNUZ: OCP E4M3 reaches 448, FNUZ E4M3 only 240; FNUZ reaches
        // 2^-10 and 2^-17, below OCP's 2^-9 and 2^-16.
        assert!(!Dtype::Fp8E4m3.fits_exactly_in(Dtype::Fp8E4m3Fnuz));
        assert!(!Dtype::Fp8E4m3Fnuz.fits_exactly_in(Dtype::Fp8E4m3));
        assert!(!Dtype::Fp8E5m2Fnuz.fits_exactly_in(Dtype::Fp8E5m2));
        assert!(Dtype::Fp8E5m2.fits_exactly_in(Dtype::Fp8E5m2Fnuz));
        assert!(Dtype::Fp4E2m1.fits_exactly_in(Dtype::Fp8E4m3Fnuz));
        assert!(Dtype::Fp8E4m3Fnuz.fits_exactly_in(Dtype::Fp16));
        assert!(Dtype::Bf16.fits_exactly_in(Dtype::Fp32));
        assert!(!Dtype::Fp32.fits_exactly_in(Dtype::Tf32));
    }

    /// Largest and smallest values as the format specifications state them
    /// (IEEE 754; OCP 8-bit floating point and Microscaling v1.0; the
    /// FNUZ formats as AMD's and LLVM's float8 definitions).
    #[test]
    fn float_ranges_match_the_specifications() {
        for (d, max, smallest) in [
            (
                Dtype::Fp32,
                f64::from(f32::MAX),
                f64::from(f32::from_bits(1)),
            ),
            (Dtype::Fp16, 65504.0, 2f64.powi(-24)),
            (Dtype::Bf16, 3.3895313892515355e38, 2f64.powi(-133)),
            (Dtype::Fp8E4m3, 448.0, 2f64.powi(-9)),
            (Dtype::Fp8E5m2, 57344.0, 2f64.powi(-16)),
            (Dtype::Fp8E4m3Fnuz, 240.0, 2f64.powi(-10)),
            (Dtype::Fp8E5m2Fnuz, 57344.0, 2f64.powi(-17)),
            (Dtype::Fp6E2m3, 7.5, 0.125),
            (Dtype::Fp6E3m2, 28.0, 0.0625),
            (Dtype::Fp4E2m1, 6.0, 0.5),
        ] {
            assert_eq!(d.float_range(), Some((max, smallest)), "{d}");
        }
        assert_eq!(Dtype::Int8.float_range(), None);
        // Scaled values are not the element's: no plain format is said to
        // hold MXFP4 from its element alone.
        assert_eq!(Dtype::Mxfp4.float_range(), None);
        assert!(!Dtype::Mxfp4.fits_exactly_in(Dtype::Fp8E4m3));
    }

    /// Hand counts. A 4096 x 4096 MXFP4 weight: 2^24 elements x 0.5 B =
    /// 8 MiB, plus 4096 x 128 blocks x 1 B = 512 KiB of scales.
    /// NVFP4 of the same: 8 MiB + 4096 x 256 x 1 B + 4 B.
    /// A 3 x 33 MXFP8 tensor: 99 B of elements, 2 blocks per row (the last
    /// holds one element and still costs a whole scale) x 3 rows = 6 B.
    /// A 1 x 17 NVFP4 row: 8.5 B, 2 scales, 4 B tensor scale = 14.5 B.
    #[test]
    fn block_scaled_tensor_bytes_match_hand_counts() {
        let mib = 1024.0 * 1024.0;
        assert_eq!(
            Dtype::Mxfp4.tensor_bytes(4096, 4096),
            8.0 * mib + 512.0 * 1024.0
        );
        assert_eq!(
            Dtype::Nvfp4.tensor_bytes(4096, 4096),
            8.0 * mib + 1024.0 * 1024.0 + 4.0
        );
        assert_eq!(Dtype::Mxfp8.tensor_bytes(3, 33), 99.0 + 6.0);
        assert_eq!(Dtype::Nvfp4.tensor_bytes(1, 17), 8.5 + 2.0 + 4.0);
        assert_eq!(Dtype::Mxfp6.tensor_bytes(2, 32), 48.0 + 2.0);
        // Plain formats: elements x bytes, nothing else.
        assert_eq!(Dtype::Fp6E2m3.tensor_bytes(3, 5), 11.25);
        assert_eq!(Dtype::Fp64.tensor_bytes(3, 5), 120.0);
    }

    proptest::proptest! {
        /// For any shape: a block-scaled tensor costs its elements plus
        /// ceil(inner / block) scales per row plus the tensor scale; never
        /// less than the per-element average says, and at most one extra
        /// scale per row above it.
        #[test]
        fn block_scaled_bytes_for_odd_shapes(rows in 1u64..300, inner in 1u64..5000) {
            for d in [Dtype::Mxfp8, Dtype::Mxfp6, Dtype::Mxfp4, Dtype::Nvfp4] {
                let s = d.block_scaling().unwrap();
                let block = u64::from(s.block);
                #[allow(clippy::manual_div_ceil)] // by hand, independently of the code's div_ceil
                let blocks_per_row = (inner + block - 1) / block;
                let want = (rows * inner * u64::from(d.element_bits())) as f64 / 8.0
                    + (rows * blocks_per_row) as f64
                    + f64::from(s.tensor_scale_bytes);
                let got = d.tensor_bytes(rows, inner);
                proptest::prop_assert!((got - want).abs() <= 1e-9 * want, "{d}: {got} != {want}");
                let average = d.bytes_per_element() * (rows * inner) as f64;
                let tensor = f64::from(s.tensor_scale_bytes);
                proptest::prop_assert!(got - tensor >= average - 1e-9 * average);
                proptest::prop_assert!(got - tensor <= average + rows as f64 + 1e-9 * average);
            }
        }
    }
}
