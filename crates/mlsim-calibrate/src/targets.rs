//! What each measured row is predicted on: the chip, and the stack,
//! framework, timing and host floor the row says it was measured with
//! (or the setup's, where it says nothing, or where a flag forces one).

use std::collections::BTreeMap;

use mlsim_hw::{Chip, Framework, Setup, SetupSpec, Stack, Target};

use crate::error::CalibrateError;
use crate::measurements::Measurement;

/// Which parts of the setup replace what the rows say (flags given on the
/// command line), rather than fill in where they say nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forced {
    /// `--stack`.
    pub stack: bool,
    /// `--framework`.
    pub framework: bool,
    /// `--timing`.
    pub timing: bool,
    /// `--host-floor-us` / `--launch-us`.
    pub host_floor: bool,
}

impl Forced {
    /// What a [`SetupSpec`] sets explicitly.
    pub fn from_spec(spec: &SetupSpec<'_>) -> Self {
        Self {
            stack: spec.stack.is_some(),
            framework: spec.framework.is_some(),
            timing: spec.timing.is_some(),
            host_floor: spec.host_floor_s.is_some(),
        }
    }
}

/// A setup and the other stacks and frameworks the rows name.
#[derive(Debug, Clone)]
pub struct RowTargets {
    /// The setup rows use where they say nothing (and that a fit changes).
    pub setup: Setup,
    /// The name or path the setup's stack was loaded from (`None`: the
    /// neutral stack of a chip on the original's model).
    pub stack_source: Option<String>,
    stacks: BTreeMap<String, Stack>,
    frameworks: BTreeMap<String, Framework>,
    forced: Forced,
}

impl RowTargets {
    /// The targets of `rows` on `chip`: the setup of `spec`, except that
    /// when `spec` names no stack and every row names the same one, that
    /// stack is the setup's (so a fit starts from what was measured).
    pub fn new(
        chip: Chip,
        spec: &SetupSpec<'_>,
        rows: &[Measurement],
    ) -> Result<Self, CalibrateError> {
        let forced = Forced::from_spec(spec);
        let single = |names: Vec<&String>| -> Option<String> {
            let first = names.first()?;
            (names.len() == rows.len() && names.iter().all(|n| n == first))
                .then(|| (*first).clone())
        };
        let row_stack = single(rows.iter().filter_map(|r| r.stack.as_ref()).collect());
        let row_framework = single(rows.iter().filter_map(|r| r.framework.as_ref()).collect());
        let spec = SetupSpec {
            stack: spec.stack.or(row_stack.as_deref()),
            framework: spec.framework.or(row_framework.as_deref()),
            ..spec.clone()
        };
        let stack_source = spec
            .stack
            .map(str::to_string)
            .or_else(|| chip.default_stack.clone());
        let setup = Setup::with_chip(chip, &spec).map_err(hw_error)?;
        let mut stacks = BTreeMap::new();
        let mut frameworks = BTreeMap::new();
        // A row names the setup's stack by its name or by the reference
        // (name or path) the setup was loaded from.
        let is_setup_stack =
            |s: &String| *s == setup.stack.name || stack_source.as_ref() == Some(s);
        for r in rows {
            if let Some(s) = &r.stack
                && !forced.stack
                && !is_setup_stack(s)
                && !stacks.contains_key(s)
            {
                stacks.insert(
                    s.clone(),
                    mlsim_hw::load_stack_for(s, &setup.chip).map_err(hw_error)?,
                );
            }
            if let Some(f) = &r.framework
                && !forced.framework
                && *f != setup.framework.name
                && !frameworks.contains_key(f)
            {
                frameworks.insert(f.clone(), mlsim_hw::load_framework(f).map_err(hw_error)?);
            }
        }
        Ok(Self {
            setup,
            stack_source,
            stacks,
            frameworks,
            forced,
        })
    }

    /// The same rows on another setup (a fit's candidate).
    pub fn with_setup(&self, setup: Setup) -> Self {
        Self {
            setup,
            ..self.clone()
        }
    }

    /// The target `row` is predicted on.
    pub fn target(&self, row: &Measurement) -> Target<'_> {
        self.target_on(&self.setup, row)
    }

    /// The target `row` is predicted on when `setup` (a fit's candidate)
    /// replaces the setup.
    pub fn target_on<'a>(&'a self, setup: &'a Setup, row: &Measurement) -> Target<'a> {
        let base = setup.target();
        let stack = match &row.stack {
            Some(s) if !self.forced.stack => self.stacks.get(s).unwrap_or(&setup.stack),
            _ => &setup.stack,
        };
        let framework = match &row.framework {
            Some(f) if !self.forced.framework => self.frameworks.get(f).unwrap_or(&setup.framework),
            _ => &setup.framework,
        };
        let timing = match row.timing {
            Some(t) if !self.forced.timing => t,
            _ => base.timing,
        };
        let host_floor_s = match row.host_floor_us {
            Some(us) if !self.forced.host_floor => Some(us / 1e6),
            _ => base.host_floor_s,
        };
        Target {
            stack,
            framework,
            timing,
            host_floor_s,
            ..base
        }
    }

    /// Whether every row is predicted on the setup's own stack (a fit can
    /// change only that one).
    pub fn all_on_setup_stack(&self, rows: &[Measurement]) -> bool {
        rows.iter().all(|r| {
            self.forced.stack
                || r.stack.as_ref().is_none_or(|s| {
                    *s == self.setup.stack.name || self.stack_source.as_ref() == Some(s)
                })
        })
    }
}

fn hw_error(e: mlsim_hw::HwError) -> CalibrateError {
    CalibrateError::Unsupported(e.to_string())
}
