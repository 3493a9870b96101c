//! `mlsim calibrate`: fit a software stack's free parameters (a chip's, on
//! the original's model) to measurements and write a calibrated file that
//! records the fit.

use std::path::PathBuf;

use clap::Args;
use mlsim_calibrate::cv::calibration_score;
use mlsim_calibrate::fit::{
    Owner, Sample, default_params, fit_samples_with_tiles, parse_params, tile_paths, tiles_field,
};
use mlsim_calibrate::preset::{Record, apply_rounded, calibrated_text};
use mlsim_calibrate::validate::{points, summary};

use crate::output::{Table, sig};
use crate::{CmdResult, Failure};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim calibrate --hw h200 --measurements results/h200-torch-square.csv --host-floor-from-smallest --out my-hopper.toml\n  mlsim calibrate --hw t4-seed --measurements results/t4-colab-matmul.csv --out t4-fit.toml\n  mlsim calibrate --hw my-gpu.toml --measurements my.csv --out my-stack.toml --params efficiency,launch\n\nOn a GPU chip the fit changes the software stack, not the chip: --out is a stack file\n(its name is the file name), started from the stack the measurements ran on, with a\n[calibration] record. Parameters: efficiency (every measured dtype's share of peak),\nefficiency.<dtype>, launch (the host's per-call floor, written as the stack's [host]),\noverhead (the per-call timing loop's own time), fixed (the kernel floor), memory (share\nof main-memory bandwidth), and chip-level calibrations clock.<dtype> and launch.<dtype>,\nwritten to --out-chip. Default: each measured dtype's efficiency, its kernel tiles and\nsplit K, the host floor (when the rows are timed with the host in them and carry no\nmeasured or read-off floor; never over several files, whose hosts differ), the timing\noverhead (per-call rows, one file) and the kernel floor (when some rows are kernel\ntimings). On the original's model (t4-seed, ...) --out is a chip file and the\ndefault is efficiency, the measured dtypes' multipliers and the launch overhead.\nThe fit minimises the squared log error; the file records the in-sample and\nleave-one-size-out errors. Set SOURCE_DATE_EPOCH to fix the recorded date."
)]
pub struct CalibrateArgs {
    /// Chip preset name or TOML file; one for all files, or one per file.
    #[arg(long = "hw", value_name = "NAME|FILE", required = true)]
    hw: Vec<String>,
    /// Measurement CSV (see results/README.md); repeat to fit one stack on
    /// several files (chips of one generation).
    #[arg(long, value_name = "FILE", required = true)]
    measurements: Vec<PathBuf>,
    /// Where to write the calibrated stack file (a chip file on the
    /// original's model); its name is the file name.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Where to write the chip file when chip-level values are fitted on a
    /// GPU chip (`clock.<dtype>`, `launch.<dtype>`, or values the chip file
    /// already carries as calibrations).
    #[arg(long, value_name = "FILE")]
    out_chip: Option<PathBuf>,
    /// Replace --out or --out-chip when the file exists (otherwise an
    /// existing file is kept and the command fails, exit code 2).
    #[arg(long)]
    force: bool,
    /// Comma-separated parameters to fit.
    #[arg(long, value_name = "LIST")]
    params: Option<String>,
    /// For a file without a measured host floor, read the floor off its
    /// smallest size (and do not fit it).
    #[arg(long)]
    host_floor_from_smallest: bool,
    #[command(flatten)]
    setup: crate::SetupArgs,
}

/// Today's date (UTC, ISO 8601), or SOURCE_DATE_EPOCH's.
pub fn today() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    let days = secs.div_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The name a written file gets: its file stem, checked.
fn name_of(path: &std::path::Path, flag: &str) -> Result<String, Failure> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .map(str::to_string)
        .ok_or_else(|| Failure {
            code: 2,
            error: anyhow::anyhow!(
                "{flag} {}: the file name becomes the name inside and must be lower-case letters, digits and dashes\n  hint: for example {flag} my-fit.toml",
                path.display()
            ),
        })
}

pub fn run(args: &CalibrateArgs) -> CmdResult {
    // Refuse before fitting, not after.
    crate::files::check_new(&args.out, args.force, "calibrated file")?;
    if let Some(chip) = &args.out_chip {
        crate::files::check_new(chip, args.force, "chip file")?;
    }
    let files = &args.measurements;
    let cases =
        super::validate::load_cases(&args.hw, files, &args.setup, args.host_floor_from_smallest)?;
    let first = &cases[0];
    let start = &first.rows.setup;
    let gpu = start.chip.model.uses_stack();
    if let Some(other) = cases
        .iter()
        .find(|c| c.rows.setup.stack.name != start.stack.name)
    {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "{} runs on stack `{}` and {} on `{}`: one fit changes one stack\n  hint: pass --stack to fit one stack on all files",
                first.set.file,
                start.stack.name,
                other.set.file,
                other.rows.setup.stack.name
            ),
        });
    }
    let several = cases.len() > 1;
    let mut params: Vec<mlsim_calibrate::fit::Param> = match &args.params {
        Some(spec) => parse_params(spec, start, &first.set.rows)?,
        None => cases
            .iter()
            .flat_map(|c| default_params(&c.rows, &c.set.rows))
            .collect(),
    };
    if several {
        // A host is not a library: over several files each keeps its own
        // floor and timing overhead (measured, read off, or the framework's).
        let host = |p: &mlsim_calibrate::fit::Param| {
            matches!(
                p,
                mlsim_calibrate::fit::Param::LaunchOverhead
                    | mlsim_calibrate::fit::Param::TimingOverhead
            )
        };
        if params.iter().any(host) {
            eprintln!(
                "note: fitting one stack on several files: the host's floor and timing overhead are not fitted (each file keeps its own)"
            );
        }
        params.retain(|p| !host(p));
    } else if first.read_off.is_some() && args.params.is_none() {
        // --host-floor-from-smallest gave the file its floor: fit the
        // library, not the floor.
        params.retain(|p| *p != mlsim_calibrate::fit::Param::LaunchOverhead);
    }
    params.sort();
    params.dedup();
    let stack_name = name_of(&args.out, "--out")?;
    // Kernel tiles are fitted with the default parameters only: an explicit
    // --params list fits exactly what it names.
    let mut tiles: Vec<mlsim_quant::Dtype> = if args.params.is_none() {
        cases
            .iter()
            .flat_map(|c| tile_paths(&c.rows.setup, &c.set.rows))
            .collect()
    } else {
        Vec::new()
    };
    tiles.sort();
    tiles.dedup();
    let samples: Vec<Sample<'_>> = cases
        .iter()
        .map(|c| Sample {
            rows: &c.rows,
            measured: &c.set.rows,
        })
        .collect();
    let fitted = fit_samples_with_tiles(&samples, &params, &tiles)?;
    let mut calibrated = fitted.setup.clone();
    let values = apply_rounded(&mut calibrated, &fitted.values);
    let in_sample_points: Vec<mlsim_calibrate::validate::Point> = cases
        .iter()
        .flat_map(|c| {
            let mut setup = c.rows.setup.clone();
            setup.stack = calibrated.stack.clone();
            if !several {
                setup.chip = calibrated.chip.clone();
            }
            points(&c.rows.with_setup(setup), &c.set.rows)
        })
        .collect();
    let in_sample = summary(&in_sample_points).expect("non-empty");
    let cv = calibration_score(&samples, &params, &tiles);
    let date = today();
    let file = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let rows = &first.rows;
    let (chip_base, stack_base) = (start.chip.name.clone(), start.stack.name.clone());
    let record = |owner: Owner| {
        Record::of(
            owner,
            start,
            &values,
            &fitted.tiles,
            &fitted.split_k,
            &file,
            &date,
            if owner == Owner::Chip {
                &chip_base
            } else {
                &stack_base
            },
            in_sample,
            cv,
        )
    };
    let mut written: Vec<String> = Vec::new();
    let chip_record = record(Owner::Chip);
    let chip_out = if gpu {
        args.out_chip.as_ref()
    } else {
        Some(&args.out)
    };
    if !chip_record.is_empty() {
        let Some(path) = chip_out else {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!(
                    "the fit changes chip values ({}) of `{}`\n  hint: give --out-chip FILE for the calibrated chip file",
                    chip_record
                        .values
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .chain(chip_record.tiles.iter().map(|(p, _)| p.as_str()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    start.chip.name
                ),
            });
        };
        let name = name_of(path, if gpu { "--out-chip" } else { "--out" })?;
        let source = mlsim_hw::chip_text(&args.hw[0])?;
        let text = calibrated_text(&source, &name, "chip", &chip_record)?;
        // The written file must load as a valid chip, or nothing is written.
        mlsim_hw::parse_chip(&text, &path.display().to_string())?;
        crate::files::write_atomic(path, text.as_bytes(), args.force, "chip file")?;
        written.push(format!("{} (chip `{name}`)", path.display()));
    }
    if gpu {
        let source_ref = rows
            .stack_source
            .as_deref()
            .expect("a GPU chip's setup has a stack");
        let (source, _) = mlsim_hw::stack_text(source_ref)?;
        let mut stack_record = record(Owner::Stack);
        // A floor read off the measurements replaced the source stack's
        // own (fitted on another host's run): the written stack must not
        // carry it as if it held for these measurements.
        let source_floor = mlsim_hw::parse_stack(&source, source_ref)?.host_floor_s;
        let floor_fitted = values
            .iter()
            .any(|(p, _)| *p == mlsim_calibrate::fit::Param::LaunchOverhead);
        if source_floor.is_some() && cases.iter().any(|c| c.read_off.is_some()) && !floor_fitted {
            stack_record.removed.push((
                "host.floor_us".to_string(),
                "the measurements' floor was read off their smallest size",
            ));
        }
        if !stack_record.is_empty() {
            let text = calibrated_text(&source, &stack_name, "stack", &stack_record)?;
            mlsim_hw::parse_stack(&text, &args.out.display().to_string())?;
            crate::files::write_atomic(&args.out, text.as_bytes(), args.force, "stack file")?;
            written.push(format!("{} (stack `{stack_name}`)", args.out.display()));
        }
    }

    let mut t = Table::new(["parameter", "before", "fitted"]);
    for (p, v) in &values {
        t.row([p.field_path(start), sig(p.get(start), 6), sig(*v, 6)]);
    }
    for (d, tiles) in &fitted.tiles {
        let list: Vec<String> = tiles.iter().map(|(r, c)| format!("{r}x{c}")).collect();
        t.row([
            tiles_field(start, *d),
            "(all listed)".to_string(),
            list.join(" "),
        ]);
    }
    for (d, on) in &fitted.split_k {
        t.row([
            format!("paths.{d}.split_k"),
            start.stack.split_k(*d).to_string(),
            on.to_string(),
        ]);
    }
    out!("{}", t.render());
    let mut t = Table::new(["errors", "MAPE %", "median %"]);
    t.row([
        "in sample".to_string(),
        format!("{:.1}", in_sample.mape_pct),
        format!("{:.1}", in_sample.median_ape_pct),
    ]);
    if let Some((cv, scheme)) = cv {
        t.row([
            scheme.to_string(),
            format!("{:.1}", cv.mape_pct),
            format!("{:.1}", cv.median_ape_pct),
        ]);
    }
    out!("\n{}", t.render());
    for w in written {
        outln!("\nwrote {w}");
    }
    Ok(())
}
