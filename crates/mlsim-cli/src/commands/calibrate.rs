//! `mlsim calibrate`: fit a chip's free parameters to measurements and
//! write a calibrated chip file that records the fit.

use std::path::PathBuf;

use clap::Args;
use mlsim_calibrate::cv::leave_one_size_out;
use mlsim_calibrate::fit::{default_params, fit_with_tiles, parse_params, tile_paths};
use mlsim_calibrate::preset::{Record, apply_rounded, calibrated_text};
use mlsim_calibrate::validate::{points, summary};

use crate::output::{Table, sig};
use crate::{CmdResult, Failure};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim calibrate --hw t4 --measurements results/t4-colab-matmul.csv --out presets/t4-calibrated.toml\n  mlsim calibrate --hw my-gpu.toml --measurements my.csv --out my-gpu-fit.toml --params efficiency,launch\n\nParameters: efficiency (GPU chips: every measured dtype path's), efficiency.<dtype>, speedup and\nspeedup.<dtype> (the original's model only), launch, launch.<dtype>.\nDefault on GPU chips: each measured dtype path's efficiency (its sustained clock on power-capped\npaths), its kernel tiles and the launch overhead; on the original's model: efficiency, the\nmeasured dtypes' multipliers and the launch overhead.\nThe fit minimises the squared log error; the file records the in-sample and\nleave-one-size-out errors. Set SOURCE_DATE_EPOCH to fix the recorded date."
)]
pub struct CalibrateArgs {
    /// Chip preset name or TOML file to start from.
    #[arg(long = "hw", value_name = "NAME|FILE")]
    hw: String,
    /// Measurement CSV (see results/README.md).
    #[arg(long, value_name = "FILE")]
    measurements: PathBuf,
    /// Where to write the calibrated chip file; its name is the file name.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    launch: crate::LaunchArg,
    /// Comma-separated parameters to fit.
    #[arg(long, value_name = "LIST")]
    params: Option<String>,
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

pub fn run(args: &CalibrateArgs) -> CmdResult {
    let chip = args.launch.load(&args.hw)?;
    let source = match mlsim_hw::preset(&args.hw) {
        Some(p) => p.text.to_string(),
        None => std::fs::read_to_string(&args.hw)?,
    };
    let set = super::validate::load_measurements(&args.measurements)?;
    let params = match &args.params {
        Some(spec) => parse_params(spec, &chip, &set.rows)?,
        None => default_params(&chip, &set.rows),
    };
    let name = args
        .out
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        .ok_or_else(|| Failure {
            code: 2,
            error: anyhow::anyhow!(
                "--out {}: the file name becomes the chip's name and must be lower-case letters, digits and dashes\n  hint: for example --out t4-calibrated.toml",
                args.out.display()
            ),
        })?
        .to_string();

    // Kernel tiles are fitted with the default parameters only: an explicit
    // --params list fits exactly what it names.
    let tiles = if args.params.is_none() {
        tile_paths(&chip, &set.rows)
    } else {
        Vec::new()
    };
    let fitted = fit_with_tiles(&chip, &params, &tiles, &set.rows)?;
    let mut calibrated = fitted.chip.clone();
    let values = apply_rounded(&mut calibrated, &fitted.values);
    let in_sample = summary(&points(&calibrated, &set.rows)).expect("non-empty");
    let cv_points = leave_one_size_out(&chip, &params, &tiles, &set.rows).ok();
    let cv = cv_points.as_deref().and_then(summary);
    let date = today();
    let measurements = args.measurements.display().to_string();
    let record = Record {
        measurements: &measurements,
        date: &date,
        base_name: &chip.name,
        values: &values,
        tiles: &fitted.tiles,
        in_sample,
        cv,
    };
    let text = calibrated_text(&source, &name, &record)?;
    // The written file must load as a valid chip, or nothing is written.
    mlsim_hw::parse_chip(&text, &args.out.display().to_string())?;
    std::fs::write(&args.out, &text).map_err(|e| Failure {
        code: 2,
        error: anyhow::anyhow!("cannot write {}: {e}", args.out.display()),
    })?;

    let mut t = Table::new(["parameter", "before", "fitted"]);
    for (p, v) in &values {
        t.row([p.field_path(), sig(p.get(&chip), 6), sig(*v, 6)]);
    }
    for (d, tiles) in &fitted.tiles {
        let list: Vec<String> = tiles.iter().map(|(r, c)| format!("{r}x{c}")).collect();
        t.row([
            format!("compute.paths.{d}.tiles"),
            "(all listed)".to_string(),
            list.join(" "),
        ]);
    }
    out!("{}", t.render());
    let mut t = Table::new(["errors", "MAPE %", "median %"]);
    t.row([
        "in sample".to_string(),
        format!("{:.1}", in_sample.mape_pct),
        format!("{:.1}", in_sample.median_ape_pct),
    ]);
    if let Some(cv) = cv {
        t.row([
            "leave-one-size-out".to_string(),
            format!("{:.1}", cv.mape_pct),
            format!("{:.1}", cv.median_ape_pct),
        ]);
    }
    out!("\n{}", t.render());
    outln!("\nwrote {} (chip `{name}`)", args.out.display());
    Ok(())
}
