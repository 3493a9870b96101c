//! Chip descriptions for mlsim.
//!
//! A [`Chip`] is a clock, a [`ComputeUnit`], an ordered list of
//! [`MemoryLevel`]s (fastest first), per-dtype quantization costs and a
//! launch overhead. Chips are data: they are written in TOML (schema in
//! `presets/README.md`, wire types in [`raw`]), parsed into raw structs that
//! deny unknown fields, then validated into [`Chip`] (every number finite and
//! in its physical range). Errors are [`HwError`]s whose [`Diagnostic`] names
//! the file, line:column, field path and what was expected.
//!
//! Every `presets/*.toml` of the repository is embedded at build time; [`load`]
//! takes a preset name or a file path.
//!
//! ```
//! let t4 = mlsim_hw::load("t4-seed").unwrap();
//! assert_eq!(t4.display_name, "GPU (T4)");
//! assert_eq!(t4.main_memory().bandwidth_bytes_per_s, 320e9);
//!
//! let bad = mlsim_hw::parse_chip("name = 3", "bad.toml").unwrap_err();
//! assert!(bad.to_string().starts_with("bad.toml:1:8: field `name`"));
//! ```
#![deny(missing_docs)]

mod chip;
mod doc;
mod error;
mod interconnect;
mod load;
pub mod power;
pub mod raw;
mod registry;
mod setup;
mod stack;
mod system;

pub use chip::{
    BoardPower, Chip, ChipKind, ChipModel, ClockSource, ComputeArch, ComputePath, ComputeUnit,
    MemoryLevel, PathKind, PathRate, PathUnit, PowerCap,
};
pub use doc::MAX_FILE_BYTES;
pub use error::{Diagnostic, HwError};
pub use interconnect::{Link, LinkScope};
pub use load::{MAX_MEMORY_LEVELS, parse_chip};
pub use registry::{
    Preset, StackPreset, SystemPreset, chip_text, load, load_file, load_framework, load_stack,
    load_system, preset, presets, stack_kind, stack_preset, stack_presets, stack_text,
    system_presets,
};
pub use setup::{DEFAULT_FRAMEWORK, DEFAULT_TIMING, Setup, SetupSpec, Target, load_stack_for};
pub use stack::{
    Dequantize, Framework, KernelTerms, Stack, StackPath, Timing, UnknownTiming, parse_framework,
    parse_stack,
};
pub use system::{Network, System, Topology, parse_system};

/// The JSON Schema of the chip-file format, generated from the wire types'
/// doc comments (pretty-printed, keys sorted, trailing newline). Editors use
/// it to complete and check chip files; `presets/chip.schema.json` is this
/// text, and a test fails when it is stale.
#[cfg(feature = "schema")]
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(raw::RawChip);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}

/// The JSON Schemas of the two stack-file formats, kernel library
/// ([`raw::RawStack`]) and framework ([`raw::RawFramework`]), as one
/// document whose `oneOf` accepts either (`stacks/stack.schema.json`).
#[cfg(feature = "schema")]
pub fn stack_json_schema() -> String {
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code, reason = "only its schema is used")]
    #[allow(
        clippy::large_enum_variant,
        reason = "never built: only its schema is used"
    )]
    #[serde(untagged)]
    /// A software-stack file under `stacks/`: a kernel library (`kind =
    /// "library"`) or a framework (`kind = "framework"`).
    enum StackFile {
        Library(raw::RawStack),
        Framework(raw::RawFramework),
    }
    let schema = schemars::schema_for!(StackFile);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}
