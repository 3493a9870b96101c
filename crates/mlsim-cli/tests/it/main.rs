//! End-to-end tests of the `mlsim` binary.

use std::path::PathBuf;
use std::process::{Command, Output};

mod agreement;
mod determinism;
mod errors;
mod help;
mod host;
mod measure;
mod model;
mod outputs;
#[cfg(feature = "parquet")]
mod parquet;
mod serving;
mod shards;

/// Run `mlsim` with `args` from the workspace root.
pub fn mlsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlsim"))
        .args(args)
        .current_dir(workspace_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("mlsim runs")
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Path of a file under tests/it/bad/.
pub fn bad_file(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/bad")
        .join(name)
        .display()
        .to_string()
}

/// A scratch directory for one test, removed when dropped (also when the
/// test fails).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mlsim-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
