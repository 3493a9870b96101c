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
    /// Validate chip files and run the conformance suite on them; exits 2
    /// naming file, line:column and field of the first problem in an invalid
    /// file, 1 when a valid chip breaks a law of the model.
    #[command(
        after_help = "Examples:\n  mlsim presets check my-chip.toml\n  mlsim presets check presets/*.toml\n\nLaws: finite positive runtimes; more work never faster; more bandwidth never slower;\nroofline peaks agree with per-dtype peaks and no prediction beats its roofline."
    )]
    Check {
        /// Files (or preset names) to check.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Print a commented chip file to start a new chip from.
    #[command(
        after_help = "Examples:\n  mlsim presets new --from h200 > my-gpu.toml\n  mlsim presets new --from cpu-avx512-desktop > my-cpu.toml"
    )]
    New {
        /// The preset (or file) to start from.
        #[arg(long, value_name = "NAME|FILE")]
        from: String,
    },
    /// Print the JSON Schema of the chip-file format (presets/chip.schema.json).
    Schema,
}

#[derive(Debug, serde::Serialize)]
struct PresetEntry {
    name: String,
    display_name: String,
    kind: &'static str,
    /// The chip's model (`original`, `gpu-tiled`, `cpu-blocked`, `systolic`).
    model: &'static str,
    /// Nominal peak per described dtype, TFLOP/s (TOP/s for integers).
    peak_tflops: std::collections::BTreeMap<&'static str, f64>,
    memory_bandwidth_gb_s: f64,
    /// The software stack predictions use by default (empty for a chip on
    /// the original's model).
    default_stack: String,
    /// Whether anything it is predicted with was fitted to measurements:
    /// the chip file (a `[calibration]` record or chip-level
    /// calibrations) or its default stack.
    calibrated: bool,
    /// What was fitted: `chip`, `stack`, or empty.
    calibrated_in: &'static str,
}

fn entry(chip: &Chip) -> PresetEntry {
    let stack_fitted = chip
        .default_stack
        .as_deref()
        .and_then(|s| mlsim_hw::load_stack(s).ok())
        .is_some_and(|s| s.calibration.is_some());
    let chip_fitted = chip.calibration.is_some() || !chip.chip_level_calibrations().is_empty();
    let calibrated_in = match (chip_fitted, stack_fitted) {
        (true, _) => "chip",
        (false, true) => "stack",
        (false, false) => "",
    };
    PresetEntry {
        name: chip.name.clone(),
        display_name: chip.display_name.clone(),
        kind: chip.kind.as_str(),
        model: chip.model.as_str(),
        peak_tflops: chip
            .described_dtypes()
            .into_iter()
            .map(|d| (d.name(), chip.peak_flops(d) / 1e12))
            .collect(),
        memory_bandwidth_gb_s: chip.main_memory().bandwidth_bytes_per_s / 1e9,
        default_stack: chip.default_stack.clone().unwrap_or_default(),
        calibrated: !calibrated_in.is_empty(),
        calibrated_in,
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
            let (mut invalid, mut broken) = (0, 0);
            for f in files {
                match mlsim_hw::load(f)
                    .and_then(|c| mlsim_hw::Setup::with_chip(c, &mlsim_hw::SetupSpec::default()))
                {
                    Ok(setup) => {
                        let chip = &setup.chip;
                        let report = mlsim_engine::conformance::check(&setup.target());
                        if report.violations.is_empty() {
                            outln!(
                                "ok: {f} ({}, {}): {} predictions obey the model's laws",
                                chip.name,
                                chip.display_name,
                                report.predictions
                            );
                        } else {
                            broken += 1;
                            for v in &report.violations {
                                eprintln!(
                                    "error: {f}: conformance law `{}` broken: {}",
                                    v.law, v.detail
                                );
                            }
                        }
                        for (law, why) in &report.exempt {
                            outln!("  not checked: `{law}`: {why}");
                        }
                    }
                    Err(e) => {
                        let e = anyhow::Error::from(e);
                        eprintln!("error: {e:#}");
                        if e.chain()
                            .any(|c| c.downcast_ref::<std::io::Error>().is_some())
                        {
                            eprintln!(
                                "  hint: check the path; presets are named without .toml: `mlsim presets list`"
                            );
                        }
                        invalid += 1;
                    }
                }
            }
            if invalid > 0 {
                return Err(Failure {
                    code: 2,
                    error: anyhow::anyhow!("{invalid} of {} chip files invalid", files.len()),
                });
            }
            if broken > 0 {
                return Err(Failure {
                    code: 1,
                    error: anyhow::anyhow!(
                        "{broken} of {} chips break a law of the model",
                        files.len()
                    ),
                });
            }
            Ok(())
        }
        PresetsCommand::New { from } => {
            let text = match mlsim_hw::preset(from) {
                Some(p) => p.text.to_string(),
                None => {
                    crate::load_chip(from)?;
                    std::fs::read_to_string(from)?
                }
            };
            out!("{}", new_template(&text, from));
            Ok(())
        }
        PresetsCommand::Schema => {
            out!("{}", mlsim_hw::json_schema());
            Ok(())
        }
    }
}

fn list(format: Format) -> CmdResult {
    let chips = mlsim_hw::presets()
        .map(|p| p.load())
        .collect::<Result<Vec<_>, _>>()?;
    let entries: Vec<PresetEntry> = chips.iter().map(entry).collect();
    // The table's columns: a header and the formats it shows, the first the
    // chip describes (fp8: OCP e4m3, else CDNA 3's FNUZ e4m3, marked `*`).
    let shown: [(&str, &[Dtype]); 14] = [
        ("fp64", &[Dtype::Fp64]),
        ("fp32", &[Dtype::Fp32]),
        ("tf32", &[Dtype::Tf32]),
        ("fp16", &[Dtype::Fp16]),
        ("bf16", &[Dtype::Bf16]),
        ("fp8", &[Dtype::Fp8E4m3, Dtype::Fp8E4m3Fnuz]),
        ("int8", &[Dtype::Int8]),
        ("fp6", &[Dtype::Fp6E2m3, Dtype::Fp6E3m2]),
        ("fp4", &[Dtype::Fp4E2m1]),
        ("int4", &[Dtype::Int4]),
        ("mxfp8", &[Dtype::Mxfp8]),
        ("mxfp6", &[Dtype::Mxfp6]),
        ("mxfp4", &[Dtype::Mxfp4]),
        ("nvfp4", &[Dtype::Nvfp4]),
    ];
    let peak = |e: &PresetEntry, d: Dtype| e.peak_tflops.get(d.name()).copied();
    match format {
        Format::Json => write_json(&entries)?,
        Format::Csv => {
            let mut headers = vec!["name", "kind", "model", "display_name"];
            // Every format, so a script sees the FNUZ and fp6 e3m2 columns too.
            let peak_cols: Vec<String> = Dtype::ALL
                .iter()
                .map(|d| format!("peak_{}_tflops", d.name()))
                .collect();
            headers.extend(peak_cols.iter().map(String::as_str));
            headers.extend(["memory_bandwidth_gb_s", "default_stack", "calibrated"]);
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    let mut row = vec![
                        e.name.clone(),
                        e.kind.to_string(),
                        e.model.to_string(),
                        e.display_name.clone(),
                    ];
                    row.extend(
                        Dtype::ALL
                            .iter()
                            .map(|d| peak(e, *d).map(crate::output::csv_num).unwrap_or_default()),
                    );
                    row.push(crate::output::csv_num(e.memory_bandwidth_gb_s));
                    row.push(e.default_stack.clone());
                    row.push(e.calibrated_in.to_string());
                    row
                })
                .collect();
            write_csv(&headers, &rows)?;
        }
        Format::Table => {
            let mut headers = vec!["name".to_string(), "kind".to_string(), "model".to_string()];
            headers.extend(shown.iter().map(|(h, _)| h.to_string()));
            headers.extend([
                "mem GB/s".to_string(),
                "stack".to_string(),
                "fitted".to_string(),
            ]);
            let mut t = Table::new(headers);
            for e in &entries {
                let mut row = vec![e.name.clone(), e.kind.to_string(), e.model.to_string()];
                row.extend(shown.iter().map(|(_, formats)| {
                    formats
                        .iter()
                        .enumerate()
                        .find_map(|(i, d)| {
                            let mark = if i > 0 && *d == Dtype::Fp8E4m3Fnuz {
                                "*"
                            } else {
                                ""
                            };
                            peak(e, *d).map(|v| format!("{}{mark}", sig(v, 4)))
                        })
                        .unwrap_or_else(|| "-".into())
                }));
                row.push(sig(e.memory_bandwidth_gb_s, 4));
                row.push(if e.default_stack.is_empty() {
                    "-".into()
                } else {
                    e.default_stack.clone()
                });
                row.push(if e.calibrated_in.is_empty() {
                    "no".into()
                } else {
                    e.calibrated_in.to_string()
                });
                t.row(row);
            }
            outln!(
                "Peak TFLOP/s (TOP/s for integers) per dtype; '-' = not described by the chip file.\nfp8: OCP e4m3, or (*) CDNA 3's e4m3 FNUZ; fp6: e2m3, else e3m2; mx*/nvfp4: block-scaled.\nmodel: the chip's model (original, gpu-tiled, cpu-blocked, systolic; docs/model/).\nstack: the software stack predictions use by default; fitted: whether the chip file or\nthat stack was fitted to measurements (no: datasheet values and estimates only)"
            );
            out!("{}", t.render());
        }
    }
    Ok(())
}

/// A chip file to start from: the source with a header that says what to
/// do, a placeholder name and no calibration record.
fn new_template(source: &str, from: &str) -> String {
    let mut out = format!(
        "# New chip file, started from `{from}` by `mlsim presets new`.\n\
         # 1. Set `name` (lower-case letters, digits, dashes; the file name without .toml).\n\
         # 2. Replace every value with your chip's, citing its source in a comment;\n\
         #    mark a value you had to estimate with `# estimate:` and the reasoning.\n\
         # 3. Check it: mlsim presets check my-chip.toml\n\
         # Schema: presets/README.md (JSON Schema: mlsim presets schema).\n\
         # The comments below are the source chip's.\n\n"
    );
    let mut in_calibration = false;
    let mut renamed = false;
    for line in source.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_calibration = trimmed.starts_with("[calibration]");
        }
        if in_calibration {
            continue;
        }
        if !renamed && trimmed.starts_with("name =") {
            out.push_str("name = \"my-chip\"                    # rename me\n");
            renamed = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
