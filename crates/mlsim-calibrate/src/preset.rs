//! Writing a calibrated file (a software stack, or a chip for the
//! original's model and chip-level calibrations): the source file with the
//! fitted values set (comments and sources kept) and a `[calibration]`
//! table that records what was fitted, on what, when, and how well in and
//! out of sample.

use mlsim_hw::Setup;
use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::error::CalibrateError;
use crate::fit::{Owner, Param, tiles_field, tiles_owner};
use crate::metrics::ErrorSummary;

/// What a calibrated file records about its fit.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The measurement file fitted on.
    pub measurements: &'a str,
    /// ISO 8601 date.
    pub date: &'a str,
    /// The file the fit started from (a stack or chip name).
    pub base_name: &'a str,
    /// Fitted values of this file: field path and value, file units.
    pub values: Vec<(String, f64)>,
    /// Tile lists the fit narrowed in this file: field path and tiles.
    pub tiles: Vec<(String, Vec<(u32, u32)>)>,
    /// Split-K choices the fit made in this file: field path and flag.
    pub flags: Vec<(String, bool)>,
    /// Fields of the source file that did not hold for the fitted data and
    /// are left out (a host floor of another host, when the measurements'
    /// floor was read off them), with the reason.
    pub removed: Vec<(String, &'static str)>,
    /// Errors on the fitted points.
    pub in_sample: ErrorSummary,
    /// Errors on held-out points, if computed, and the scheme
    /// (`leave-one-size-out`, `leave-one-chip-out`).
    pub cv: Option<(ErrorSummary, &'a str)>,
}

impl<'a> Record<'a> {
    /// The record of the values a fit set in the file `owner` (the chip or
    /// the stack of `setup`).
    #[allow(clippy::too_many_arguments)]
    pub fn of(
        owner: Owner,
        setup: &Setup,
        values: &[(Param, f64)],
        tiles: &[(mlsim_quant::Dtype, Vec<(u32, u32)>)],
        split_k: &[(mlsim_quant::Dtype, bool)],
        measurements: &'a str,
        date: &'a str,
        base_name: &'a str,
        in_sample: ErrorSummary,
        cv: Option<(ErrorSummary, &'a str)>,
    ) -> Self {
        Self {
            measurements,
            date,
            base_name,
            values: values
                .iter()
                .filter(|(p, _)| p.owner(setup) == owner)
                .map(|(p, v)| (p.field_path(setup), *v))
                .collect(),
            tiles: tiles
                .iter()
                .filter(|(d, _)| tiles_owner(setup, *d) == owner)
                .map(|(d, t)| (tiles_field(setup, *d), t.clone()))
                .collect(),
            // Split K is a stack's choice: only the stack file records it.
            flags: if owner == Owner::Stack {
                split_k
                    .iter()
                    .map(|(d, on)| (format!("paths.{d}.split_k"), *on))
                    .collect()
            } else {
                Vec::new()
            },
            removed: Vec::new(),
            in_sample,
            cv,
        }
    }

    /// Whether the fit set or removed anything in this file.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
            && self.tiles.is_empty()
            && self.flags.is_empty()
            && self.removed.is_empty()
    }
}

/// `x` rounded to 6 significant digits (the precision written to files).
pub fn round6(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.5e}").parse().unwrap_or(x)
}

/// Round every fitted value to what a file will hold and set it on `setup`.
pub fn apply_rounded(setup: &mut Setup, values: &[(Param, f64)]) -> Vec<(Param, f64)> {
    values
        .iter()
        .map(|(p, v)| {
            let r = round6(*v);
            p.set(setup, r);
            (*p, r)
        })
        .collect()
}

/// The table at the dotted path `keys`, created where missing.
fn table_at<'d>(doc: &'d mut DocumentMut, keys: &[&str]) -> Result<&'d mut Table, CalibrateError> {
    let mut table = doc.as_table_mut();
    for key in keys {
        let item = table.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        table = item.as_table_mut().ok_or_else(|| {
            CalibrateError::Unsupported(format!(
                "`{}` in the source file is not a table",
                keys.join(".")
            ))
        })?;
    }
    Ok(table)
}

/// Set the value at the dotted field path `path` (tables created where
/// missing).
fn set_path(doc: &mut DocumentMut, path: &str, v: Item) -> Result<(), CalibrateError> {
    let keys: Vec<&str> = path.split('.').collect();
    let (last, tables) = keys.split_last().expect("a non-empty path");
    table_at(doc, tables)?[*last] = v;
    Ok(())
}

/// Remove the field at the dotted path `path`, and its table when that
/// leaves it empty (an empty table can be invalid, e.g. `[host]`).
fn remove_path(doc: &mut DocumentMut, path: &str) {
    let keys: Vec<&str> = path.split('.').collect();
    let (last, tables) = keys.split_last().expect("a non-empty path");
    let mut table = doc.as_table_mut();
    for key in tables {
        match table.get_mut(key).and_then(Item::as_table_mut) {
            Some(t) => table = t,
            None => return,
        }
    }
    table.remove(last);
    if table.is_empty()
        && let Some((parent, _)) = path.rsplit_once('.')
    {
        remove_path(doc, parent);
    }
}

fn tile_array(tiles: &[(u32, u32)]) -> Array {
    let mut arr = Array::new();
    for (r, c) in tiles {
        let mut pair = Array::new();
        pair.push(i64::from(*r));
        pair.push(i64::from(*c));
        arr.push(pair);
    }
    arr
}

/// The calibrated file's text, from the source file's text (a chip or a
/// stack file: the field paths in `record` say where each value goes).
/// `noun` names the kind of file in the header comment.
pub fn calibrated_text(
    source: &str,
    new_name: &str,
    noun: &str,
    record: &Record<'_>,
) -> Result<String, CalibrateError> {
    // A source that is itself a calibrated file: its header is replaced,
    // not stacked under a new one.
    let mut source = source;
    while let Some(rest) = source.strip_prefix("# CALIBRATED ") {
        source = rest.split_once("\n\n").map_or("", |(_, after)| after);
    }
    let mut doc: DocumentMut = source.parse().map_err(|e| {
        CalibrateError::Unsupported(format!("source {noun} file does not parse: {e}"))
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
    for (path, v) in &record.values {
        if let Some(d) = path.strip_prefix("compute.dtype_speedup.") {
            // An inline table in the original's files.
            let compute = table_at(&mut doc, &["compute"])?;
            match compute
                .entry("dtype_speedup")
                .or_insert_with(|| Item::Value(toml_edit::Value::InlineTable(Default::default())))
            {
                Item::Value(toml_edit::Value::InlineTable(t)) => {
                    t.insert(d, (*v).into());
                }
                Item::Table(t) => t[d] = value(*v),
                _ => {
                    return Err(CalibrateError::Unsupported(
                        "compute.dtype_speedup is not a table".into(),
                    ));
                }
            }
        } else {
            set_path(&mut doc, path, value(*v))?;
        }
    }
    for (path, tiles) in &record.tiles {
        set_path(&mut doc, path, value(tile_array(tiles)))?;
    }
    for (path, on) in &record.flags {
        set_path(&mut doc, path, value(*on))?;
    }
    for (path, _) in &record.removed {
        remove_path(&mut doc, path);
    }
    // What an earlier fit of the source set and this one did not refit is
    // still a fitted value: it stays in the list.
    let earlier: Vec<String> = doc
        .get("calibration")
        .and_then(|c| c.get("fitted"))
        .and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut cal = Table::new();
    let mut fitted: Vec<String> = record.values.iter().map(|(p, _)| p.clone()).collect();
    let mut values: Vec<String> = record
        .values
        .iter()
        .map(|(p, v)| format!("{p} = {v}"))
        .collect();
    for (path, tiles) in &record.tiles {
        fitted.push(path.clone());
        let list: Vec<String> = tiles.iter().map(|(r, c)| format!("{r}x{c}")).collect();
        values.push(format!("{path} = {}", list.join(" ")));
    }
    for (path, on) in &record.flags {
        fitted.push(path.clone());
        values.push(format!("{path} = {on}"));
    }
    for (path, why) in &record.removed {
        values.push(format!("{path} removed ({why})"));
    }
    cal["note"] = value(format!(
        "fitted by `mlsim calibrate` from {} on {} by least squared log error: {}",
        record.base_name,
        record.measurements,
        values.join(", ")
    ));
    for f in earlier {
        if !fitted.contains(&f) && !record.removed.iter().any(|(p, _)| *p == f) {
            fitted.push(f);
        }
    }
    let mut arr = Array::new();
    for f in fitted {
        arr.push(f);
    }
    cal["fitted"] = value(arr);
    cal["measurements"] = value(record.measurements);
    cal["date"] = value(record.date);
    cal["in_sample_mape_pct"] = value(round6(record.in_sample.mape_pct));
    cal["in_sample_median_ape_pct"] = value(round6(record.in_sample.median_ape_pct));
    if let Some((cv, scheme)) = &record.cv {
        cal["cv"] = value(*scheme);
        cal["cv_mape_pct"] = value(round6(cv.mape_pct));
        cal["cv_median_ape_pct"] = value(round6(cv.median_ape_pct));
    }
    doc.remove("calibration");
    doc["calibration"] = Item::Table(cal);
    let header = format!(
        "# CALIBRATED {noun} file written by `mlsim calibrate` on {}: the values named in\n\
         # [calibration].fitted were fitted to {}; everything else, and the comments\n\
         # below, come from `{}` unchanged (comments next to fitted values describe the\n\
         # source's values, not the fitted ones).\n\n",
        record.date, record.measurements, record.base_name
    );
    Ok(header + &doc.to_string())
}
