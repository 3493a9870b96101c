//! The tables of `paper/mlsim.md` (validation scores and the original's three
//! findings re-examined), and the filling of its generated sections.
//!
//! `paper/mlsim.md` marks each generated section with
//! `<!-- generated: FILE -->` ... `<!-- end generated -->`; [`fill`]
//! replaces what lies between with `paper/generated/FILE`, so every number
//! in the paper comes from `cargo xtask figures`.

use std::path::Path;

use anyhow::{Context, bail};
use mlsim_calibrate::cv::{host_floor_from_smallest, leave_one_chip_out};
use mlsim_calibrate::fit::{Param, Sample, default_params, tile_paths};
use mlsim_calibrate::measurements::{MeasurementSet, read_measurements};
use mlsim_calibrate::metrics::ErrorSummary;
use mlsim_calibrate::scorecard::{FittedScores, Scorecard};
use mlsim_calibrate::targets::RowTargets;
use mlsim_calibrate::validate::{CrossoverAt, Point, crossovers, points, summary};
use mlsim_engine::crossover::{
    Family, SearchedCrossover, closed_form, describe_closed_form, search,
};
use mlsim_hw::SetupSpec;
use mlsim_plot::charts::csv_number;
use mlsim_quant::Dtype;
use rayon::prelude::*;

use crate::figures::Outputs;

/// One validation: a chip file against a measurement file.
pub struct Case {
    /// Chip preset name.
    pub chip: &'static str,
    /// Measurement file, relative to the repository root.
    pub file: &'static str,
    /// Read the host floor off the file's smallest size (the median of its
    /// rows there minus the kernel time): labelled as not blind wherever it
    /// is shown.
    pub floor_from_smallest: bool,
    /// The stack the row runs on, when not the chip's default (the
    /// estimates the held-out scores start from).
    pub stack: Option<&'static str>,
    /// Fit the stack in sample and leaving one size out (else "-").
    pub fit: bool,
    /// Part of the Hopper leave-one-chip-out group: the stack is fitted on
    /// the group's other chip's files and predicts this one.
    pub loco: bool,
    /// What the row is.
    pub role: &'static str,
    /// The error-against-size figure drawn for this case, if any.
    pub error_figure: Option<&'static str>,
}

impl Case {
    /// The targets of the file's rows (the chip with its stack, the file's
    /// timing, and the read-off floor where asked, taken as given) and the
    /// measurements.
    pub fn load(&self, root: &Path) -> anyhow::Result<(RowTargets, MeasurementSet)> {
        let set = read_measurements(&root.join(self.file))?;
        let chip = mlsim_hw::load(self.chip)?;
        let spec = SetupSpec {
            stack: self.stack,
            ..SetupSpec::default()
        };
        let mut rows = RowTargets::new(chip, &spec, &set.rows)?;
        if self.floor_from_smallest
            && let Some(f) = host_floor_from_smallest(&rows, &set.rows)
        {
            rows.setup.use_host_floor(f.us / 1e6);
        }
        Ok((rows, set))
    }
}

const HOPPER_ESTIMATES_ROLE: &str = "datasheet + `cublas-hopper` (estimates, fitted to nothing); host floor read off the file's N = 32 or 1x4096x4096 rows (not blind); held-out fits start from these estimates";
const HOPPER_TRANSFER_ROLE: &str = "datasheet + `cublas-hopper-h200` (the stack fitted on the H200's two files: a transfer); host floor read off as above (not blind)";

/// Every chip file scored against measurements, in the order the tables
/// list them.
pub const CASES: [Case; 17] = [
    Case {
        chip: "t4-seed",
        file: "results/t4-colab-matmul.csv",
        stack: None,
        fit: true,
        floor_from_smallest: false,
        loco: false,
        role: "the original model, as published",
        error_figure: None,
    },
    Case {
        chip: "t4",
        file: "results/t4-colab-matmul.csv",
        stack: None,
        fit: true,
        floor_from_smallest: false,
        loco: false,
        role: "datasheet + `cublas-turing` (estimates, no Turing fit) + `pytorch-eager`",
        error_figure: Some("error-vs-size-t4"),
    },
    Case {
        chip: "t4-calibrated",
        file: "results/t4-colab-matmul.csv",
        stack: None,
        fit: true,
        floor_from_smallest: false,
        loco: false,
        role: "datasheet + `cublas-turing-t4`, a stack fitted to this file (as given = in sample)",
        error_figure: None,
    },
    Case {
        chip: "rtx4060ti",
        file: "results/rtx4060ti-cublaslt-square.csv",
        stack: None,
        fit: true,
        floor_from_smallest: false,
        loco: false,
        role: "datasheet + `cublaslt-ada` (estimates) + `cpp-direct`, timed back to back (the file's columns)",
        error_figure: Some("error-vs-size-rtx4060ti"),
    },
    Case {
        chip: "h200",
        file: "results/h200-torch-square.csv",
        stack: Some("cublas-hopper"),
        fit: true,
        floor_from_smallest: true,
        loco: true,
        role: HOPPER_ESTIMATES_ROLE,
        error_figure: Some("error-vs-size-h200"),
    },
    Case {
        chip: "h200",
        file: "results/h200-torch-llm-shapes.csv",
        stack: Some("cublas-hopper"),
        fit: true,
        floor_from_smallest: true,
        loco: true,
        role: HOPPER_ESTIMATES_ROLE,
        error_figure: None,
    },
    Case {
        chip: "h100-sxm5",
        file: "results/h100-torch-square.csv",
        stack: Some("cublas-hopper"),
        fit: true,
        floor_from_smallest: true,
        loco: true,
        role: HOPPER_ESTIMATES_ROLE,
        error_figure: None,
    },
    Case {
        chip: "h100-sxm5",
        file: "results/h100-torch-llm-shapes.csv",
        stack: Some("cublas-hopper"),
        fit: true,
        floor_from_smallest: true,
        loco: true,
        role: HOPPER_ESTIMATES_ROLE,
        error_figure: None,
    },
    Case {
        chip: "h100-sxm5",
        file: "results/h100-torch-square.csv",
        stack: None,
        fit: false,
        floor_from_smallest: true,
        loco: false,
        role: HOPPER_TRANSFER_ROLE,
        error_figure: Some("error-vs-size-h100"),
    },
    Case {
        chip: "h100-sxm5",
        file: "results/h100-torch-llm-shapes.csv",
        stack: None,
        fit: false,
        floor_from_smallest: true,
        loco: false,
        role: HOPPER_TRANSFER_ROLE,
        error_figure: None,
    },
    Case {
        chip: "h100-sxm5",
        file: "results/h100-torch-square.csv",
        stack: None,
        fit: false,
        floor_from_smallest: false,
        loco: false,
        role: "datasheet + `cublas-hopper-h200` + `pytorch-eager`'s default 20 us floor (nothing read off the file)",
        error_figure: None,
    },
    Case {
        chip: "h100-sxm5",
        file: "results/h100-repeat-median.csv",
        stack: None,
        fit: false,
        floor_from_smallest: true,
        loco: false,
        role: "the medians of six fresh-process runs of N = 32 ... 1024 on another H100 host, with their spread: `cublas-hopper-h200` (a transfer), floor read off; verdicts scored only where the measured gap exceeds the spread",
        error_figure: None,
    },
    Case {
        chip: "dev-epyc-milan-2vcpu",
        file: "results/host-amd-epyc-zen3-2vcpu.csv",
        stack: None,
        fit: true,
        floor_from_smallest: false,
        loco: false,
        role: "CPU (mlsim's cache-blocked model, stack gemm-rs-avx2), datasheet values",
        error_figure: Some("error-vs-size-dev-epyc"),
    },
    Case {
        chip: "dev-epyc-turin-2vcpu",
        file: "results/host-amd-epyc-zen5-2vcpu.csv",
        stack: None,
        fit: true,
        floor_from_smallest: false,
        loco: false,
        role: "the Zen 5 dev machine (cache-blocked model, stack gemm-rs-avx512), datasheet values: square GEMMs 32 ... 2048, GEMVs and skinny GEMMs in fp64, fp32 and fp16, and a STREAM-like probe (copy, scale, add, triad from L1 to 8x L3), medians of 3 rounds with their spread",
        error_figure: None,
    },
    Case {
        chip: "dev-epyc-genoa-2vcpu",
        file: "results/host-amd-epyc-zen4-2vcpu.csv",
        stack: None,
        fit: true,
        floor_from_smallest: false,
        loco: false,
        role: "the Zen 4 dev machine, a chip no preset had been written for: preset from the EPYC 9654 datasheet and the Zen 5 preset's rules, unchanged since its predictions were committed before measuring (`host-amd-epyc-zen4-2vcpu-prediction.csv`: 44.3 / 46.9 as committed; this row is today's model); the same 100 points as the Zen 5 file",
        error_figure: None,
    },
    Case {
        chip: "dev-epyc-genoa-2vcpu",
        file: "results/host-amd-epyc-zen4-2vcpu-run2.csv",
        stack: None,
        fit: true,
        floor_from_smallest: false,
        loco: false,
        role: "the Zen 4 dev machine measured again the next day (2026-12-04), the same 100 points, predicted before measuring by the model with the read for ownership in the caches (`host-amd-epyc-zen4-2vcpu-run2-prediction.csv`: 30.3 as committed)",
        error_figure: None,
    },
    Case {
        chip: "dev-epyc-genoa-2vcpu",
        file: "results/host-amd-epyc-zen4-2vcpu-smallk.csv",
        stack: None,
        fit: true,
        floor_from_smallest: false,
        loco: false,
        role: "the Zen 4 dev machine, GEMMs whose output dominates (4096x4096xK, K = 1 ... 256; 2048x2048xK) in fp64 and fp32, predicted before measuring (`host-amd-epyc-zen4-2vcpu-smallk-prediction.csv`: 44.0 as committed); the write-allocate read was added after it was measured (this row is today's model)",
        error_figure: None,
    },
];

/// "right/scored", and how many were not scored for lying within the
/// measured run-to-run spread.
fn scored(right: usize, total: usize, within_spread: usize) -> String {
    match (total, within_spread) {
        (0, 0) => "-".into(),
        (_, 0) => format!("{right}/{total}"),
        _ => format!("{right}/{total} ({within_spread} within the spread, not scored)"),
    }
}

/// The stack a case's rows run on.
fn rows_stack(rows: &RowTargets) -> &str {
    &rows.setup.stack.name
}

fn pair(s: &ErrorSummary) -> String {
    format!("{:.1} / {:.1}", s.mape_pct, s.median_ape_pct)
}

/// MAPE / median over the square points of `pts` with N >= `from`.
fn pair_from(pts: &[Point], from: u64) -> String {
    let big: Vec<Point> = pts
        .iter()
        .filter(|p| p.m >= from && p.m == p.n && p.n == p.k)
        .cloned()
        .collect();
    summary(&big).map_or("-".into(), |s| pair(&s))
}

/// The validation tables: every case as given, fitted in sample, leaving
/// one size out and (the Hopper group) leaving one chip out, with its
/// verdict scores; the square Hopper files at N >= 1024; the committed
/// blind predictions scored as committed.
fn validation_summary(root: &Path) -> anyhow::Result<Outputs> {
    let loaded: Vec<(RowTargets, MeasurementSet)> = CASES
        .iter()
        .map(|case| case.load(root))
        .collect::<anyhow::Result<_>>()?;
    let cards: Vec<anyhow::Result<Scorecard>> = loaded
        .par_iter()
        .zip(CASES.par_iter())
        .map(|((rows, set), case)| Ok(Scorecard::new(rows, &set.rows, case.fit)?))
        .collect();
    // Leave one chip out over the Hopper group: each chip's files predicted
    // by the stack fitted on the other chip's.
    let group: Vec<usize> = (0..CASES.len()).filter(|&i| CASES[i].loco).collect();
    let samples: Vec<Sample<'_>> = group
        .iter()
        .map(|&i| Sample {
            rows: &loaded[i].0,
            measured: &loaded[i].1.rows,
        })
        .collect();
    let mut params: Vec<Param> = Vec::new();
    let mut tiles: Vec<Dtype> = Vec::new();
    for s in &samples {
        params.extend(default_params(s.rows, s.measured));
        tiles.extend(tile_paths(&s.rows.setup, s.measured));
    }
    params.sort();
    params.dedup();
    tiles.sort();
    tiles.dedup();
    let held_out = leave_one_chip_out(&samples, &params, &tiles)?;
    let loco_of = |i: usize| group.iter().position(|&g| g == i).map(|j| &held_out[j]);

    let mut md = String::from(
        "| chip file | measurements | points | role | as given MAPE / median % | fitted in sample | fitted, leave-one-size-out | stack fitted on the other chip (leave-one-chip-out) | faster than fp32 right | fastest dtype right |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut csv = String::from(
        "chip,measurements,floor_from_smallest,points,as_given_mape_pct,as_given_median_pct,fit_mape_pct,fit_median_pct,loso_mape_pct,loso_median_pct,loco_mape_pct,loco_median_pct,verdicts_right,verdicts,fastest_right,fastest\n",
    );
    let mut large = String::from(
        "| chip + stack | measurements | as given | fitted, leave-one-size-out | leave-one-chip-out |\n|---|---|---|---|---|\n",
    );
    for (i, (case, card)) in CASES.iter().zip(cards).enumerate() {
        let card = card.with_context(|| format!("{} on {}", case.chip, case.file))?;
        let fitted = card.fitted.as_ref();
        anyhow::ensure!(
            fitted.is_some() == case.fit,
            "{} on {}: a fitted row needs two sizes or more",
            case.chip,
            case.file
        );
        let or_dash =
            |f: fn(&FittedScores) -> &ErrorSummary| fitted.map_or("-".to_string(), |x| pair(f(x)));
        let csv_or_empty =
            |f: fn(&FittedScores) -> f64| fitted.map_or(String::new(), |x| csv_number(f(x)));
        let (vr, vt) = card.verdicts_right();
        let (fr, ft) = card.fastest_right();
        let file = case.file.trim_start_matches("results/");
        let loco = loco_of(i).and_then(|pts| summary(pts));
        md.push_str(&format!(
            "| `{}` | `{file}` | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            case.chip,
            card.points.len(),
            case.role,
            pair(&card.as_given),
            or_dash(|f| &f.in_sample),
            or_dash(|f| &f.loso),
            loco.map_or("-".into(), |s| pair(&s)),
            scored(vr, vt, card.verdicts_within_spread()),
            scored(fr, ft, card.fastest_within_spread()),
        ));
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{vr},{vt},{fr},{ft}\n",
            case.chip,
            case.file,
            case.floor_from_smallest,
            card.points.len(),
            csv_number(card.as_given.mape_pct),
            csv_number(card.as_given.median_ape_pct),
            csv_or_empty(|f| f.in_sample.mape_pct),
            csv_or_empty(|f| f.in_sample.median_ape_pct),
            csv_or_empty(|f| f.loso.mape_pct),
            csv_or_empty(|f| f.loso.median_ape_pct),
            loco.map_or(String::new(), |s| csv_number(s.mape_pct)),
            loco.map_or(String::new(), |s| csv_number(s.median_ape_pct)),
        ));
        if case.floor_from_smallest && file.contains("square") {
            large.push_str(&format!(
                "| `{}` + `{}` | `{file}` | {} | {} | {} |\n",
                case.chip,
                rows_stack(&loaded[i].0),
                pair_from(&card.points, 1024),
                fitted.map_or("-".into(), |f| pair_from(&f.loso_points, 1024)),
                loco_of(i).map_or("-".into(), |pts| pair_from(pts, 1024)),
            ));
        }
    }
    let mut out = Outputs::new();
    out.insert("generated/validation-summary.md".into(), md.into_bytes());
    out.insert("generated/validation-summary.csv".into(), csv.into_bytes());
    out.insert("generated/validation-large.md".into(), large.into_bytes());
    out.extend(blind_predictions(root)?);
    Ok(out)
}

/// The blind predictions committed before a card was measured, scored as
/// committed: (prediction file, measurement file).
const BLIND: [(&str, &str); 2] = [
    (
        "results/h200-datasheet-prediction.csv",
        "results/h200-torch-square.csv",
    ),
    (
        "results/h100-sxm5-datasheet-prediction.csv",
        "results/h100-torch-square.csv",
    ),
];

/// The `# model:` line of a prediction file (what made it).
fn provenance(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("# model: "))
        .unwrap_or("-")
        .to_string()
}

/// Each committed blind prediction against the measurements of its card,
/// matched by shape and dtype: the file is read as committed, never
/// recomputed.
fn blind_predictions(root: &Path) -> anyhow::Result<Outputs> {
    let mut md = String::from(
        "| committed prediction | made by | measurements | points | MAPE / median % | within 25% |\n|---|---|---|---|---|---|\n",
    );
    for (pred, meas) in BLIND {
        let text = std::fs::read_to_string(root.join(pred))
            .with_context(|| format!("cannot read {pred}"))?;
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let header: Vec<&str> = lines.next().context("no header")?.split(',').collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| *h == name)
                .with_context(|| format!("{pred}: no column `{name}`"))
        };
        let (cm, cn, ck, cd, ct) = (
            col("m")?,
            col("n")?,
            col("k")?,
            col("dtype")?,
            col("runtime_ms")?,
        );
        let mut predicted = std::collections::BTreeMap::new();
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            let key = (
                f[cm].parse::<u64>()?,
                f[cn].parse::<u64>()?,
                f[ck].parse::<u64>()?,
                f[cd].to_string(),
            );
            predicted.insert(key, f[ct].parse::<f64>()?);
        }
        let set = read_measurements(&root.join(meas))?;
        let errors: Vec<f64> = set
            .rows
            .iter()
            .filter_map(|r| {
                let p = predicted.get(&(r.m, r.n, r.k, r.dtype.to_string()))?;
                Some(100.0 * (p - r.runtime_ms) / r.runtime_ms)
            })
            .collect();
        let s = ErrorSummary::from_signed(&errors).context("no point matched")?;
        md.push_str(&format!(
            "| `{}` | {} | `{}` | {} | {} | {:.0}% |\n",
            pred.trim_start_matches("results/"),
            provenance(&text),
            meas.trim_start_matches("results/"),
            s.count,
            pair(&s),
            100.0 * s.within_25
        ));
    }
    let mut out = Outputs::new();
    out.insert("generated/blind-predictions.md".into(), md.into_bytes());
    Ok(out)
}

/// The range of square sizes the crossover search covers.
const SEARCH_RANGE: (u64, u64) = (16, 16384);

/// The T4 models compared in the findings: (label, chip).
const T4_MODELS: [(&str, &str); 3] = [
    ("original (t4-seed)", "t4-seed"),
    ("t4 (datasheet)", "t4"),
    ("t4-calibrated", "t4-calibrated"),
];

/// fp32 runtime over `dtype` runtime at size `n`, measured or predicted.
fn speedup(pts: &[Point], dtype: Dtype, n: u64, measured: bool) -> Option<f64> {
    let at = |d: Dtype| pts.iter().find(|p| p.m == n && p.dtype == d);
    let (base, p) = (at(Dtype::Fp32)?, at(dtype)?);
    Some(if measured {
        base.measured_ms / p.measured_ms
    } else {
        base.predicted_ms / p.predicted_ms
    })
}

/// A table of speedups over fp32 per size: measured and each T4 model
/// (a missing value is `-` in Markdown and an empty CSV field).
fn speedup_table(all: &[Vec<Point>], dtype: Dtype) -> (String, String) {
    let mut sizes: Vec<u64> = all[0].iter().map(|p| p.m).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut md = format!("| N | measured fp32/{dtype} |");
    let mut csv = String::from("n,measured");
    for (label, chip) in T4_MODELS {
        md.push_str(&format!(" {label} |"));
        csv.push_str(&format!(",{}", chip.replace('-', "_")));
    }
    md.push_str(&format!("\n|---|---|{}\n", "---|".repeat(T4_MODELS.len())));
    csv.push('\n');
    let fmt = |s: Option<f64>| s.map_or("-".into(), |s| format!("{s:.2}"));
    for n in sizes {
        let measured = speedup(&all[0], dtype, n, true);
        md.push_str(&format!("| {n} | {} |", fmt(measured)));
        csv.push_str(&format!("{n},{}", csv_number(measured.unwrap_or(f64::NAN))));
        for pts in all {
            let s = speedup(pts, dtype, n, false);
            md.push_str(&format!(" {} |", fmt(s)));
            csv.push_str(&format!(",{}", csv_number(s.unwrap_or(f64::NAN))));
        }
        md.push('\n');
        csv.push('\n');
    }
    (md, csv)
}

fn label(c: CrossoverAt) -> String {
    match c {
        CrossoverAt::Always => "at every size".into(),
        CrossoverAt::Never => "never".into(),
        CrossoverAt::From(s) => format!("from N = {}", s.0),
    }
}

fn searched(c: SearchedCrossover) -> String {
    match c {
        SearchedCrossover::Always => "at every size".into(),
        SearchedCrossover::Never => "never".into(),
        SearchedCrossover::From { size, ai } => format!("from N = {size} (AI {ai:.0})"),
    }
}

/// The original's three findings on the T4, measured against each model.
fn findings(root: &Path) -> anyhow::Result<Outputs> {
    let set = read_measurements(&root.join("results/t4-colab-matmul.csv"))?;
    let chips: Vec<RowTargets> = T4_MODELS
        .iter()
        .map(|(_, c)| {
            Ok(RowTargets::new(
                mlsim_hw::load(c)?,
                &SetupSpec::default(),
                &set.rows,
            )?)
        })
        .collect::<anyhow::Result<_>>()?;
    let all: Vec<Vec<Point>> = chips.iter().map(|c| points(c, &set.rows)).collect();
    let mut out = Outputs::new();
    for (name, dtype) in [
        ("finding-fp16", Dtype::Fp16),
        ("finding-bf16", Dtype::Bf16),
        ("finding-int8", Dtype::Int8),
    ] {
        let (md, csv) = speedup_table(&all, dtype);
        out.insert(format!("generated/{name}.md"), md.into_bytes());
        out.insert(format!("generated/{name}.csv"), csv.into_bytes());
    }
    // Crossovers: at the measured sizes (measured and predicted), the
    // model's search over every integer size, the roofline closed form and,
    // for the original's preset, the original formula's AI.
    let (lo, hi) = SEARCH_RANGE;
    let mut md = format!(
        "| dtype | measured (at the measured sizes) | model | at the measured sizes | searched over every N from {lo} to {hi} | roofline closed form | original formula AI |\n|---|---|---|---|---|---|---|\n"
    );
    let mut csv = String::from(
        "dtype,model,measured,predicted_at_measured_sizes,searched,closed_form,original_formula_ai\n",
    );
    for dtype in [Dtype::Fp16, Dtype::Bf16, Dtype::Int8] {
        for ((model, _), (rows, pts)) in T4_MODELS.iter().zip(chips.iter().zip(&all)) {
            let target = rows.setup.target();
            let chip = &rows.setup.chip;
            let c = crossovers(pts)
                .into_iter()
                .find(|c| c.dtype == dtype)
                .with_context(|| format!("results/t4-colab-matmul.csv: no {dtype} crossover"))?;
            let s = searched(search(&target, dtype, Family::Square, lo, hi));
            let closed =
                closed_form(&target, dtype).map_or("-".into(), |c| describe_closed_form(&c));
            let formula = chip
                .quantization
                .get(dtype)
                .and_then(|q| mlsim_quant::seed::crossover_ai(dtype, q));
            md.push_str(&format!(
                "| {dtype} | {} | {model} | {} | {s} | {closed} | {} |\n",
                label(c.measured),
                label(c.predicted),
                formula.map_or("-".into(), |ai| format!("{ai:.2}"))
            ));
            csv.push_str(&format!(
                "{dtype},{model},{},{},{s},{closed},{}\n",
                label(c.measured),
                label(c.predicted),
                csv_number(formula.unwrap_or(f64::NAN))
            ));
        }
    }
    out.insert("generated/finding-crossovers.md".into(), md.into_bytes());
    out.insert("generated/finding-crossovers.csv".into(), csv.into_bytes());
    Ok(out)
}

/// The same benchmark run several times, each in a fresh process, on the
/// H100 (`experiments/repeatability.sh`): how much small-GEMM runtimes and
/// "faster than fp32" verdicts change between runs of one benchmark.
const REPEATS: [&str; 6] = [
    "results/h100-repeat-1.csv",
    "results/h100-repeat-2.csv",
    "results/h100-repeat-3.csv",
    "results/h100-repeat-4.csv",
    "results/h100-repeat-5.csv",
    "results/h100-repeat-6.csv",
];

fn repeatability(root: &Path) -> anyhow::Result<Outputs> {
    use std::collections::BTreeMap;
    let mut runs: Vec<BTreeMap<(u64, Dtype), f64>> = Vec::new();
    for file in REPEATS {
        let set = read_measurements(&root.join(file))?;
        runs.push(
            set.rows
                .iter()
                .map(|r| ((r.m, r.dtype), r.runtime_ms))
                .collect(),
        );
    }
    let keys: Vec<(u64, Dtype)> = runs[0]
        .keys()
        .copied()
        .filter(|k| runs.iter().all(|r| r.contains_key(k)))
        .collect();
    let mut md = format!(
        "| N | dtype | median of {} runs (ms) | spread: (max - min) / median % | faster than fp32 in |\n|---|---|---|---|---|\n",
        runs.len()
    );
    let mut csv = String::from("n,dtype,median_ms,spread_pct,runs_faster_than_fp32,runs\n");
    let (mut flipped, mut verdicts) = (0, 0);
    for &(n, d) in &keys {
        let mut t: Vec<f64> = runs.iter().map(|r| r[&(n, d)]).collect();
        t.sort_by(f64::total_cmp);
        let median = mlsim_calibrate::metrics::median(&t)
            .with_context(|| format!("N = {n} {d}: no runtime in {}", REPEATS.join(", ")))?;
        let spread = 100.0 * (t[t.len() - 1] - t[0]) / median;
        // A verdict needs fp32 at the same size in every run.
        let fp32: Option<Vec<f64>> = runs
            .iter()
            .map(|r| r.get(&(n, Dtype::Fp32)).copied())
            .collect();
        let faster = match fp32 {
            Some(base) if d != Dtype::Fp32 => Some(
                runs.iter()
                    .zip(&base)
                    .filter(|(r, b)| r[&(n, d)] < **b)
                    .count(),
            ),
            _ => None,
        };
        if let Some(f) = faster {
            verdicts += 1;
            if f != 0 && f != runs.len() {
                flipped += 1;
            }
        }
        let verdict = faster.map_or("-".into(), |f| format!("{f} of {}", runs.len()));
        md.push_str(&format!(
            "| {n} | {d} | {median:.4} | {spread:.0} | {verdict} |\n"
        ));
        csv.push_str(&format!(
            "{n},{d},{},{},{},{}\n",
            csv_number(median),
            csv_number(spread),
            faster.map_or(String::new(), |f| f.to_string()),
            runs.len()
        ));
    }
    md.push_str(&format!(
        "\nVerdicts that differ between runs of the same benchmark: {flipped} of {verdicts}.\n"
    ));
    let mut out = Outputs::new();
    out.insert("generated/repeatability-h100.md".into(), md.into_bytes());
    out.insert("generated/repeatability-h100.csv".into(), csv.into_bytes());
    Ok(out)
}

/// Every table of the paper.
pub fn paper_tables(root: &Path) -> anyhow::Result<Outputs> {
    let (a, (b, c)) = rayon::join(
        || validation_summary(root),
        || (findings(root), repeatability(root)),
    );
    let mut out = a?;
    out.extend(b?);
    out.extend(c?);
    out.extend(crate::low_precision::tables()?);
    Ok(out)
}

/// Documents with generated sections, relative to the repository root.
pub const FILLED: [&str; 2] = ["paper/mlsim.md", "docs/model/README.md"];

const BEGIN: &str = "<!-- generated: ";
const END: &str = "<!-- end generated -->";

/// `template` with each generated section replaced by its file from
/// `generated` (keys `generated/NAME`), markers kept.
pub fn fill(template: &str, generated: &Outputs) -> anyhow::Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let close = after
            .find("-->")
            .context("an unclosed `<!-- generated:` marker")?;
        let name = after[..close].trim();
        let body_start = start + BEGIN.len() + close + "-->".len();
        let Some(end) = rest[body_start..].find(END) else {
            bail!("`<!-- generated: {name} -->` has no `{END}`");
        };
        let content = generated
            .get(&format!("generated/{name}"))
            .with_context(|| {
                format!("`<!-- generated: {name} -->`: no file paper/generated/{name}")
            })?;
        out.push_str(&rest[..body_start]);
        out.push('\n');
        out.push_str(std::str::from_utf8(content)?);
        if !content.ends_with(b"\n") {
            out.push('\n');
        }
        out.push_str(END);
        rest = &rest[body_start + end + END.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_sections_and_keeps_markers() {
        let mut g = Outputs::new();
        g.insert("generated/a.md".into(), b"| 1 |\n".to_vec());
        let t = "x\n<!-- generated: a.md -->\nold\n<!-- end generated -->\ny\n";
        let filled = fill(t, &g).unwrap();
        assert_eq!(
            filled,
            "x\n<!-- generated: a.md -->\n| 1 |\n<!-- end generated -->\ny\n"
        );
        assert_eq!(fill(&filled, &g).unwrap(), filled, "filling is idempotent");
        assert!(fill("<!-- generated: b.md -->\n<!-- end generated -->", &g).is_err());
        assert!(fill("<!-- generated: a.md -->\nno end", &g).is_err());
    }

    /// Every figure `paper/mlsim.md` shows exists, and every generated
    /// section of every filled document names a committed generated file
    /// (`cargo xtask figures --check` then checks the file is current).
    #[test]
    fn the_write_up_links_only_what_exists() {
        let paper = Path::new(env!("CARGO_MANIFEST_DIR")).join("../paper");
        let text = std::fs::read_to_string(paper.join("mlsim.md")).unwrap();
        let mut figures = 0;
        for link in text.split("](").skip(1) {
            let target = &link[..link.find(')').unwrap()];
            assert!(
                paper.join(target).is_file(),
                "mlsim.md links to missing {target}"
            );
            figures += 1;
        }
        assert!(figures >= 10, "mlsim.md shows its figures");
        let sections = text.matches(BEGIN).count();
        assert!(sections >= 5, "mlsim.md has its generated tables");
        let root = paper.join("..");
        for doc in FILLED {
            let text = std::fs::read_to_string(root.join(doc)).unwrap();
            assert_eq!(
                text.matches(BEGIN).count(),
                text.matches(END).count(),
                "{doc}"
            );
            for section in text.split(BEGIN).skip(1) {
                let name = section[..section.find("-->").unwrap()].trim();
                assert!(
                    paper.join("generated").join(name).is_file(),
                    "{doc}: section `{name}` names no file in paper/generated"
                );
            }
        }
    }

    /// The repeatability table by hand: N = 1024 fp32 took 0.0589130,
    /// 0.0586611, 0.0586874, 0.0587293, 0.0592848 and 0.0586467 ms in the
    /// six runs: median 0.0587084, spread (0.0592848 - 0.0586467) / median
    /// = 1.087%.
    #[test]
    fn repeatability_by_hand() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let out = repeatability(root).unwrap();
        let csv = String::from_utf8(out["generated/repeatability-h100.csv"].clone()).unwrap();
        let row: Vec<&str> = csv
            .lines()
            .find(|l| l.starts_with("1024,fp32,"))
            .unwrap()
            .split(',')
            .collect();
        let (median, spread): (f64, f64) = (row[2].parse().unwrap(), row[3].parse().unwrap());
        assert!((median - 0.0587084).abs() < 1e-6, "{median}");
        assert!((spread - 1.087).abs() < 0.01, "{spread}");
    }

    /// The paper's findings tables agree with the measurements by hand:
    /// at N = 128 fp32 takes 15.196 us and fp16 18.622 us (fp32/fp16 =
    /// 0.82: fp16 is slower), and at N = 4096 fp32 takes 32.154 ms and bf16
    /// 58.074 ms (0.55).
    #[test]
    fn findings_measured_columns_match_the_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let out = findings(root).unwrap();
        let fp16 = String::from_utf8(out["generated/finding-fp16.md"].clone()).unwrap();
        assert!(fp16.contains("| 128 | 0.82 |"), "{fp16}");
        let bf16 = String::from_utf8(out["generated/finding-bf16.md"].clone()).unwrap();
        assert!(bf16.contains("| 4096 | 0.55 |"), "{bf16}");
        let cross = String::from_utf8(out["generated/finding-crossovers.md"].clone()).unwrap();
        assert!(cross.contains("| int8 | from N = 256 |"), "{cross}");
    }
}
