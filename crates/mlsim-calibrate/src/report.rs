//! What `mlsim validate` and `mlsim crossover` report, as data: one
//! measurement file with its rows' targets ([`Case`]), its
//! [`ValidationReport`] (serialised, the JSON `mlsim validate` prints), and
//! each dtype's crossover against fp32 every way mlsim computes it
//! ([`dtype_crossovers`]). Shared by the CLI and the Python package, so
//! that both give the same numbers; nothing here prints.

use mlsim_engine::crossover::{
    Family, SearchedCrossover, closed_form, describe_closed_form, search,
};
use mlsim_hw::{Chip, SetupSpec, Target};
use mlsim_quant::{Dtype, seed};

use crate::CalibrateError;
use crate::cv::{FloorReadOff, Holdout, holdout, host_floor_from_smallest, leave_one_chip_out};
use crate::fit::{Param, Sample, default_params, tile_paths};
use crate::measurements::MeasurementSet;
use crate::scorecard::Scorecard;
use crate::targets::RowTargets;
use crate::validate::{
    CrossoverAt, DtypeCrossover, Fastest, Point, Shape, Verdict, crossovers, summary,
};

/// Error summary of one dtype's points.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DtypeSummary {
    /// The dtype.
    pub dtype: Dtype,
    /// Its points.
    pub count: usize,
    /// Mean absolute percentage error.
    pub mape_pct: f64,
    /// Median absolute percentage error.
    pub median_ape_pct: f64,
    /// Mean signed error (bias), percent.
    pub mean_signed_pct: f64,
}

/// One measurement file scored on its chip: the object `mlsim validate
/// --format json` prints (README, "JSON output").
#[derive(Debug, Clone, serde::Serialize)]
#[allow(missing_docs, reason = "the fields are documented in README.md")]
pub struct ValidationReport {
    pub hardware: String,
    pub stack: String,
    pub framework: String,
    pub measurements: String,
    pub measured_device: String,
    pub ignored_columns: Vec<String>,
    /// The host floor read off the file's smallest size, where asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_floor_read_off_us: Option<f64>,
    pub points: Vec<Point>,
    pub mape_pct: f64,
    pub median_ape_pct: f64,
    pub mean_signed_pct: f64,
    pub within_20_pct: f64,
    pub within_25_pct: f64,
    pub per_dtype: Vec<DtypeSummary>,
    pub verdicts: Vec<Verdict>,
    pub verdicts_correct: usize,
    pub verdicts_total: usize,
    pub fastest: Vec<Fastest>,
    pub fastest_correct: usize,
    pub fastest_total: usize,
    /// Verdicts and sizes not scored: the measured gap is within the
    /// run-to-run spread the file gives (0 without spreads).
    pub verdicts_within_spread: usize,
    pub fastest_within_spread: usize,
    /// Points whose prediction misses by more than the measured spread,
    /// out of the points with a known spread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_outside_spread: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_with_spread: Option<usize>,
    pub crossovers: Vec<DtypeCrossover>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fitted_params: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit_mape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit_median_ape_pct: Option<f64>,
    /// How the `cv_*` scores held sizes out: `leave-one-size-out`, or
    /// `100-fold by size` for a file of more than 100 sizes
    /// ([`crate::cv::MAX_SIZE_FOLDS`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv_points: Option<Vec<Point>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv_mape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv_median_ape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loco_points: Option<Vec<Point>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loco_mape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loco_median_ape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout_launch_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout_mape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout_median_ape_pct: Option<f64>,
}

/// Error summaries per dtype, in [`Dtype::ALL`] order.
pub fn per_dtype(points: &[Point]) -> Vec<DtypeSummary> {
    Dtype::ALL
        .into_iter()
        .filter_map(|dtype| {
            let pts: Vec<Point> = points
                .iter()
                .filter(|p| p.dtype == dtype)
                .cloned()
                .collect();
            let s = summary(&pts)?;
            Some(DtypeSummary {
                dtype,
                count: s.count,
                mape_pct: s.mape_pct,
                median_ape_pct: s.median_ape_pct,
                mean_signed_pct: s.mean_signed_pct,
            })
        })
        .collect()
}

/// One measurement file with the targets of its rows.
#[derive(Debug)]
pub struct Case {
    /// The measurements.
    pub set: MeasurementSet,
    /// Each row's target.
    pub rows: RowTargets,
    /// The host floor read off its smallest size, where asked and needed.
    pub read_off: Option<FloorReadOff>,
}

impl Case {
    /// `set` on `chip` with the setup of `spec`; with `read_off`, a file
    /// without a measured host floor (and no floor in `spec`) gets one read
    /// off its smallest size, taken as given. On the original's model a
    /// host floor is the chip's launch overhead (it has no framework).
    pub fn new(
        set: MeasurementSet,
        mut chip: Chip,
        spec: &SetupSpec<'_>,
        read_off: bool,
    ) -> Result<Self, CalibrateError> {
        set.check_runs_on(&chip)?;
        let mut spec = spec.clone();
        let mut floor = None;
        if read_off
            && spec.host_floor_s.is_none()
            && set.rows.iter().all(|r| r.host_floor_us.is_none())
        {
            // Read against the kernel time alone: on the original's model
            // the chip's launch overhead is what the reading replaces.
            let mut bare = chip.clone();
            if !bare.model.uses_stack() {
                bare.launch_overhead_s = 0.0;
            }
            let rows = RowTargets::new(bare, &spec, &set.rows)?;
            floor = host_floor_from_smallest(&rows, &set.rows);
        }
        if !chip.model.uses_stack()
            && let Some(s) = spec.host_floor_s.take().or(floor.map(|f| f.us / 1e6))
        {
            chip.launch_overhead_s = s;
        }
        let mut rows = RowTargets::new(chip, &spec, &set.rows)?;
        if let Some(f) = floor {
            // Taken as given: it replaces every other floor, and a fit
            // leaves the host alone.
            rows.setup.use_host_floor(f.us / 1e6);
        }
        Ok(Case {
            set,
            rows,
            read_off: floor,
        })
    }

    /// The report of this file: scored as given and, with `fit`, fitted
    /// in sample and leaving one size out, with the original's holdout.
    pub fn validate(
        &self,
        fit: bool,
    ) -> Result<(ValidationReport, Option<Holdout>), CalibrateError> {
        let card = Scorecard::new(&self.rows, &self.set.rows, fit)?;
        let h = if card.fitted.is_some() {
            holdout(&self.rows, &self.set.rows).ok()
        } else {
            None
        };
        let mut r = self.report(card);
        if let Some(h) = &h
            && let Some(hs) = summary(&h.points)
        {
            r.holdout_launch_us = Some(h.launch_us);
            r.holdout_mape_pct = Some(hs.mape_pct);
            r.holdout_median_ape_pct = Some(hs.median_ape_pct);
        }
        Ok((r, h))
    }

    fn report(&self, card: Scorecard) -> ValidationReport {
        let s = card.as_given;
        let (verdicts_correct, verdicts_total) = card.verdicts_right();
        let (fastest_correct, fastest_total) = card.fastest_right();
        let (outside, with_spread) = card.outside_spread();
        let (verdicts_within_spread, fastest_within_spread) =
            (card.verdicts_within_spread(), card.fastest_within_spread());
        let setup = &self.rows.setup;
        let gpu = setup.chip.model.uses_stack();
        let mut r = ValidationReport {
            hardware: setup.chip.name.clone(),
            stack: if gpu {
                setup.stack.name.clone()
            } else {
                "none".into()
            },
            framework: if gpu {
                setup.framework.name.clone()
            } else {
                "none".into()
            },
            measurements: self.set.file.clone(),
            measured_device: self.set.hardware().to_string(),
            ignored_columns: self.set.ignored_columns.clone(),
            host_floor_read_off_us: self.read_off.map(|f| f.us),
            mape_pct: s.mape_pct,
            median_ape_pct: s.median_ape_pct,
            mean_signed_pct: s.mean_signed_pct,
            within_20_pct: 100.0 * s.within_20,
            within_25_pct: 100.0 * s.within_25,
            per_dtype: per_dtype(&card.points),
            verdicts_correct,
            verdicts_total,
            verdicts: card.verdicts,
            fastest_correct,
            fastest_total,
            verdicts_within_spread,
            fastest_within_spread,
            points_outside_spread: (with_spread > 0).then_some(outside),
            points_with_spread: (with_spread > 0).then_some(with_spread),
            fastest: card.fastest,
            crossovers: crossovers(&card.points),
            points: card.points,
            fitted_params: None,
            fit_mape_pct: None,
            fit_median_ape_pct: None,
            cv_method: None,
            cv_points: None,
            cv_mape_pct: None,
            cv_median_ape_pct: None,
            loco_points: None,
            loco_mape_pct: None,
            loco_median_ape_pct: None,
            holdout_launch_us: None,
            holdout_mape_pct: None,
            holdout_median_ape_pct: None,
        };
        if let Some(fitted) = card.fitted {
            r.fitted_params = Some(fitted.params);
            r.fit_mape_pct = Some(fitted.in_sample.mape_pct);
            r.fit_median_ape_pct = Some(fitted.in_sample.median_ape_pct);
            r.cv_mape_pct = Some(fitted.loso.mape_pct);
            r.cv_median_ape_pct = Some(fitted.loso.median_ape_pct);
            r.cv_points = Some(fitted.loso_points);
            r.cv_method = Some(crate::cv::size_cv_name(&self.set.rows));
        }
        r
    }
}

/// Leave-one-chip-out over `cases` (files of two or more chips on one
/// stack): each report gets the points and scores of its file predicted
/// by the stack fitted on the other files.
pub fn add_leave_one_chip_out(
    cases: &[Case],
    reports: &mut [ValidationReport],
) -> Result<(), CalibrateError> {
    let samples: Vec<Sample<'_>> = cases
        .iter()
        .map(|c| Sample {
            rows: &c.rows,
            measured: &c.set.rows,
        })
        .collect();
    let mut params: Vec<Param> = Vec::new();
    let mut tiles: Vec<Dtype> = Vec::new();
    for c in cases {
        params.extend(default_params(&c.rows, &c.set.rows));
        tiles.extend(tile_paths(&c.rows.setup, &c.set.rows));
    }
    params.sort();
    params.dedup();
    tiles.sort();
    tiles.dedup();
    let held_out = leave_one_chip_out(&samples, &params, &tiles)?;
    for (r, pts) in reports.iter_mut().zip(held_out) {
        if let Some(s) = summary(&pts) {
            r.loco_mape_pct = Some(s.mape_pct);
            r.loco_median_ape_pct = Some(s.median_ape_pct);
        }
        r.loco_points = Some(pts);
    }
    Ok(())
}

/// A size as printed: `N` for a square GEMM, else `MxNxK`.
pub fn shape_label(s: Shape) -> String {
    if s.0 == s.1 && s.1 == s.2 {
        format!("{}", s.0)
    } else {
        format!("{}x{}x{}", s.0, s.1, s.2)
    }
}

/// A crossover as printed: `always`, `never` or `from SIZE`.
pub fn crossover_label(c: CrossoverAt) -> String {
    match c {
        CrossoverAt::Always => "always".into(),
        CrossoverAt::Never => "never".into(),
        CrossoverAt::From(s) => format!("from {}", shape_label(s)),
    }
}

/// One dtype's crossover against fp32, every way mlsim computes it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DtypeCrossoverRow {
    /// The dtype.
    pub dtype: Dtype,
    /// Whether the dtype has its own hardware path (`None`: the chip's
    /// model has no notion of compute paths).
    pub native: Option<bool>,
    /// The original's analytical formula (chips with quantization costs).
    pub original_formula_ai: Option<f64>,
    /// The roofline closed form, in words.
    pub closed_form: String,
    /// The model's searched crossover.
    pub model: SearchedCrossover,
    /// From the measurements, when given.
    pub measured: Option<String>,
}

/// Every dtype the chip describes but fp32: its crossover against fp32 by
/// the original's formula, the roofline closed form, the model's search
/// over `family` from size `from` to `to`, and the `measured` crossover
/// where given.
pub fn dtype_crossovers(
    target: &Target<'_>,
    family: Family,
    from: u64,
    to: u64,
    measured: &[DtypeCrossover],
) -> Vec<DtypeCrossoverRow> {
    let chip = target.chip;
    chip.described_dtypes()
        .into_iter()
        .filter(|d| *d != Dtype::Fp32)
        .map(|d| DtypeCrossoverRow {
            dtype: d,
            native: target.resolve_path(d).map(|(_, _, native)| native),
            original_formula_ai: chip
                .quantization
                .get(d)
                .and_then(|c| seed::crossover_ai(d, c)),
            closed_form: closed_form(target, d)
                .map_or_else(|| "-".into(), |c| describe_closed_form(&c)),
            model: search(target, d, family, from, to),
            measured: measured
                .iter()
                .find(|c| c.dtype == d)
                .map(|c| crossover_label(c.measured)),
        })
        .collect()
}
