//! `mlsim validate`: a chip's predictions against measurements, in sample
//! and out of sample.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use mlsim_calibrate::cv::{Holdout, holdout};
use mlsim_calibrate::measurements::{MeasurementSet, read_measurements};
use mlsim_calibrate::metrics::ErrorSummary;
use mlsim_calibrate::scorecard::{Scorecard, sizes};
use mlsim_calibrate::validate::{
    CrossoverAt, DtypeCrossover, Fastest, Point, Shape, Verdict, crossovers, points, summary,
};
use mlsim_quant::Dtype;

use crate::output::{Format, Table, csv_num, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CvArg {
    /// Only the preset as given.
    None,
    /// Also fit the preset's free parameters leaving one size out at a time.
    Loso,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim validate --hw t4-seed --measurements results/t4-colab-matmul.csv\n  mlsim validate --hw t4-seed --measurements results/t4-colab-matmul.csv --cv none --threshold 60\n  mlsim validate --hw my-gpu.toml --measurements my-gpu.csv --format json\n\nErrors are signed: positive means the model predicted a longer runtime than measured.\nWith --cv loso (the default) the chip's free parameters (as `mlsim calibrate` fits them by\ndefault) are also fitted on all sizes but one and scored on the size left out;\nthe in-sample fit is shown next to it, never instead of it."
)]
pub struct ValidateArgs {
    /// Chip preset name or TOML file.
    #[arg(long = "hw", value_name = "NAME|FILE")]
    hw: String,
    /// Measurement CSV (see results/README.md).
    #[arg(long, value_name = "FILE")]
    measurements: PathBuf,
    /// Exit with status 1 when the MAPE of the chip as given exceeds PCT.
    #[arg(long, value_name = "PCT")]
    threshold: Option<f64>,
    /// Cross-validation.
    #[arg(long, value_enum, default_value_t = CvArg::Loso)]
    cv: CvArg,
    /// Also print the paper's Table 1: signed error per size and dtype.
    #[arg(long)]
    table1: bool,
    /// A second chip whose signed errors Table 1 shows next to this one's
    /// (e.g. the original's `t4-seed`).
    #[arg(long, value_name = "NAME|FILE", requires = "table1")]
    baseline: Option<String>,
    #[command(flatten)]
    launch: crate::LaunchArg,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, serde::Serialize)]
struct DtypeSummary {
    dtype: Dtype,
    count: usize,
    mape_pct: f64,
    median_ape_pct: f64,
    mean_signed_pct: f64,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    hardware: String,
    measurements: String,
    measured_device: String,
    ignored_columns: Vec<String>,
    points: Vec<Point>,
    mape_pct: f64,
    median_ape_pct: f64,
    mean_signed_pct: f64,
    within_20_pct: f64,
    within_25_pct: f64,
    per_dtype: Vec<DtypeSummary>,
    verdicts: Vec<Verdict>,
    verdicts_correct: usize,
    verdicts_total: usize,
    fastest: Vec<Fastest>,
    fastest_correct: usize,
    fastest_total: usize,
    crossovers: Vec<DtypeCrossover>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fitted_params: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fit_mape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fit_median_ape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cv_points: Option<Vec<Point>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cv_mape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cv_median_ape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holdout_launch_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holdout_mape_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holdout_median_ape_pct: Option<f64>,
}

pub fn load_measurements(path: &std::path::Path) -> Result<MeasurementSet, Failure> {
    let set = read_measurements(path)?;
    if !set.ignored_columns.is_empty() {
        eprintln!(
            "note: {}: columns not used by mlsim: {}",
            set.file,
            set.ignored_columns.join(", ")
        );
    }
    Ok(set)
}

fn per_dtype(points: &[Point]) -> Vec<DtypeSummary> {
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

pub fn run(args: &ValidateArgs) -> CmdResult {
    let chip = args.launch.load(&args.hw)?;
    let set = load_measurements(&args.measurements)?;
    let card = Scorecard::new(&chip, &set.rows, args.cv == CvArg::Loso)?;
    let s = card.as_given;
    let (verdicts_correct, verdicts_total) = card.verdicts_right();
    let (fastest_correct, fastest_total) = card.fastest_right();
    let mut report = Report {
        hardware: chip.name.clone(),
        measurements: set.file.clone(),
        measured_device: set.hardware().to_string(),
        ignored_columns: set.ignored_columns.clone(),
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
        fastest: card.fastest,
        crossovers: crossovers(&card.points),
        points: card.points,
        fitted_params: None,
        fit_mape_pct: None,
        fit_median_ape_pct: None,
        cv_points: None,
        cv_mape_pct: None,
        cv_median_ape_pct: None,
        holdout_launch_us: None,
        holdout_mape_pct: None,
        holdout_median_ape_pct: None,
    };
    let mut holdout_result: Option<Holdout> = None;
    if args.cv == CvArg::Loso && sizes(&set.rows) < 2 {
        eprintln!(
            "note: {}: one size only, so no leave-one-size-out score",
            set.file
        );
    }
    if let Some(fitted) = card.fitted {
        report.fitted_params = Some(fitted.params);
        report.fit_mape_pct = Some(fitted.in_sample.mape_pct);
        report.fit_median_ape_pct = Some(fitted.in_sample.median_ape_pct);
        report.cv_mape_pct = Some(fitted.loso.mape_pct);
        report.cv_median_ape_pct = Some(fitted.loso.median_ape_pct);
        report.cv_points = Some(fitted.loso_points);
        if let Ok(h) = holdout(&chip, &set.rows) {
            let hs = summary(&h.points).expect("non-empty");
            report.holdout_launch_us = Some(h.launch_us);
            report.holdout_mape_pct = Some(hs.mape_pct);
            report.holdout_median_ape_pct = Some(hs.median_ape_pct);
            holdout_result = Some(h);
        }
    }
    match args.format.format {
        Format::Json => write_json(&report)?,
        Format::Csv => {
            let headers = [
                "m",
                "n",
                "k",
                "dtype",
                "measured_ms",
                "predicted_ms",
                "error_pct",
                "cv_predicted_ms",
                "cv_error_pct",
            ];
            let rows: Vec<Vec<String>> = report
                .points
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let cv = report.cv_points.as_ref().map(|c| &c[i]);
                    vec![
                        p.m.to_string(),
                        p.n.to_string(),
                        p.k.to_string(),
                        p.dtype.to_string(),
                        csv_num(p.measured_ms),
                        csv_num(p.predicted_ms),
                        csv_num(p.error_pct),
                        cv.map(|c| csv_num(c.predicted_ms)).unwrap_or_default(),
                        cv.map(|c| csv_num(c.error_pct)).unwrap_or_default(),
                    ]
                })
                .collect();
            write_csv(&headers, &rows)?;
        }
        Format::Table => {
            if args.table1 {
                let baseline = match &args.baseline {
                    Some(b) => {
                        let chip = args.launch.load(b)?;
                        Some((chip.name.clone(), points(&chip, &set.rows)))
                    }
                    None => None,
                };
                outln!(
                    "{}",
                    table1(&report.hardware, &report.points, baseline.as_ref())
                );
            }
            out!("{}", render(&report, holdout_result.as_ref(), &s));
        }
    }
    if let Some(limit) = args.threshold {
        if report.mape_pct > limit {
            return Err(Failure {
                code: 1,
                error: anyhow::anyhow!(
                    "MAPE {:.1}% exceeds the threshold of {limit}%",
                    report.mape_pct
                ),
            });
        }
    }
    Ok(())
}

/// The paper's Table 1: signed error (%) per size (rows) and dtype
/// (columns), with a baseline chip's error in brackets when given.
fn table1(name: &str, pts: &[Point], baseline: Option<&(String, Vec<Point>)>) -> String {
    let mut dtypes: Vec<Dtype> = pts.iter().map(|p| p.dtype).collect();
    dtypes.sort();
    dtypes.dedup();
    let mut shapes: Vec<Shape> = pts.iter().map(Point::shape).collect();
    let flops = |s: &Shape| s.0 as f64 * s.1 as f64 * s.2 as f64;
    shapes.sort_by(|a, b| flops(a).total_cmp(&flops(b)).then(a.cmp(b)));
    shapes.dedup();
    let mut headers = vec!["size".to_string()];
    headers.extend(dtypes.iter().map(|d| d.to_string()));
    let mut t = Table::new(headers);
    for shape in &shapes {
        let mut row = vec![shape_label(*shape)];
        for d in &dtypes {
            let find = |list: &[Point]| {
                list.iter()
                    .find(|p| p.shape() == *shape && p.dtype == *d)
                    .map(|p| p.error_pct)
            };
            let cell = match (find(pts), baseline.and_then(|(_, b)| find(b))) {
                (Some(e), Some(b)) => format!("{e:+.0} ({b:+.0})"),
                (Some(e), None) => format!("{e:+.0}"),
                _ => "-".into(),
            };
            row.push(cell);
        }
        t.row(row);
    }
    let title = match baseline {
        Some((b, _)) => format!("Table 1: signed error %, {name} ({b} in brackets)\n"),
        None => format!("Table 1: signed error %, {name}\n"),
    };
    title + &t.render()
}

pub fn shape_label(s: Shape) -> String {
    if s.0 == s.1 && s.1 == s.2 {
        format!("{}", s.0)
    } else {
        format!("{}x{}x{}", s.0, s.1, s.2)
    }
}

pub fn crossover_label(c: CrossoverAt) -> String {
    match c {
        CrossoverAt::Always => "always".into(),
        CrossoverAt::Never => "never".into(),
        CrossoverAt::From(s) => format!("from {}", shape_label(s)),
    }
}

fn pct(x: f64) -> String {
    format!("{x:+.1}")
}

fn render(r: &Report, holdout: Option<&Holdout>, s: &ErrorSummary) -> String {
    let mut out = format!(
        "Validation of {} against {} ({} points measured on {})\n\n",
        r.hardware,
        r.measurements,
        r.points.len(),
        r.measured_device
    );
    let mut t = Table::new([
        "size",
        "dtype",
        "measured ms",
        "predicted ms",
        "error %",
        "LOSO ms",
        "LOSO error %",
    ]);
    for (i, p) in r.points.iter().enumerate() {
        let cv = r.cv_points.as_ref().map(|c| &c[i]);
        t.row([
            shape_label(p.shape()),
            p.dtype.to_string(),
            sig(p.measured_ms, 4),
            sig(p.predicted_ms, 4),
            pct(p.error_pct),
            cv.map_or_else(|| "-".into(), |c| sig(c.predicted_ms, 4)),
            cv.map_or_else(|| "-".into(), |c| pct(c.error_pct)),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');

    out.push_str("Error by dtype (chip as given)\n");
    let mut t = Table::new(["dtype", "points", "MAPE %", "median %", "bias %"]);
    for d in &r.per_dtype {
        t.row([
            d.dtype.to_string(),
            d.count.to_string(),
            format!("{:.1}", d.mape_pct),
            format!("{:.1}", d.median_ape_pct),
            pct(d.mean_signed_pct),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');

    out.push_str("Overall\n");
    let mut t = Table::new([
        "model",
        "points",
        "MAPE %",
        "median %",
        "within 20%",
        "within 25%",
    ]);
    t.row([
        format!("{} as given", r.hardware),
        r.points.len().to_string(),
        format!("{:.1}", s.mape_pct),
        format!("{:.1}", s.median_ape_pct),
        format!("{:.0}%", 100.0 * s.within_20),
        format!("{:.0}%", 100.0 * s.within_25),
    ]);
    if let (Some(fm), Some(fmed)) = (r.fit_mape_pct, r.fit_median_ape_pct) {
        t.row([
            "fitted, in sample".to_string(),
            r.points.len().to_string(),
            format!("{fm:.1}"),
            format!("{fmed:.1}"),
            String::new(),
            String::new(),
        ]);
    }
    if let Some(cv) = r.cv_points.as_ref().and_then(|c| summary(c)) {
        t.row([
            "fitted, leave-one-size-out".to_string(),
            cv.count.to_string(),
            format!("{:.1}", cv.mape_pct),
            format!("{:.1}", cv.median_ape_pct),
            format!("{:.0}%", 100.0 * cv.within_20),
            format!("{:.0}%", 100.0 * cv.within_25),
        ]);
    }
    if let Some(h) = holdout {
        let hs = summary(&h.points).expect("non-empty");
        t.row([
            format!(
                "launch {:.1} us from size {} (original's holdout)",
                h.launch_us,
                shape_label(h.from_shape)
            ),
            hs.count.to_string(),
            format!("{:.1}", hs.mape_pct),
            format!("{:.1}", hs.median_ape_pct),
            format!("{:.0}%", 100.0 * hs.within_20),
            format!("{:.0}%", 100.0 * hs.within_25),
        ]);
    }
    out.push_str(&t.render());
    if let Some(params) = &r.fitted_params {
        out.push_str(&format!("fitted parameters: {}\n", params.join(", ")));
    }
    out.push('\n');

    out.push_str(&format!(
        "Faster than fp32? (measured / predicted): {} of {} right; fastest dtype right for {} of {} sizes\n",
        r.verdicts_correct, r.verdicts_total, r.fastest_correct, r.fastest_total
    ));
    let dtypes: Vec<Dtype> = {
        let mut d: Vec<Dtype> = r.verdicts.iter().map(|v| v.dtype).collect();
        d.sort();
        d.dedup();
        d
    };
    let mut headers = vec!["size".to_string()];
    headers.extend(dtypes.iter().map(|d| d.to_string()));
    headers.push("fastest".into());
    let mut t = Table::new(headers);
    for fst in &r.fastest {
        let mut row = vec![shape_label(fst.shape)];
        for d in &dtypes {
            let cell = r
                .verdicts
                .iter()
                .find(|v| v.shape == fst.shape && v.dtype == *d)
                .map_or_else(
                    || "-".to_string(),
                    |v| {
                        let yn = |b: bool| if b { "yes" } else { "no" };
                        let mark = if v.measured_faster == v.predicted_faster {
                            ""
                        } else {
                            " x"
                        };
                        format!("{}/{}{mark}", yn(v.measured_faster), yn(v.predicted_faster))
                    },
                );
            row.push(cell);
        }
        let mark = if fst.measured == fst.predicted {
            ""
        } else {
            " x"
        };
        row.push(format!("{}/{}{mark}", fst.measured, fst.predicted));
        t.row(row);
    }
    out.push_str(&t.render());
    out.push_str("(x marks a wrong prediction)\n\n");

    out.push_str("Crossover: smallest size from which a dtype beats fp32 at every larger size\n");
    let mut t = Table::new(["dtype", "measured", "predicted"]);
    for c in &r.crossovers {
        t.row([
            c.dtype.to_string(),
            crossover_label(c.measured),
            crossover_label(c.predicted),
        ]);
    }
    out.push_str(&t.render());
    out
}
