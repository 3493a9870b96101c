//! `mlsim validate`: a chip's predictions against measurements, in sample
//! and out of sample.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use mlsim_calibrate::cv::Holdout;
use mlsim_calibrate::measurements::{MeasurementSet, read_measurements};
use mlsim_calibrate::metrics::ErrorSummary;
pub use mlsim_calibrate::report::{Case, crossover_label, shape_label};
use mlsim_calibrate::report::{ValidationReport, add_leave_one_chip_out};
use mlsim_calibrate::scorecard::sizes;
use mlsim_calibrate::validate::{Point, Shape, points, summary};
use mlsim_quant::Dtype;

use crate::output::{Format, Table, csv_num, sig, write_csv_rows, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CvArg {
    /// Only the chip as given.
    None,
    /// Also fit the stack's free parameters leaving one size out at a time.
    Loso,
    /// Also fit the stack on every chip but one and predict that one
    /// (needs files of two or more chips); leave-one-size-out as well.
    Chip,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim validate --hw t4-seed --measurements results/t4-colab-matmul.csv\n  mlsim validate --hw t4-seed --measurements results/t4-colab-matmul.csv --cv none --threshold 60\n  mlsim validate --hw rtx4060ti --measurements results/rtx4060ti-cublaslt-square.csv\n  mlsim validate --cv chip --stack cublas-hopper --host-floor-from-smallest \\\n      --hw h100-sxm5 --measurements results/h100-torch-square.csv \\\n      --hw h200 --measurements results/h200-torch-square.csv\n\nErrors are signed: positive means the model predicted a longer runtime than measured.\nEach row is predicted with the timing, stack, framework and host floor its file gives\n(columns `timing`, `stack`, `framework`, `host_floor_us`, or `# host_floor_us:`); flags\nfill in what a file does not say, and replace what it says when given.\nWith --cv loso (the default) the stack's free parameters (as `mlsim calibrate` fits them by\ndefault) are also fitted on all sizes but one and scored on the size left out; with\n--cv chip also on all chips but one and scored on the chip left out. The in-sample fit is\nshown next to them, never instead of them.\nSeveral --measurements files take one --hw each (in order), or one --hw for all."
)]
pub struct ValidateArgs {
    /// Chip preset name or TOML file; one for all files, or one per file.
    #[arg(long = "hw", value_name = "NAME|FILE", required = true)]
    hw: Vec<String>,
    /// Measurement CSV (see results/README.md); repeat for several.
    #[arg(long, value_name = "FILE", required = true)]
    measurements: Vec<PathBuf>,
    /// Exit with status 1 when the MAPE of a file as given exceeds PCT.
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
    /// For a file without a measured host floor, read the floor off its
    /// smallest size (the median of its rows there) and say so: not blind.
    #[arg(long)]
    host_floor_from_smallest: bool,
    #[command(flatten)]
    setup: crate::SetupArgs,
    #[command(flatten)]
    format: FormatArg,
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

/// Load every measurement file on its chip: one `--hw` for all files, or
/// one per file in the same order (`validate` and `calibrate`).
pub fn load_cases(
    hw: &[String],
    files: &[std::path::PathBuf],
    setup: &crate::SetupArgs,
    read_off: bool,
) -> Result<Vec<Case>, Failure> {
    if hw.len() != 1 && hw.len() != files.len() {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!(
                "{} --hw for {} --measurements files\n  hint: give one --hw for all files, or one per file in the same order",
                hw.len(),
                files.len()
            ),
        });
    }
    files
        .iter()
        .enumerate()
        .map(|(i, f)| load_case(&hw[if hw.len() == 1 { 0 } else { i }], f, setup, read_off))
        .collect()
}

/// Load `file` on chip `hw` with the flags' setup; with `read_off`, a file
/// without a measured host floor gets one read off its smallest size.
pub fn load_case(
    hw: &str,
    file: &std::path::Path,
    setup: &crate::SetupArgs,
    read_off: bool,
) -> Result<Case, Failure> {
    let set = load_measurements(file)?;
    let chip = crate::load_chip(hw)?;
    if let Some(note) = clock_note(&set, &chip) {
        eprintln!("note: {note}");
    }
    let case = Case::new(set, chip, &setup.spec()?, read_off)?;
    if let Some(f) = case.read_off {
        eprintln!(
            "note: {}: host floor {:.1} us read off its {} rows (the median of measured minus kernel time there), not measured",
            case.set.file,
            f.us,
            match f.shape {
                (m, n, k) if m == n && n == k => format!("N = {m}"),
                s => shape_label(s),
            }
        );
    }
    Ok(case)
}

/// A CPU chip file whose clock is more than 5% from the one the file's
/// `# clock:` comment measured: its compute times scale with the clock,
/// so say which the file ran at.
fn clock_note(set: &MeasurementSet, chip: &mlsim_hw::Chip) -> Option<String> {
    let measured = set.host_clock_ghz?;
    let own = chip.frequency_hz / 1e9;
    let cpu = chip.model == mlsim_hw::ChipModel::CpuBlocked;
    (cpu && (own - measured).abs() > 0.05 * measured).then(|| {
        format!(
            "{}: the cores ran at {measured:.2} GHz (its `# clock:` line); {} says {own:.2} GHz, and its compute times scale with that",
            set.file, chip.name
        )
    })
}

pub fn run(args: &ValidateArgs) -> CmdResult {
    let files = &args.measurements;
    let cases = load_cases(&args.hw, files, &args.setup, args.host_floor_from_smallest)?;
    let fit = args.cv != CvArg::None;
    let mut reports: Vec<ValidationReport> = Vec::with_capacity(cases.len());
    let mut holdouts: Vec<Option<Holdout>> = Vec::with_capacity(cases.len());
    for case in &cases {
        if fit && sizes(&case.set.rows) < 2 {
            eprintln!(
                "note: {}: one size only, so no leave-one-size-out score",
                case.set.file
            );
        }
        let (r, h) = case.validate(fit)?;
        reports.push(r);
        holdouts.push(h);
    }
    if args.cv == CvArg::Chip {
        add_leave_one_chip_out(&cases, &mut reports)?;
    }
    match args.format.format {
        Format::Json if reports.len() == 1 => {
            let points = std::mem::take(&mut reports[0].points);
            let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            super::validate_json::write_report(&reports[0], &points, &mut w)?;
            std::io::Write::flush(&mut w)?;
        }
        Format::Json => write_json(&serde_json::json!({ "files": reports }))?,
        Format::Csv => write_csv_rows(&CSV_HEADERS, csv_rows(&reports))?,
        Format::Table => {
            for (i, ((r, case), h)) in reports.iter().zip(&cases).zip(&holdouts).enumerate() {
                if i > 0 {
                    outln!();
                }
                if args.table1 {
                    let baseline = match &args.baseline {
                        Some(b) => {
                            let base = load_case(
                                b,
                                std::path::Path::new(&case.set.file),
                                &args.setup,
                                args.host_floor_from_smallest,
                            )?;
                            Some((
                                base.rows.setup.chip.name.clone(),
                                points(&base.rows, &case.set.rows),
                            ))
                        }
                        None => None,
                    };
                    outln!("{}", table1(&r.hardware, &r.points, baseline.as_ref()));
                }
                let s = summary(&r.points).expect("non-empty");
                out!("{}", render(r, h.as_ref(), &s));
            }
            if reports.len() > 1 {
                out!("\n{}", overview(&reports));
            }
        }
    }
    if let Some(limit) = args.threshold
        && let Some(r) = reports.iter().find(|r| r.mape_pct > limit)
    {
        return Err(Failure {
            code: 1,
            error: anyhow::anyhow!(
                "{}: MAPE {:.1}% exceeds the threshold of {limit}%",
                r.measurements,
                r.mape_pct
            ),
        });
    }
    Ok(())
}

const CSV_HEADERS: [&str; 16] = [
    "measurements",
    "op",
    "m",
    "n",
    "k",
    "dtype",
    "timing",
    "measured_ms",
    "predicted_ms",
    "error_pct",
    "cv_predicted_ms",
    "cv_error_pct",
    "loco_predicted_ms",
    "loco_error_pct",
    "spread_pct",
    "outside_spread",
];

/// Every point of every file, with its held-out predictions.
/// The CSV rows of every point, made one at a time.
fn csv_rows(reports: &[ValidationReport]) -> impl Iterator<Item = Vec<String>> + '_ {
    reports.iter().flat_map(|r| {
        r.points.iter().enumerate().map(move |(i, p)| {
            let cv = r.cv_points.as_ref().map(|c| &c[i]);
            let loco = r.loco_points.as_ref().map(|c| &c[i]);
            vec![
                r.measurements.clone(),
                p.op.name().to_string(),
                p.m.to_string(),
                p.n.to_string(),
                p.k.to_string(),
                p.dtype.to_string(),
                p.timing.to_string(),
                csv_num(p.measured_ms),
                csv_num(p.predicted_ms),
                csv_num(p.error_pct),
                cv.map(|c| csv_num(c.predicted_ms)).unwrap_or_default(),
                cv.map(|c| csv_num(c.error_pct)).unwrap_or_default(),
                loco.map(|c| csv_num(c.predicted_ms)).unwrap_or_default(),
                loco.map(|c| csv_num(c.error_pct)).unwrap_or_default(),
                p.spread_pct.map(csv_num).unwrap_or_default(),
                p.outside_spread()
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
            ]
        })
    })
}

/// One line per file: as given, leave-one-size-out, leave-one-chip-out.
/// A file of more than 100 sizes is held out in folds: the column says
/// so when any is.
fn overview(reports: &[ValidationReport]) -> String {
    let by_size = if reports
        .iter()
        .any(|r| r.cv_method.is_some_and(|m| m != "leave-one-size-out"))
    {
        "by size (LOSO, or 100 folds past 100 sizes)"
    } else {
        "leave-one-size-out"
    };
    let mut t = Table::new([
        "measurements",
        "chip",
        "stack",
        "points",
        "as given MAPE / median %",
        by_size,
        "leave-one-chip-out",
    ]);
    let pair = |m: Option<f64>, med: Option<f64>| match (m, med) {
        (Some(m), Some(med)) => format!("{m:.1} / {med:.1}"),
        _ => "-".into(),
    };
    for r in reports {
        t.row([
            r.measurements.clone(),
            r.hardware.clone(),
            r.stack.clone(),
            r.points.len().to_string(),
            pair(Some(r.mape_pct), Some(r.median_ape_pct)),
            pair(r.cv_mape_pct, r.cv_median_ape_pct),
            pair(r.loco_mape_pct, r.loco_median_ape_pct),
        ]);
    }
    format!("Overview\n{}", t.render())
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

/// A point's size: its shape, or `copy N` for a memory kernel.
fn point_label(p: &Point) -> String {
    match p.op {
        mlsim_calibrate::measurements::MeasuredOp::Gemm => shape_label(p.shape()),
        op => format!("{} {}", op.name(), p.n),
    }
}

fn pct(x: f64) -> String {
    format!("{x:+.1}")
}

fn render(r: &ValidationReport, holdout: Option<&Holdout>, s: &ErrorSummary) -> String {
    let mut out = format!(
        "Validation of {} against {} ({} points measured on {})\n",
        r.hardware,
        r.measurements,
        r.points.len(),
        r.measured_device
    );
    let mut timings: Vec<String> = r.points.iter().map(|p| p.timing.to_string()).collect();
    timings.sort();
    timings.dedup();
    if r.stack == "none" {
        out.push_str("the original's model: no software stack, and timing does not apply");
    } else {
        out.push_str(&format!(
            "stack {}, framework {}, timing {}",
            r.stack,
            r.framework,
            timings.join(" and ")
        ));
    }
    if let Some(us) = r.host_floor_read_off_us {
        out.push_str(&format!(
            "; host floor {us:.1} us read off the smallest size (not measured)"
        ));
    }
    out.push_str("\n\n");
    // Held-out columns only for the schemes that ran (`--cv none`: none).
    let mut headers = vec!["size", "dtype", "measured ms", "predicted ms", "error %"];
    let spreads = r.points_with_spread.is_some();
    if spreads {
        headers.extend(["spread %", "outside spread"]);
    }
    if r.cv_points.is_some() {
        headers.extend(["LOSO ms", "LOSO error %"]);
    }
    if r.loco_points.is_some() {
        headers.push("LOCO error %");
    }
    let mut t = Table::new(headers);
    for (i, p) in r.points.iter().enumerate() {
        let mut cells = vec![
            point_label(p),
            p.dtype.to_string(),
            sig(p.measured_ms, 4),
            sig(p.predicted_ms, 4),
            pct(p.error_pct),
        ];
        if spreads {
            cells.push(p.spread_pct.map_or("-".into(), |s| format!("{s:.1}")));
            cells.push(match p.outside_spread() {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => "-".into(),
            });
        }
        if let Some(c) = r.cv_points.as_ref().map(|c| &c[i]) {
            cells.extend([sig(c.predicted_ms, 4), pct(c.error_pct)]);
        }
        if let Some(c) = r.loco_points.as_ref().map(|c| &c[i]) {
            cells.push(pct(c.error_pct));
        }
        t.row(cells);
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
        if r.stack == "none" {
            format!("{} as given", r.hardware)
        } else {
            format!("{} + {} as given", r.hardware, r.stack)
        },
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
            format!("fitted, {}", r.cv_method.unwrap_or("leave-one-size-out")),
            cv.count.to_string(),
            format!("{:.1}", cv.mape_pct),
            format!("{:.1}", cv.median_ape_pct),
            format!("{:.0}%", 100.0 * cv.within_20),
            format!("{:.0}%", 100.0 * cv.within_25),
        ]);
    }
    if let Some(lc) = r.loco_points.as_ref().and_then(|c| summary(c)) {
        t.row([
            "stack fitted on the other chips (leave-one-chip-out)".to_string(),
            lc.count.to_string(),
            format!("{:.1}", lc.mape_pct),
            format!("{:.1}", lc.median_ape_pct),
            format!("{:.0}%", 100.0 * lc.within_20),
            format!("{:.0}%", 100.0 * lc.within_25),
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
    if let (Some(outside), Some(known)) = (r.points_outside_spread, r.points_with_spread) {
        out.push_str(&format!(
            "{outside} of {known} points predicted outside their measured spread (as given)\n"
        ));
    }
    out.push('\n');

    out.push_str(&format!(
        "Faster than fp32? (measured / predicted): {} of {} right; fastest dtype right for {} of {} sizes\n",
        r.verdicts_correct, r.verdicts_total, r.fastest_correct, r.fastest_total
    ));
    if r.verdicts_within_spread + r.fastest_within_spread > 0 {
        out.push_str(&format!(
            "not scored, the measured gap being within the measured spread: {} verdicts, {} sizes' fastest dtype (marked ~)\n",
            r.verdicts_within_spread, r.fastest_within_spread
        ));
    }
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
                        let mark = if !v.resolved {
                            " ~"
                        } else if v.measured_faster == v.predicted_faster {
                            ""
                        } else {
                            " x"
                        };
                        format!("{}/{}{mark}", yn(v.measured_faster), yn(v.predicted_faster))
                    },
                );
            row.push(cell);
        }
        let mark = if !fst.resolved {
            " ~"
        } else if fst.measured == fst.predicted {
            ""
        } else {
            " x"
        };
        row.push(format!("{}/{}{mark}", fst.measured, fst.predicted));
        t.row(row);
    }
    out.push_str(&t.render());
    out.push_str(if r.verdicts_within_spread + r.fastest_within_spread > 0 {
        "(x marks a wrong prediction; ~ one within the measured spread, not scored)\n\n"
    } else {
        "(x marks a wrong prediction)\n\n"
    });

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
