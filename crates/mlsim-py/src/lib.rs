//! The `mlsim` Python package: the Rust engine behind a Python API
//! (`python/mlsim/__init__.pyi` documents it; README, "Python").
//!
//! [`core`] is the logic in plain Rust, tested by `cargo test` ([`systems`]:
//! systems, collectives and serving; [`commands`]: validate-serving, run,
//! the file checks and schemas); the
//! bindings (`python.rs`) exist only with the `python` feature, which
//! maturin turns on (`pyproject.toml`), so the workspace builds and tests
//! without a Python interpreter.

pub mod calibrate;
pub mod commands;
pub mod core;
#[cfg(feature = "python")]
mod python;
pub mod systems;
