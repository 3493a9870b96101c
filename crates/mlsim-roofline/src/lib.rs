//! Roofline maths, usable on its own.
//!
//! A [`Roofline`] is a peak compute rate (FLOP/s) and a memory bandwidth
//! (bytes/s). For a kernel of a given arithmetic intensity (FLOPs per byte
//! moved) it gives the attainable rate ([`Roofline::ceiling`]), whether the
//! kernel is memory- or compute-bound ([`Roofline::bound`]), the ridge point
//! where the two regimes meet, how close a measured rate came to the ceiling,
//! and the shortest runtime the hardware allows.
//!
//! A [`HierarchicalRoofline`] holds several compute ceilings (one per dtype,
//! say) and several bandwidth ceilings (one per memory level), and
//! [`crossover_ai`] finds the intensity at which two rooflines trade places.
//!
//! This crate depends on nothing but `std` (serde is an optional feature)
//! and knows nothing about chips, dtypes or TOML. Units are SI throughout:
//! FLOP/s, bytes/s, seconds.
//!
//! ```
//! use mlsim_roofline::{Bound, Roofline, arithmetic_intensity};
//!
//! // A T4-like card: 65 TFLOP/s fp16 tensor cores, 320 GB/s GDDR6.
//! let roof = Roofline::new(65e12, 320e9).unwrap();
//! assert!((roof.ridge_point() - 203.125).abs() < 1e-9);
//!
//! // A 1024^3 fp16 matmul moves 3 * 1024^2 * 2 bytes for 2 * 1024^3 FLOPs.
//! let ai = arithmetic_intensity(2.0 * 1024f64.powi(3), 3.0 * 1024f64.powi(2) * 2.0).unwrap();
//! assert!((ai - 341.333).abs() < 1e-3);
//! assert_eq!(roof.bound(ai), Bound::Compute);
//!
//! // An elementwise op (AI 0.25) is held to bandwidth x AI.
//! assert_eq!(roof.bound(0.25), Bound::Memory);
//! assert!((roof.ceiling(0.25) - 80e9).abs() < 1.0);
//! ```
#![deny(missing_docs)]

use std::fmt;

/// Why a roofline or ceiling could not be built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RooflineError {
    /// A rate or bandwidth was zero, negative, NaN or infinite.
    NotPositive {
        /// Which quantity was wrong (`"peak_flops"`, `"bandwidth"`, ...).
        what: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A hierarchical roofline needs at least one ceiling of each kind.
    Empty(&'static str),
    /// A ceiling name was asked for that the roofline does not have.
    UnknownCeiling(String),
}

impl fmt::Display for RooflineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPositive { what, value } => {
                write!(f, "{what} must be a finite number above zero, got {value}")
            }
            Self::Empty(what) => write!(f, "a hierarchical roofline needs at least one {what}"),
            Self::UnknownCeiling(name) => write!(f, "no ceiling named `{name}`"),
        }
    }
}

impl std::error::Error for RooflineError {}

fn positive(what: &'static str, value: f64) -> Result<f64, RooflineError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(RooflineError::NotPositive { what, value })
    }
}

/// Arithmetic intensity in FLOPs per byte, or `None` when `bytes` is not
/// positive or either input is not finite (an op that moves no data has no
/// defined intensity).
pub fn arithmetic_intensity(flops: f64, bytes: f64) -> Option<f64> {
    (flops.is_finite() && flops >= 0.0 && bytes.is_finite() && bytes > 0.0).then(|| flops / bytes)
}

/// Which resource limits a kernel on a roofline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Bound {
    /// Below the ridge point: bandwidth x intensity is the ceiling.
    Memory,
    /// At or above the ridge point: the peak compute rate is the ceiling.
    Compute,
}

impl Bound {
    /// Lower-case name, `"memory"` or `"compute"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Compute => "compute",
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classic roofline: one compute ceiling and one bandwidth ceiling.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Roofline {
    peak_flops: f64,
    bandwidth_bytes_per_s: f64,
}

impl Roofline {
    /// A roofline with peak `peak_flops` (FLOP/s) and memory bandwidth
    /// `bandwidth_bytes_per_s` (bytes/s); both must be finite and positive.
    pub fn new(peak_flops: f64, bandwidth_bytes_per_s: f64) -> Result<Self, RooflineError> {
        Ok(Self {
            peak_flops: positive("peak_flops", peak_flops)?,
            bandwidth_bytes_per_s: positive("bandwidth", bandwidth_bytes_per_s)?,
        })
    }

    /// Peak compute rate in FLOP/s.
    pub fn peak_flops(&self) -> f64 {
        self.peak_flops
    }

    /// Memory bandwidth in bytes/s.
    pub fn bandwidth(&self) -> f64 {
        self.bandwidth_bytes_per_s
    }

    /// The intensity (FLOP/byte) at which the bandwidth slope meets the
    /// compute ceiling: `peak / bandwidth`.
    pub fn ridge_point(&self) -> f64 {
        self.peak_flops / self.bandwidth_bytes_per_s
    }

    /// Attainable rate (FLOP/s) at intensity `ai`: `min(peak, ai x bandwidth)`.
    /// Negative or NaN intensities give 0.
    pub fn ceiling(&self, ai: f64) -> f64 {
        if ai.is_nan() || ai <= 0.0 {
            return 0.0;
        }
        self.peak_flops.min(ai * self.bandwidth_bytes_per_s)
    }

    /// Memory-bound below the ridge point, compute-bound at or above it.
    pub fn bound(&self, ai: f64) -> Bound {
        if ai >= self.ridge_point() {
            Bound::Compute
        } else {
            Bound::Memory
        }
    }

    /// Share of the ceiling a kernel achieved: `achieved / ceiling(ai)`, in
    /// `[0, inf)`; `None` when the ceiling is zero.
    pub fn efficiency(&self, achieved_flops: f64, ai: f64) -> Option<f64> {
        let ceiling = self.ceiling(ai);
        (ceiling > 0.0 && achieved_flops.is_finite()).then(|| achieved_flops / ceiling)
    }

    /// How far below the ceiling a kernel ran, as a factor: `ceiling / achieved`
    /// (1.0 means on the roof, 2.0 means half of it). `None` when nothing
    /// was achieved.
    pub fn gap_to_ceiling(&self, achieved_flops: f64, ai: f64) -> Option<f64> {
        (achieved_flops.is_finite() && achieved_flops > 0.0)
            .then(|| self.ceiling(ai) / achieved_flops)
    }

    /// The shortest runtime (seconds) the roofline allows for `flops` FLOPs
    /// moving `bytes` bytes: `max(flops / peak, bytes / bandwidth)`.
    pub fn min_runtime_s(&self, flops: f64, bytes: f64) -> f64 {
        (flops.max(0.0) / self.peak_flops).max(bytes.max(0.0) / self.bandwidth_bytes_per_s)
    }
}

/// Where two rooflines trade places.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Crossover {
    /// The first roofline is at least as high as the second at every
    /// intensity.
    FirstAlwaysAbove,
    /// The second roofline is at least as high as the first at every
    /// intensity.
    SecondAlwaysAbove,
    /// Below this intensity one roofline is strictly higher, above it the
    /// other is at least as high.
    At {
        /// The intensity (FLOP/byte) of the crossing.
        ai: f64,
        /// Which roofline is higher below `ai`.
        below: Which,
    },
}

/// Names one of two rooflines compared by [`crossover_ai`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Which {
    /// The first argument.
    First,
    /// The second argument.
    Second,
}

/// The arithmetic intensity at which roofline `a` and roofline `b` cross.
///
/// Both ceilings are `min(P, ai x B)`. The one with more bandwidth is higher
/// at low intensity; if it also has the higher peak it is never overtaken.
/// Otherwise the other overtakes it once its own bandwidth slope reaches the
/// lower peak, at `ai = P_low / B_low`.
///
/// ```
/// use mlsim_roofline::{Crossover, Roofline, Which, crossover_ai};
/// // int8-like: effective bandwidth x4 (elements are smaller) but a low peak.
/// let narrow = Roofline::new(10e12, 1280e9).unwrap();
/// let wide = Roofline::new(60e12, 320e9).unwrap();
/// assert_eq!(
///     crossover_ai(&narrow, &wide),
///     Crossover::At { ai: 10e12 / 320e9, below: Which::First }
/// );
/// ```
pub fn crossover_ai(a: &Roofline, b: &Roofline) -> Crossover {
    let (ba, bb) = (a.bandwidth(), b.bandwidth());
    let (pa, pb) = (a.peak_flops(), b.peak_flops());
    if ba == bb {
        return if pa >= pb {
            Crossover::FirstAlwaysAbove
        } else {
            Crossover::SecondAlwaysAbove
        };
    }
    let (hi_bw, lo_bw, hi_is_first) = if ba > bb { (a, b, true) } else { (b, a, false) };
    if hi_bw.peak_flops() >= lo_bw.peak_flops() {
        return if hi_is_first {
            Crossover::FirstAlwaysAbove
        } else {
            Crossover::SecondAlwaysAbove
        };
    }
    Crossover::At {
        ai: hi_bw.peak_flops() / lo_bw.bandwidth(),
        below: if hi_is_first {
            Which::First
        } else {
            Which::Second
        },
    }
}

/// One named ceiling of a [`HierarchicalRoofline`]: a compute rate (FLOP/s)
/// or a bandwidth (bytes/s).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ceiling {
    /// Name of the ceiling, e.g. `"fp16"` or `"L2"`.
    pub name: String,
    /// FLOP/s for a compute ceiling, bytes/s for a bandwidth ceiling.
    pub value: f64,
}

/// Several compute ceilings (e.g. one per dtype) and several bandwidth
/// ceilings (e.g. one per memory level).
///
/// ```
/// use mlsim_roofline::{Ceiling, HierarchicalRoofline};
/// let h = HierarchicalRoofline::new(
///     vec![Ceiling { name: "fp32".into(), value: 8e12 }, Ceiling { name: "fp16".into(), value: 65e12 }],
///     vec![Ceiling { name: "L2".into(), value: 1600e9 }, Ceiling { name: "DRAM".into(), value: 320e9 }],
/// ).unwrap();
/// // fp16 served from DRAM at AI 100 is memory-bound at 32 TFLOP/s.
/// assert!((h.ceiling(100.0, "fp16", "DRAM").unwrap() - 32e12).abs() < 1.0);
/// // The envelope takes the best pair: fp16 from L2.
/// assert!((h.envelope(100.0) - 65e12).abs() < 1.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HierarchicalRoofline {
    compute: Vec<Ceiling>,
    bandwidth: Vec<Ceiling>,
}

impl HierarchicalRoofline {
    /// Build from compute ceilings (FLOP/s) and bandwidth ceilings (bytes/s);
    /// each list must be non-empty and every value finite and positive.
    pub fn new(compute: Vec<Ceiling>, bandwidth: Vec<Ceiling>) -> Result<Self, RooflineError> {
        if compute.is_empty() {
            return Err(RooflineError::Empty("compute ceiling"));
        }
        if bandwidth.is_empty() {
            return Err(RooflineError::Empty("bandwidth ceiling"));
        }
        for c in &compute {
            positive("compute ceiling", c.value)?;
        }
        for c in &bandwidth {
            positive("bandwidth ceiling", c.value)?;
        }
        Ok(Self { compute, bandwidth })
    }

    /// The compute ceilings, in the order given.
    pub fn compute_ceilings(&self) -> &[Ceiling] {
        &self.compute
    }

    /// The bandwidth ceilings, in the order given.
    pub fn bandwidth_ceilings(&self) -> &[Ceiling] {
        &self.bandwidth
    }

    /// The plain roofline made of one named compute and one named bandwidth
    /// ceiling.
    pub fn roofline(&self, compute: &str, bandwidth: &str) -> Result<Roofline, RooflineError> {
        let find = |list: &[Ceiling], name: &str| {
            list.iter()
                .find(|c| c.name == name)
                .map(|c| c.value)
                .ok_or_else(|| RooflineError::UnknownCeiling(name.to_string()))
        };
        Roofline::new(
            find(&self.compute, compute)?,
            find(&self.bandwidth, bandwidth)?,
        )
    }

    /// Attainable rate at `ai` for one compute and one bandwidth ceiling.
    pub fn ceiling(&self, ai: f64, compute: &str, bandwidth: &str) -> Result<f64, RooflineError> {
        Ok(self.roofline(compute, bandwidth)?.ceiling(ai))
    }

    /// The highest attainable rate at `ai` over every pair of ceilings.
    pub fn envelope(&self, ai: f64) -> f64 {
        let peak = self.compute.iter().map(|c| c.value).fold(0.0, f64::max);
        let bw = self.bandwidth.iter().map(|c| c.value).fold(0.0, f64::max);
        Roofline {
            peak_flops: peak,
            bandwidth_bytes_per_s: bw,
        }
        .ceiling(ai)
    }

    /// Ridge points of every (compute, bandwidth) pair, in list order:
    /// `(compute name, bandwidth name, ridge AI)`.
    pub fn ridge_points(&self) -> Vec<(&str, &str, f64)> {
        self.compute
            .iter()
            .flat_map(|c| {
                self.bandwidth
                    .iter()
                    .map(move |b| (c.name.as_str(), b.name.as_str(), c.value / b.value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_positive_inputs() {
        assert!(Roofline::new(0.0, 1.0).is_err());
        assert!(Roofline::new(1.0, -1.0).is_err());
        assert!(Roofline::new(f64::NAN, 1.0).is_err());
        assert!(Roofline::new(f64::INFINITY, 1.0).is_err());
        assert_eq!(arithmetic_intensity(1.0, 0.0), None);
    }

    #[test]
    fn ceiling_bound_and_runtime_by_hand() {
        // 8.1 TFLOP/s, 320 GB/s: ridge 25.3125 FLOP/B.
        let r = Roofline::new(8.1e12, 320e9).unwrap();
        assert!((r.ridge_point() - 25.3125).abs() < 1e-12);
        assert_eq!(r.bound(25.3125), Bound::Compute);
        assert_eq!(r.bound(25.0), Bound::Memory);
        assert!((r.ceiling(10.0) - 3.2e12).abs() < 1.0);
        assert_eq!(r.ceiling(-1.0), 0.0);
        // 2 GFLOP over 12 MB: compute takes 0.2469 ms, memory 0.0393 ms.
        let t = r.min_runtime_s(2.147_483_648e9, 12_582_912.0);
        assert!((t - 2.147_483_648e9 / 8.1e12).abs() < 1e-15);
        // Half the ceiling achieved.
        assert!((r.efficiency(1.6e12, 10.0).unwrap() - 0.5).abs() < 1e-12);
        assert!((r.gap_to_ceiling(1.6e12, 10.0).unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(r.gap_to_ceiling(0.0, 10.0), None);
    }

    #[test]
    fn crossover_cases() {
        let a = Roofline::new(10.0, 4.0).unwrap();
        let b = Roofline::new(20.0, 1.0).unwrap();
        // a is higher below AI 10 (b's slope reaches a's peak of 10 at AI 10).
        assert_eq!(
            crossover_ai(&a, &b),
            Crossover::At {
                ai: 10.0,
                below: Which::First
            }
        );
        assert_eq!(
            crossover_ai(&b, &a),
            Crossover::At {
                ai: 10.0,
                below: Which::Second
            }
        );
        let c = Roofline::new(30.0, 4.0).unwrap();
        assert_eq!(crossover_ai(&c, &b), Crossover::FirstAlwaysAbove);
        assert_eq!(crossover_ai(&b, &c), Crossover::SecondAlwaysAbove);
        // Check the crossing numerically on either side.
        assert!(a.ceiling(9.9) > b.ceiling(9.9));
        assert!(a.ceiling(10.1) < b.ceiling(10.1));
    }

    #[test]
    fn hierarchical_ridges_and_errors() {
        let h = HierarchicalRoofline::new(
            vec![Ceiling {
                name: "fp32".into(),
                value: 8.0,
            }],
            vec![
                Ceiling {
                    name: "L2".into(),
                    value: 4.0,
                },
                Ceiling {
                    name: "DRAM".into(),
                    value: 1.0,
                },
            ],
        )
        .unwrap();
        assert_eq!(
            h.ridge_points(),
            vec![("fp32", "L2", 2.0), ("fp32", "DRAM", 8.0)]
        );
        assert!(h.roofline("fp16", "L2").is_err());
        assert!(HierarchicalRoofline::new(vec![], vec![]).is_err());
    }
}
