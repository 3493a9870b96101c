//! `mlsim presets`: list, show and check chip descriptions.

use clap::Subcommand;
use mlsim_hw::Chip;
use mlsim_quant::Dtype;

use crate::output::{Format, Table, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Subcommand)]
pub enum PresetsCommand {
    /// List the embedded presets with their kind, peaks and bandwidth.
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print a preset's TOML file (or any chip file).
    Show {
        /// Preset name or path.
        name: String,
    },
    /// Validate chip files; exits 2 naming file, line:column and field of
    /// the first problem in each invalid file.
    #[command(
        after_help = "Examples:\n  mlsim presets check my-chip.toml\n  mlsim presets check presets/*.toml"
    )]
    Check {
        /// Files (or preset names) to check.
        #[arg(required = true)]
        files: Vec<String>,
    },
}

#[derive(Debug, serde::Serialize)]
struct PresetEntry {
    name: String,
    display_name: String,
    kind: &'static str,
    /// Nominal peak per described dtype, TFLOP/s (TOP/s for integers).
    peak_tflops: std::collections::BTreeMap<&'static str, f64>,
    memory_bandwidth_gb_s: f64,
    calibrated: bool,
}

fn entry(chip: &Chip) -> PresetEntry {
    PresetEntry {
        name: chip.name.clone(),
        display_name: chip.display_name.clone(),
        kind: chip.kind.as_str(),
        peak_tflops: chip
            .described_dtypes()
            .into_iter()
            .map(|d| (d.name(), chip.peak_flops(d) / 1e12))
            .collect(),
        memory_bandwidth_gb_s: chip.main_memory().bandwidth_bytes_per_s / 1e9,
        calibrated: chip.calibration.is_some(),
    }
}

pub fn run(cmd: &PresetsCommand) -> CmdResult {
    match cmd {
        PresetsCommand::List { format } => list(format.format),
        PresetsCommand::Show { name } => {
            let text = match mlsim_hw::preset(name) {
                Some(p) => p.text.to_string(),
                None => {
                    // Validate first so a bad path gets the usual message.
                    crate::load_chip(name)?;
                    std::fs::read_to_string(name)?
                }
            };
            out!("{text}");
            Ok(())
        }
        PresetsCommand::Check { files } => {
            let mut failed = 0;
            for f in files {
                match mlsim_hw::load(f) {
                    Ok(chip) => outln!("ok: {f} ({}, {})", chip.name, chip.display_name),
                    Err(e) => {
                        eprintln!("error: {e}");
                        failed += 1;
                    }
                }
            }
            if failed > 0 {
                return Err(Failure {
                    code: 2,
                    error: anyhow::anyhow!("{failed} of {} chip files invalid", files.len()),
                });
            }
            Ok(())
        }
    }
}

fn list(format: Format) -> CmdResult {
    let chips = mlsim_hw::presets()
        .map(|p| p.load())
        .collect::<Result<Vec<_>, _>>()?;
    let entries: Vec<PresetEntry> = chips.iter().map(entry).collect();
    let shown = [
        Dtype::Fp32,
        Dtype::Tf32,
        Dtype::Fp16,
        Dtype::Bf16,
        Dtype::Fp8E4m3,
        Dtype::Int8,
        Dtype::Int4,
    ];
    let peak = |e: &PresetEntry, d: Dtype| e.peak_tflops.get(d.name()).copied();
    match format {
        Format::Json => write_json(&entries)?,
        Format::Csv => {
            let mut headers = vec!["name", "kind", "display_name"];
            let peak_cols: Vec<String> = shown
                .iter()
                .map(|d| format!("peak_{}_tflops", d.name()))
                .collect();
            headers.extend(peak_cols.iter().map(String::as_str));
            headers.extend(["memory_bandwidth_gb_s", "calibrated"]);
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    let mut row = vec![e.name.clone(), e.kind.to_string(), e.display_name.clone()];
                    row.extend(
                        shown
                            .iter()
                            .map(|d| peak(e, *d).map(crate::output::csv_num).unwrap_or_default()),
                    );
                    row.push(crate::output::csv_num(e.memory_bandwidth_gb_s));
                    row.push(e.calibrated.to_string());
                    row
                })
                .collect();
            write_csv(&headers, &rows)?;
        }
        Format::Table => {
            let mut headers = vec!["name".to_string(), "kind".to_string()];
            headers.extend(shown.iter().map(|d| d.name().to_string()));
            headers.extend(["mem GB/s".to_string(), "calibrated".to_string()]);
            let mut t = Table::new(headers);
            for e in &entries {
                let mut row = vec![e.name.clone(), e.kind.to_string()];
                row.extend(
                    shown
                        .iter()
                        .map(|d| peak(e, *d).map_or_else(|| "-".into(), |v| sig(v, 4))),
                );
                row.push(sig(e.memory_bandwidth_gb_s, 4));
                row.push(if e.calibrated { "yes" } else { "no" }.into());
                t.row(row);
            }
            outln!(
                "Peak TFLOP/s (TOP/s for integers) per dtype; '-' = not described by the chip file"
            );
            out!("{}", t.render());
        }
    }
    Ok(())
}
