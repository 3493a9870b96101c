//! Number formats and what quantizing to them costs.
//!
//! - [`Dtype`]: the element formats mlsim models (fp32, tf32, fp16, bf16,
//!   fp8 e4m3/e5m2, int8, int4), with bits and bytes per element; int4 is
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

/// An element format.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Dtype {
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
    /// 8-bit signed integer.
    Int8,
    /// 4-bit signed integer, two per byte.
    Int4,
}

impl Dtype {
    /// Every dtype, in a fixed order (widest first).
    pub const ALL: [Dtype; 8] = [
        Dtype::Fp32,
        Dtype::Tf32,
        Dtype::Fp16,
        Dtype::Bf16,
        Dtype::Fp8E4m3,
        Dtype::Fp8E5m2,
        Dtype::Int8,
        Dtype::Int4,
    ];

    /// Canonical lower-case name, as accepted by [`FromStr`] and written in
    /// TOML and CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fp32 => "fp32",
            Self::Tf32 => "tf32",
            Self::Fp16 => "fp16",
            Self::Bf16 => "bf16",
            Self::Fp8E4m3 => "fp8_e4m3",
            Self::Fp8E5m2 => "fp8_e5m2",
            Self::Int8 => "int8",
            Self::Int4 => "int4",
        }
    }

    /// Storage bits per element (tf32 is stored in 32 bits).
    pub fn bits(self) -> u32 {
        match self {
            Self::Fp32 | Self::Tf32 => 32,
            Self::Fp16 | Self::Bf16 => 16,
            Self::Fp8E4m3 | Self::Fp8E5m2 | Self::Int8 => 8,
            Self::Int4 => 4,
        }
    }

    /// Storage bytes per element: 4, 4, 2, 2, 1, 1, 1, 0.5.
    pub fn bytes_per_element(self) -> f64 {
        f64::from(self.bits()) / 8.0
    }

    /// How many times fewer bytes than fp32 an element takes (fp16 2, int8 4,
    /// int4 8; tf32 1).
    pub fn memory_reduction_vs_fp32(self) -> f64 {
        32.0 / f64::from(self.bits())
    }

    /// Position in [`Dtype::ALL`], for table lookups.
    pub fn index(self) -> usize {
        self as usize
    }

    /// True for the integer formats.
    pub fn is_integer(self) -> bool {
        matches!(self, Self::Int8 | Self::Int4)
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
    slots: [Option<T>; 8],
}

impl<T> Default for DtypeMap<T> {
    fn default() -> Self {
        Self {
            slots: [const { None }; 8],
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
    "unknown dtype `{0}`, expected one of fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2, int8, int4"
)]
pub struct UnknownDtype(pub String);

impl FromStr for Dtype {
    type Err = UnknownDtype;

    /// Case-insensitive; `-` may stand for `_` (`FP8-E4M3` is `fp8_e4m3`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
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
        let err = "fp64".parse::<Dtype>().unwrap_err();
        assert!(err.to_string().contains("unknown dtype `fp64`"));
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
        let bytes: Vec<f64> = Dtype::ALL.iter().map(|d| d.bytes_per_element()).collect();
        assert_eq!(bytes, [4.0, 4.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.5]);
        assert_eq!(Dtype::Int4.memory_reduction_vs_fp32(), 8.0);
        assert_eq!(Dtype::Tf32.memory_reduction_vs_fp32(), 1.0);
    }
}
