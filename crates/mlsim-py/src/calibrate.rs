//! `mlsim calibrate` in plain Rust: the fit of a stack's free parameters
//! (a chip's, on the original's model) to measurements, returned as the
//! fitted values, the errors and the text of the calibrated files (what
//! the CLI writes with `--out` and `--out-chip`). Writing is the caller's
//! ([`write_new`]).

use mlsim_calibrate::cv::calibration_score;
use mlsim_calibrate::fit::{
    Owner, Param, Sample, default_params, fit_samples_with_tiles, parse_params, tile_paths,
    tiles_field,
};
use mlsim_calibrate::preset::{Record, apply_rounded, calibrated_text};
use mlsim_calibrate::report::Case;
use mlsim_calibrate::validate::{points, summary};
use serde_json::{Value, json};

use crate::core::Error;

/// What to fit and how the written files are named.
#[derive(Debug)]
pub struct Request {
    /// One case per measurement file (measurements on their chip's setup).
    pub cases: Vec<Case>,
    /// The first chip's name or path (its file is the chip file's source).
    pub chip_source: String,
    /// The measurement files as shown (recorded in the written files).
    pub files: Vec<String>,
    /// `--params` (None: the CLI's default parameters and kernel tiles).
    pub params: Option<String>,
    /// The calibrated file's name (the CLI's `--out` file stem).
    pub name: String,
    /// The chip file's name where chip-level values are fitted on a GPU
    /// chip (the CLI's `--out-chip` file stem).
    pub chip_name: Option<String>,
    /// The date recorded (`YYYY-MM-DD`).
    pub date: String,
}

/// The fit: the JSON the Python function returns, and the two texts.
#[derive(Debug)]
pub struct Calibration {
    /// `{"parameters", "tiles", "split_k", "in_sample", "cv", "notes"}`.
    pub report: Value,
    /// The calibrated stack file (a GPU chip), when the fit changes it.
    pub stack_toml: Option<String>,
    /// The calibrated chip file (the original's model, or chip-level
    /// values on a GPU chip).
    pub chip_toml: Option<String>,
    /// Whether the chip is on a stack (a GPU-style model): its chip file
    /// is `--out-chip`'s, else `--out`'s.
    pub gpu: bool,
}

/// Whether `name` can name a file's contents (the CLI's rule for file
/// stems): lower-case letters, digits and dashes.
pub fn check_name(name: &str, what: &str) -> Result<(), Error> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Ok(())
    } else {
        Err(Error::Value(format!(
            "{what} `{name}`: the file name becomes the name inside and must be lower-case letters, digits and dashes\n  hint: for example my-fit.toml"
        )))
    }
}

/// Today's date (UTC, ISO 8601), or SOURCE_DATE_EPOCH's (the CLI's).
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

/// Refuse to replace an existing `path` without `force` (the CLI's
/// message, `force=True` for `--force`).
pub fn check_new(path: &str, force: bool, what: &str) -> Result<(), Error> {
    if !force && std::path::Path::new(path).exists() {
        return Err(Error::Value(format!(
            "{path}: a file is there already; mlsim does not replace a {what} unless asked\n  hint: pass force=True to replace it, or write to another file"
        )));
    }
    Ok(())
}

/// Write `text` to `path` whole or not at all (a temporary file in the
/// same folder, renamed over the target); an existing file is replaced
/// only with `force`.
pub fn write_new(path: &str, text: &str, force: bool, what: &str) -> Result<(), Error> {
    check_new(path, force, what)?;
    let target = std::path::Path::new(path);
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let fail = |e: std::io::Error| Error::Value(format!("cannot write {path}: {e}"));
    std::fs::write(&tmp, text).map_err(fail)?;
    let done = if force {
        std::fs::rename(&tmp, target)
    } else {
        // Never replace a file that appeared meanwhile.
        std::fs::hard_link(&tmp, target)
    };
    // After a rename there is nothing left to remove.
    let _ = std::fs::remove_file(&tmp);
    done.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Value(format!(
                "{path}: a file is there already; mlsim does not replace a {what} unless asked\n  hint: pass force=True to replace it, or write to another file"
            ))
        } else {
            fail(e)
        }
    })
}

fn summary_json(s: &mlsim_calibrate::metrics::ErrorSummary) -> Value {
    json!({ "points": s.count, "mape_pct": s.mape_pct, "median_ape_pct": s.median_ape_pct })
}

/// Fit as `mlsim calibrate` fits (same parameters, tiles, cross-validation
/// and records) and build the calibrated files' texts.
pub fn calibrate(req: &Request) -> Result<Calibration, Error> {
    let cases = &req.cases;
    let first = cases
        .first()
        .ok_or_else(|| Error::Value("no measurements given".into()))?;
    let start = &first.rows.setup;
    let gpu = start.chip.model.uses_stack();
    if let Some(other) = cases
        .iter()
        .find(|c| c.rows.setup.stack.name != start.stack.name)
    {
        return Err(Error::Value(format!(
            "{} runs on stack `{}` and {} on `{}`: one fit changes one stack\n  hint: pass stack= to mlsim.chip to fit one stack on all files",
            first.set.file, start.stack.name, other.set.file, other.rows.setup.stack.name
        )));
    }
    let several = cases.len() > 1;
    let mut notes = Vec::new();
    let mut params: Vec<Param> = match &req.params {
        Some(spec) => parse_params(spec, start, &first.set.rows)?,
        None => cases
            .iter()
            .flat_map(|c| default_params(&c.rows, &c.set.rows))
            .collect(),
    };
    if several {
        let host = |p: &Param| matches!(p, Param::LaunchOverhead | Param::TimingOverhead);
        if params.iter().any(host) {
            notes.push("fitting one stack on several files: the host's floor and timing overhead are not fitted (each file keeps its own)".to_string());
        }
        params.retain(|p| !host(p));
    } else if first.read_off.is_some() && req.params.is_none() {
        params.retain(|p| *p != Param::LaunchOverhead);
    }
    params.sort();
    params.dedup();
    let mut tiles: Vec<mlsim_quant::Dtype> = if req.params.is_none() {
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
    let in_sample = summary(&in_sample_points)
        .ok_or_else(|| Error::Measurement("no measured points to fit".into()))?;
    let cv = calibration_score(&samples, &params, &tiles);
    let file = req.files.join(", ");
    let (chip_base, stack_base) = (start.chip.name.clone(), start.stack.name.clone());
    let record = |owner: Owner| {
        Record::of(
            owner,
            start,
            &values,
            &fitted.tiles,
            &fitted.split_k,
            &file,
            &req.date,
            if owner == Owner::Chip {
                &chip_base
            } else {
                &stack_base
            },
            in_sample,
            cv,
        )
    };
    let chip_record = record(Owner::Chip);
    let mut chip_toml = None;
    if !chip_record.is_empty() {
        let name = if gpu {
            req.chip_name.clone().ok_or_else(|| {
                Error::Value(format!(
                    "the fit changes chip values ({}) of `{}`\n  hint: give out_chip= for the calibrated chip file",
                    chip_record
                        .values
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .chain(chip_record.tiles.iter().map(|(p, _)| p.as_str()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    start.chip.name
                ))
            })?
        } else {
            req.name.clone()
        };
        let source = mlsim_hw::chip_text(&req.chip_source)?;
        let text = calibrated_text(&source, &name, "chip", &chip_record)?;
        // The text must load as a valid chip, or nothing is returned.
        mlsim_hw::parse_chip(&text, &format!("{name}.toml"))?;
        chip_toml = Some(text);
    }
    let mut stack_toml = None;
    if gpu {
        let source_ref = first.rows.stack_source.as_deref().ok_or_else(|| {
            Error::Value(format!("the setup of `{}` has no stack", start.chip.name))
        })?;
        let (source, _) = mlsim_hw::stack_text(source_ref)?;
        let mut stack_record = record(Owner::Stack);
        let source_floor = mlsim_hw::parse_stack(&source, source_ref)?.host_floor_s;
        let floor_fitted = values.iter().any(|(p, _)| *p == Param::LaunchOverhead);
        if source_floor.is_some() && cases.iter().any(|c| c.read_off.is_some()) && !floor_fitted {
            stack_record.removed.push((
                "host.floor_us".to_string(),
                "the measurements' floor was read off their smallest size",
            ));
        }
        if !stack_record.is_empty() {
            let text = calibrated_text(&source, &req.name, "stack", &stack_record)?;
            mlsim_hw::parse_stack(&text, &format!("{}.toml", req.name))?;
            stack_toml = Some(text);
        }
    }
    let parameters: Vec<Value> = values
        .iter()
        .map(|(p, v)| json!({ "parameter": p.field_path(start), "before": p.get(start), "fitted": v }))
        .collect();
    let tiles_out: Vec<Value> = fitted
        .tiles
        .iter()
        .map(|(d, t)| {
            json!({
                "parameter": tiles_field(start, *d),
                "tiles": t.iter().map(|(r, c)| format!("{r}x{c}")).collect::<Vec<_>>(),
            })
        })
        .collect();
    let split_k: Vec<Value> = fitted
        .split_k
        .iter()
        .map(|(d, on)| {
            json!({
                "parameter": format!("paths.{d}.split_k"),
                "before": start.stack.split_k(*d),
                "fitted": on,
            })
        })
        .collect();
    let report = json!({
        "parameters": parameters,
        "tiles": tiles_out,
        "split_k": split_k,
        "in_sample": summary_json(&in_sample),
        "cv": cv.map(|(s, scheme)| {
            let mut v = summary_json(&s);
            v["scheme"] = json!(scheme);
            v
        }),
        "notes": notes,
    });
    Ok(Calibration {
        report,
        stack_toml,
        chip_toml,
        gpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_cli_file_stems() {
        assert!(check_name("my-fit-2", "out").is_ok());
        for bad in ["", "My-Fit", "my_fit", "my fit"] {
            assert!(
                matches!(check_name(bad, "out"), Err(Error::Value(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_existing_file_is_replaced_only_with_force() {
        let dir = std::env::temp_dir().join(format!("mlsim-py-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fit.toml").display().to_string();
        write_new(&path, "one\n", false, "stack file").unwrap();
        let e = write_new(&path, "two\n", false, "stack file").unwrap_err();
        assert!(e.message().contains("a file is there already"), "{e:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
        write_new(&path, "two\n", true, "stack file").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
