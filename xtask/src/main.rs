//! `cargo xtask`: project automation (alias in .cargo/config.toml).
//!
//! - `cargo xtask ci`: what `.ci/run` runs (fmt check, clippy with
//!   warnings denied, the test suite, docs with warnings denied).
//! - `cargo xtask layering`: check that every crate depends only on the
//!   crates it may (the same check runs in `cargo test`).

mod figures;
mod layering;
mod low_precision;
mod paper;
mod serving_figures;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "mlsim project automation",
    after_help = "Examples:\n  cargo xtask ci\n  cargo xtask layering\n  cargo xtask figures\n  cargo xtask figures --check --only fig1-speedup-t4"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the CI checks: cargo fmt --check, clippy -D warnings, tests, docs.
    Ci,
    /// Check the crate layering of ARCHITECTURE.md.
    Layering,
    /// Regenerate the paper's figures and tables (paper/figures, paper/generated).
    Figures {
        /// Regenerate in memory and fail, naming the file, if a committed output differs.
        #[arg(long)]
        check: bool,
        /// Only this figure.
        #[arg(long)]
        only: Option<String>,
    },
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn cargo(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Ci => {
            cargo(&["fmt", "--all", "--check"], &[])?;
            cargo(
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
                &[],
            )?;
            cargo(&["test", "--workspace"], &[])?;
            cargo(
                &["doc", "--workspace", "--no-deps"],
                &[("RUSTDOCFLAGS", "-D warnings")],
            )?;
        }
        Cmd::Figures { check, only } => figures::figures(&root(), check, only.as_deref())?,
        Cmd::Layering => {
            let problems = layering::check(&root())?;
            if !problems.is_empty() {
                bail!("layering violations:\n{}", problems.join("\n"));
            }
            println!("layering ok");
        }
    }
    Ok(())
}
