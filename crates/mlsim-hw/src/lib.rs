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
mod error;
mod load;
pub mod raw;
mod registry;

pub use chip::{Chip, ChipKind, ComputeArch, ComputePath, ComputeUnit, MemoryLevel, PathKind};
pub use error::{Diagnostic, HwError};
pub use load::{MAX_FILE_BYTES, parse_chip};
pub use registry::{Preset, load, load_file, preset, presets};

/// The JSON Schema of the chip-file format, generated from the wire types'
/// doc comments (pretty-printed, keys sorted, trailing newline). Editors use
/// it to complete and check chip files; `presets/chip.schema.json` is this
/// text, and a test fails when it is stale.
#[cfg(feature = "schema")]
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(raw::RawChip);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}
