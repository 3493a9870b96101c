//! Writing a calibrated chip file: the source file with the fitted values
//! replaced (comments and sources kept) and a `[calibration]` table that
//! records what was fitted, on what, when, and how well in and out of
//! sample.

use mlsim_hw::Chip;
use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::error::CalibrateError;
use crate::fit::Param;
use crate::metrics::ErrorSummary;

/// What a calibrated file records about its fit.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The measurement file fitted on.
    pub measurements: &'a str,
    /// ISO 8601 date.
    pub date: &'a str,
    /// The chip the fit started from.
    pub base_name: &'a str,
    /// Fitted values, file units.
    pub values: &'a [(Param, f64)],
    /// Compute paths whose tile list the fit narrowed.
    pub tiles: &'a [(mlsim_quant::Dtype, Vec<(u32, u32)>)],
    /// Errors on the fitted points.
    pub in_sample: ErrorSummary,
    /// Errors on held-out points (leave-one-size-out), if computed.
    pub cv: Option<ErrorSummary>,
}

/// `x` rounded to 6 significant digits (the precision written to files).
pub fn round6(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.5e}").parse().unwrap_or(x)
}

/// Round every fitted value to what a file will hold and set it on `chip`.
pub fn apply_rounded(chip: &mut Chip, values: &[(Param, f64)]) -> Vec<(Param, f64)> {
    values
        .iter()
        .map(|(p, v)| {
            let r = round6(*v);
            p.set(chip, r);
            (*p, r)
        })
        .collect()
}

fn table_at<'d>(doc: &'d mut DocumentMut, key: &str) -> Result<&'d mut Table, CalibrateError> {
    doc.get_mut(key)
        .and_then(Item::as_table_mut)
        .ok_or_else(|| {
            CalibrateError::Unsupported(format!("the source chip file has no [{key}] table"))
        })
}

fn path_table(
    doc: &mut DocumentMut,
    dtype: mlsim_quant::Dtype,
) -> Result<&mut Table, CalibrateError> {
    table_at(doc, "compute")?
        .get_mut("paths")
        .and_then(Item::as_table_mut)
        .and_then(|p| p.get_mut(dtype.name()))
        .and_then(Item::as_table_mut)
        .ok_or_else(|| {
            CalibrateError::Unsupported(format!(
                "the source chip file has no [compute.paths.{dtype}] table"
            ))
        })
}

/// The calibrated file's text, from the source chip file's text.
pub fn calibrated_text(
    source: &str,
    new_name: &str,
    record: &Record<'_>,
) -> Result<String, CalibrateError> {
    let mut doc: DocumentMut = source.parse().map_err(|e| {
        CalibrateError::Unsupported(format!("source chip file does not parse: {e}"))
    })?;
    doc["name"] = value(new_name);
    let display = doc
        .get("display_name")
        .and_then(|v| v.as_str())
        .unwrap_or(new_name)
        .to_string();
    if !display.contains("calibrated") {
        let base = display.replace(" (datasheet)", "");
        doc["display_name"] = value(format!("{base} (calibrated)"));
    }
    for (param, v) in record.values {
        match param {
            Param::Efficiency => {
                table_at(&mut doc, "compute")?["efficiency"] = value(*v);
            }
            Param::Speedup(d) => {
                let compute = table_at(&mut doc, "compute")?;
                let speedups = compute.entry("dtype_speedup").or_insert_with(|| {
                    Item::Value(toml_edit::Value::InlineTable(Default::default()))
                });
                match speedups {
                    Item::Value(toml_edit::Value::InlineTable(t)) => {
                        t.insert(d.name(), (*v).into());
                    }
                    Item::Table(t) => {
                        t[d.name()] = value(*v);
                    }
                    _ => {
                        return Err(CalibrateError::Unsupported(
                            "compute.dtype_speedup is not a table".into(),
                        ));
                    }
                }
            }
            Param::LaunchOverhead => doc["launch_overhead_us"] = value(*v),
            Param::PathEfficiency(d) | Param::PathClock(d) | Param::PathLaunch(d) => {
                let key = match param {
                    Param::PathClock(_) => "sustained_clock_ghz",
                    Param::PathLaunch(_) => "launch_overhead_us",
                    _ => "efficiency",
                };
                path_table(&mut doc, *d)?[key] = value(*v);
            }
        }
    }
    for (dtype, tiles) in record.tiles {
        let mut arr = Array::new();
        for (r, c) in tiles {
            let mut pair = Array::new();
            pair.push(i64::from(*r));
            pair.push(i64::from(*c));
            arr.push(pair);
        }
        path_table(&mut doc, *dtype)?["tiles"] = value(arr);
    }
    let mut cal = Table::new();
    let mut fitted: Vec<String> = record.values.iter().map(|(p, _)| p.field_path()).collect();
    let mut values: Vec<String> = record
        .values
        .iter()
        .map(|(p, v)| format!("{} = {v}", p.field_path()))
        .collect();
    for (dtype, tiles) in record.tiles {
        fitted.push(format!("compute.paths.{dtype}.tiles"));
        let list: Vec<String> = tiles.iter().map(|(r, c)| format!("{r}x{c}")).collect();
        values.push(format!("compute.paths.{dtype}.tiles = {}", list.join(" ")));
    }
    cal["note"] = value(format!(
        "fitted by `mlsim calibrate` from {} on {} by least squared log error: {}",
        record.base_name,
        record.measurements,
        values.join(", ")
    ));
    let mut arr = Array::new();
    for f in fitted {
        arr.push(f);
    }
    cal["fitted"] = value(arr);
    cal["measurements"] = value(record.measurements);
    cal["date"] = value(record.date);
    cal["in_sample_mape_pct"] = value(round6(record.in_sample.mape_pct));
    cal["in_sample_median_ape_pct"] = value(round6(record.in_sample.median_ape_pct));
    if let Some(cv) = &record.cv {
        cal["cv"] = value("leave-one-size-out");
        cal["cv_mape_pct"] = value(round6(cv.mape_pct));
        cal["cv_median_ape_pct"] = value(round6(cv.median_ape_pct));
    }
    doc.remove("calibration");
    doc["calibration"] = Item::Table(cal);
    let header = format!(
        "# CALIBRATED chip file written by `mlsim calibrate` on {}: the values named in\n\
         # [calibration].fitted were fitted to {}; everything else, and the comments\n\
         # below, come from `{}` unchanged (comments next to fitted values describe the\n\
         # source's values, not the fitted ones).\n\n",
        record.date, record.measurements, record.base_name
    );
    Ok(header + &doc.to_string())
}
