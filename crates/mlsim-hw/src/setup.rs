//! What a prediction is of: a chip, a software stack (kernel library and
//! framework) and a timing method. [`Setup`] owns them; [`Target`] is the
//! cheap borrowed view the model reads, with the host floor of one
//! measurement when it has its own.

use mlsim_quant::Dtype;

use crate::chip::{Chip, ChipModel, ComputePath};
use crate::error::HwError;
use crate::registry::{load, load_framework, load_stack};
use crate::stack::{Framework, Stack, Timing};

/// The framework a prediction assumes unless told otherwise.
pub const DEFAULT_FRAMEWORK: &str = "pytorch-eager";

/// The timing method a prediction assumes unless told otherwise.
pub const DEFAULT_TIMING: Timing = Timing::PerCall;

/// A chip with the stack, framework and timing its predictions use.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// The chip (datasheet values).
    pub chip: Chip,
    /// The kernel library.
    pub stack: Stack,
    /// The host side.
    pub framework: Framework,
    /// How runtimes are timed.
    pub timing: Timing,
    /// A host floor per call that replaces every other (`--host-floor-us`),
    /// seconds.
    pub host_floor_s: Option<f64>,
}

/// Where each part of a [`Setup`] comes from (names or paths); `None`
/// means the default: the chip's `default_stack`, [`DEFAULT_FRAMEWORK`],
/// [`DEFAULT_TIMING`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetupSpec<'a> {
    /// Kernel-library stack.
    pub stack: Option<&'a str>,
    /// Framework.
    pub framework: Option<&'a str>,
    /// Timing method.
    pub timing: Option<Timing>,
    /// Host floor per call, seconds.
    pub host_floor_s: Option<f64>,
}

impl Setup {
    /// Load a chip by name or path, with the stack, framework and timing
    /// of `spec` (defaults where it says nothing). A chip on the original's
    /// model gets the neutral stack, which it ignores.
    pub fn load(chip: &str, spec: &SetupSpec<'_>) -> Result<Self, HwError> {
        Self::with_chip(load(chip)?, spec)
    }

    /// The same for an already loaded chip.
    pub fn with_chip(chip: Chip, spec: &SetupSpec<'_>) -> Result<Self, HwError> {
        let stack = match spec.stack.or(chip.default_stack.as_deref()) {
            Some(s) => load_stack_for(s, &chip)?,
            None => Stack::neutral(),
        };
        let framework = load_framework(spec.framework.unwrap_or(DEFAULT_FRAMEWORK))?;
        Ok(Self {
            chip,
            stack,
            framework,
            timing: spec.timing.unwrap_or(DEFAULT_TIMING),
            host_floor_s: spec.host_floor_s,
        })
    }

    /// Take `floor_s` as the host's floor per call, as given: it replaces
    /// every other floor (a fitted stack's `[host]` brought from another
    /// host included) and a fit leaves the host alone. Used for a floor
    /// read off a measurement file.
    pub fn use_host_floor(&mut self, floor_s: f64) {
        self.host_floor_s = Some(floor_s);
    }

    /// The view the model reads.
    pub fn target(&self) -> Target<'_> {
        Target {
            chip: &self.chip,
            stack: &self.stack,
            framework: &self.framework,
            timing: self.timing,
            host_floor_s: self.host_floor_s,
        }
    }
}

/// Load the stack `name_or_path` to run on `chip`: its `[memory_share]`
/// may name only the chip's memory levels (or `main`), so a misspelt level
/// is an error at the key, not a share silently left at 1.
pub fn load_stack_for(name_or_path: &str, chip: &Chip) -> Result<Stack, HwError> {
    let stack = load_stack(name_or_path)?;
    if !chip.model.uses_stack() {
        return Ok(stack);
    }
    let known = |level: &str| level == "main" || chip.memory.iter().any(|l| l.name == level);
    if let Some(level) = stack.memory_share.keys().find(|l| !known(l)) {
        let (text, shown) = crate::registry::stack_text(name_or_path)?;
        let levels: Vec<&str> = chip.memory.iter().map(|l| l.name.as_str()).collect();
        return Err(crate::doc::located(
            &text,
            &shown,
            &crate::doc::FieldPath::default()
                .key("memory_share")
                .key(level),
            format!("chip `{}` has no memory level `{level}`", chip.name),
            Some(format!(
                "its levels: {}, or `main` for the last",
                levels.join(", ")
            )),
        ));
    }
    Ok(stack)
}

/// A borrowed [`Setup`], possibly with one measurement's own timing and
/// host floor. Cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target<'a> {
    /// The chip.
    pub chip: &'a Chip,
    /// The kernel library.
    pub stack: &'a Stack,
    /// The host side.
    pub framework: &'a Framework,
    /// How runtimes are timed.
    pub timing: Timing,
    /// A host floor per call that replaces every other, seconds.
    pub host_floor_s: Option<f64>,
}

impl<'a> Target<'a> {
    /// The same target timed another way.
    pub fn with_timing(self, timing: Timing) -> Self {
        Self { timing, ..self }
    }

    /// The same target with a measured host floor.
    pub fn with_host_floor(self, host_floor_s: Option<f64>) -> Self {
        Self {
            host_floor_s: host_floor_s.or(self.host_floor_s),
            ..self
        }
    }

    /// The model that predicts the chip.
    pub fn model(&self) -> ChipModel {
        self.chip.model
    }

    /// Whether predictions read the stack, framework and timing (every
    /// model but the original's, which ignores them).
    pub fn uses_stack(&self) -> bool {
        self.chip.model.uses_stack()
    }

    /// The path `dtype` runs on under this stack: `(the dtype it computes
    /// in, that path, native)`. The chip's (see [`Chip::resolve_path`]),
    /// unless the stack computes `dtype` through another dtype's path
    /// (`runs_as`), which then counts as emulated.
    pub fn resolve_path(&self, dtype: Dtype) -> Option<(Dtype, &'a ComputePath, bool)> {
        let chip: &'a Chip = self.chip;
        match self.library_runs_as(dtype) {
            Some(via) => chip
                .resolve_path(via)
                .map(|(runs_in, path, _)| (runs_in, path, false)),
            None => chip.resolve_path(dtype),
        }
    }

    /// The dtype the stack computes `dtype` through instead of the chip's
    /// own path (its `runs_as`), where the chip's model reads the stack.
    pub fn library_runs_as(&self, dtype: Dtype) -> Option<Dtype> {
        self.stack.runs_as(dtype).filter(|_| self.uses_stack())
    }

    /// Whether `dtype` runs on a native path under this stack: the chip's
    /// answer ([`Chip::is_native`]), unless the library computes it through
    /// another dtype.
    pub fn is_native(&self, dtype: Dtype) -> bool {
        self.library_runs_as(dtype).is_none() && self.chip.is_native(dtype)
    }

    /// The host floor of `dtype`'s entry point, seconds: host time from a
    /// call's start to its kernel's launch. A measured or given floor,
    /// else a chip-level calibration, else a fitted stack's host, else the
    /// framework's; times the framework's factor for the dtype's entry
    /// point.
    pub fn host_floor_s(&self, dtype: Dtype) -> f64 {
        let base = self
            .host_floor_s
            .or_else(|| self.chip.host_floor_override_s(dtype))
            .or(self.stack.host_floor_s)
            .unwrap_or(self.framework.host_floor_s);
        base * self
            .framework
            .dtype_floor_factor(self.entry_point_dtype(dtype))
    }

    /// The dtype whose framework entry point a call of `dtype` goes
    /// through: its own when the framework names it, else that of the path
    /// it runs on (fp4 weights dequantized into an fp8 GEMM are called as
    /// fp8 GEMMs are).
    fn entry_point_dtype(&self, dtype: Dtype) -> Dtype {
        if self.framework.dtype_floor_factor.contains(dtype) {
            return dtype;
        }
        self.resolve_path(dtype).map_or(dtype, |(via, _, _)| via)
    }

    /// What one call of `dtype` whose kernel takes `kernel_s` costs under
    /// the timing method, seconds (docs/model/stacks-and-timing.md), with
    /// `F` the host floor, `h` the framework's timing overhead per call and
    /// `g` the GPU's gap between queued kernels:
    ///
    /// - `kernel`: `K`, the kernel alone;
    /// - `back-to-back`: `max(K + g, F)`: queued calls run at the pace of
    ///   the slower of the GPU and the host;
    /// - `per-call`: `max(K, F + min(K, h))`: a call finds the GPU idle and
    ///   pays `F + K` while its kernel is shorter than the timing code
    ///   around it (`K <= h`); beyond that the calls queue and one costs the
    ///   host's whole loop, `F + h`, until the kernel is longer still.
    pub fn call_s(&self, dtype: Dtype, kernel_s: f64) -> f64 {
        self.call_s_with_floor(self.host_floor_s(dtype), kernel_s)
    }

    /// [`Target::call_s`] given the host floor of the call's dtype
    /// ([`Target::host_floor_s`]), for callers that resolve it once for
    /// millions of calls.
    #[inline]
    pub fn call_s_with_floor(&self, floor: f64, kernel_s: f64) -> f64 {
        match self.timing {
            Timing::Kernel => kernel_s,
            Timing::BackToBack => (kernel_s + self.framework.gpu_gap_s).max(floor),
            Timing::PerCall => kernel_s.max(floor + kernel_s.min(self.timing_overhead_s())),
        }
    }

    /// The host time a per-call timing loop adds per call, seconds: a
    /// fitted stack's host, else the framework's.
    pub fn timing_overhead_s(&self) -> f64 {
        self.stack
            .host_timing_overhead_s
            .unwrap_or(self.framework.timing_overhead_s)
    }
}
