//! Predictions against measurements: per-point errors, summaries and the
//! decision scores (is a dtype faster than fp32, which dtype is fastest,
//! from which size a dtype wins).

use mlsim_engine::predict_matmul;
use mlsim_hw::Timing;
use mlsim_quant::Dtype;
use rayon::prelude::*;

use crate::measurements::{MeasuredOp, Measurement};
use crate::metrics::{ErrorSummary, signed_error_pct};
use crate::targets::RowTargets;

/// A GEMM shape `(m, n, k)`.
pub type Shape = (u64, u64, u64);

/// One measured point next to its prediction.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Point {
    /// What ran: a GEMM, or a memory kernel over `n` elements per array.
    pub op: MeasuredOp,
    /// Rows of A and C.
    pub m: u64,
    /// Columns of B and C.
    pub n: u64,
    /// Reduction dimension.
    pub k: u64,
    /// Element type.
    pub dtype: Dtype,
    /// How it was timed (and so predicted).
    pub timing: Timing,
    /// Measured runtime, ms.
    pub measured_ms: f64,
    /// Predicted runtime, ms.
    pub predicted_ms: f64,
    /// `100 (predicted - measured) / measured`.
    pub error_pct: f64,
    /// The measurement's run-to-run spread, `100 (max - min) / median`,
    /// where the file gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread_pct: Option<f64>,
    /// [`Point::outside_spread`], for the JSON output.
    #[serde(skip_serializing_if = "Option::is_none", rename = "outside_spread")]
    pub outside_spread_flag: Option<bool>,
}

impl Point {
    /// The shape key.
    pub fn shape(&self) -> Shape {
        (self.m, self.n, self.k)
    }

    /// The point with its outside-spread flag set.
    pub fn with_outside_spread(self) -> Self {
        Self {
            outside_spread_flag: self.outside_spread(),
            ..self
        }
    }

    /// Whether the prediction falls outside the measurement's own spread
    /// (`None` where the spread is not known): the runs span about a factor
    /// `1 + s` around the median, taken as half of it either side on a
    /// log scale, so that an under- and an over-prediction are judged alike
    /// (`|ln(predicted / measured)| > ln(1 + s / 2)`).
    pub fn outside_spread(&self) -> Option<bool> {
        self.spread_pct
            .map(|s| (self.predicted_ms / self.measured_ms).ln().abs() > (1.0 + s / 200.0).ln())
    }
}

/// Predict every measurement on its target (in parallel, in the
/// measurements' order).
pub fn points(rows: &RowTargets, measurements: &[Measurement]) -> Vec<Point> {
    measurements
        .par_iter()
        .map(|r| {
            let t = rows.target(r);
            let predicted_ms = predict_row(&t, r);
            Point {
                op: r.op,
                m: r.m,
                n: r.n,
                k: r.k,
                dtype: r.dtype,
                timing: t.timing,
                measured_ms: r.runtime_ms,
                predicted_ms,
                error_pct: signed_error_pct(predicted_ms, r.runtime_ms),
                spread_pct: r.spread_pct,
                outside_spread_flag: None,
            }
            .with_outside_spread()
        })
        .collect()
}

/// The predicted runtime of one measured row, ms.
pub fn predict_row(t: &mlsim_hw::Target<'_>, r: &Measurement) -> f64 {
    match r.op.elementwise() {
        None => predict_matmul(t, r.m, r.n, r.k, r.dtype).runtime_ms,
        Some(kind) => {
            let op = mlsim_workload::Op::Elementwise { n: r.n, kind };
            let w = mlsim_workload::Workload::new(r.op.name(), op, r.dtype)
                .expect("the reader refuses zero sizes");
            mlsim_engine::predict(t, &w).runtime_ms
        }
    }
}

/// Error summary of a set of points.
pub fn summary(points: &[Point]) -> Option<ErrorSummary> {
    ErrorSummary::from_signed(&points.iter().map(|p| p.error_pct).collect::<Vec<_>>())
}

/// "Is `dtype` faster than fp32 at this shape?", measured and predicted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    /// The shape.
    pub shape: Shape,
    /// The dtype compared with fp32.
    pub dtype: Dtype,
    /// Measured runtime below fp32's.
    pub measured_faster: bool,
    /// Predicted runtime below fp32's.
    pub predicted_faster: bool,
    /// Whether the measured gap to fp32 exceeds the run-to-run spread of
    /// both measurements (always, where no spread is known): a verdict the
    /// benchmark itself cannot repeat is not scored.
    pub resolved: bool,
}

/// Which dtype is fastest at a shape, measured and predicted (among the
/// dtypes measured there).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fastest {
    /// The shape.
    pub shape: Shape,
    /// Fastest dtype as measured.
    pub measured: Dtype,
    /// Fastest dtype as predicted.
    pub predicted: Dtype,
    /// Whether the measured fastest beats the runner-up by more than the
    /// run-to-run spread of both (always, where no spread is known).
    pub resolved: bool,
}

/// From which shape on a dtype beats fp32 (at that shape and every larger
/// one, shapes ordered by FLOPs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "shape", rename_all = "lowercase")]
pub enum CrossoverAt {
    /// Faster at every shape.
    Always,
    /// Faster from this shape on.
    From(Shape),
    /// Not faster at the largest shape.
    Never,
}

/// Measured and predicted crossover of one dtype.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DtypeCrossover {
    /// The dtype compared with fp32.
    pub dtype: Dtype,
    /// From the measurements.
    pub measured: CrossoverAt,
    /// From the predictions at the same shapes.
    pub predicted: CrossoverAt,
}

/// The GEMM points (memory probes have no dtype to compare) sorted by
/// shape, in increasing FLOP order (ties by shape), then by dtype; of
/// several points of one shape and dtype the file's last is kept. One sort,
/// O(n log n) in points, and no allocation per shape.
fn by_shape(points: &[Point]) -> Vec<&Point> {
    // The sort key, computed once per point: FLOPs (a positive f64, whose
    // bits order as its values), shape, dtype, and the later point first
    // (so that dedup keeps it). Keys are unique, so an unstable sort is
    // deterministic.
    type Key = (u64, Shape, Dtype, std::cmp::Reverse<usize>);
    let mut keyed: Vec<(Key, &Point)> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.op == MeasuredOp::Gemm)
        .map(|(i, p)| {
            let s = p.shape();
            let flops = s.0 as f64 * s.1 as f64 * s.2 as f64;
            ((flops.to_bits(), s, p.dtype, std::cmp::Reverse(i)), p)
        })
        .collect();
    keyed.par_sort_unstable_by_key(|(key, _)| *key);
    keyed.dedup_by(|x, kept| x.0.1 == kept.0.1 && x.0.2 == kept.0.2);
    keyed.into_iter().map(|(_, p)| p).collect()
}

/// The points of each shape (consecutive in [`by_shape`]'s order).
fn shape_rows<'a>(sorted: &'a [&'a Point]) -> impl Iterator<Item = &'a [&'a Point]> {
    sorted.chunk_by(|a, b| a.shape() == b.shape())
}

/// The point of `dtype` in one shape's row.
fn of<'a>(row: &[&'a Point], dtype: Dtype) -> Option<&'a Point> {
    row.iter().find(|p| p.dtype == dtype).copied()
}

/// Whether runtimes `a` and `b` (of dtypes `da`, `db`, in one shape's row)
/// differ by more than the larger of their run-to-run spreads; true where
/// neither spread is known.
fn resolved(row: &[&Point], (da, a): (Dtype, f64), (db, b): (Dtype, f64)) -> bool {
    let spread_of = |d| of(row, d).and_then(|p| p.spread_pct);
    let (sa, sb) = (spread_of(da), spread_of(db));
    if sa.is_none() && sb.is_none() {
        return true;
    }
    let spread = sa.unwrap_or(0.0).max(sb.unwrap_or(0.0)) / 100.0;
    (a.max(b) / a.min(b) - 1.0) > spread
}

/// The distinct sizes of a measurement set (op and shape), sorted.
pub fn distinct_sizes(measured: &[Measurement]) -> Vec<(MeasuredOp, Shape)> {
    let mut sizes: Vec<(MeasuredOp, Shape)> = measured.iter().map(Measurement::size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The verdicts: one per (shape, dtype other than fp32) where fp32 was
/// measured too.
pub fn verdicts(points: &[Point]) -> Vec<Verdict> {
    verdicts_of(&by_shape(points))
}

/// [`verdicts`] and [`fastest`] from one sort of the points.
pub fn verdicts_and_fastest(points: &[Point]) -> (Vec<Verdict>, Vec<Fastest>) {
    let sorted = by_shape(points);
    (verdicts_of(&sorted), fastest_of(&sorted))
}

fn verdicts_of(sorted: &[&Point]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for row in shape_rows(sorted) {
        let Some(p32) = of(row, Dtype::Fp32) else {
            continue;
        };
        for p in row.iter().filter(|p| p.dtype != Dtype::Fp32) {
            out.push(Verdict {
                shape: p.shape(),
                dtype: p.dtype,
                measured_faster: p.measured_ms < p32.measured_ms,
                predicted_faster: p.predicted_ms < p32.predicted_ms,
                resolved: resolved(
                    row,
                    (p.dtype, p.measured_ms),
                    (Dtype::Fp32, p32.measured_ms),
                ),
            });
        }
    }
    out
}

/// The fastest dtype per shape (shapes with at least two dtypes).
pub fn fastest(points: &[Point]) -> Vec<Fastest> {
    fastest_of(&by_shape(points))
}

fn fastest_of(sorted: &[&Point]) -> Vec<Fastest> {
    // Dtypes by runtime, fastest first (ties by dtype).
    let ranked = |row: &[&Point], time: fn(&Point) -> f64| {
        let mut r: Vec<(Dtype, f64)> = row.iter().map(|p| (p.dtype, time(p))).collect();
        r.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        r
    };
    shape_rows(sorted)
        .filter(|row| row.len() >= 2)
        .map(|row| {
            let m = ranked(row, |p| p.measured_ms);
            Fastest {
                shape: row[0].shape(),
                measured: m[0].0,
                predicted: ranked(row, |p| p.predicted_ms)[0].0,
                resolved: resolved(row, m[0], m[1]),
            }
        })
        .collect()
}

/// Where `dtype` starts to beat fp32 by `time` (measured or predicted)
/// over the shapes, in increasing FLOP order, where both were run.
fn crossover_in(sorted: &[&Point], time: fn(&Point) -> f64, dtype: Dtype) -> Option<CrossoverAt> {
    let both: Vec<(Shape, bool)> = shape_rows(sorted)
        .filter_map(|row| {
            Some((
                row[0].shape(),
                time(of(row, dtype)?) < time(of(row, Dtype::Fp32)?),
            ))
        })
        .collect();
    let first = both.first()?.0;
    // The first shape of the final run of "faster" shapes.
    let from = both
        .iter()
        .rev()
        .take_while(|(_, faster)| *faster)
        .last()
        .map(|(s, _)| *s);
    Some(match from {
        None => CrossoverAt::Never,
        Some(s) if s == first => CrossoverAt::Always,
        Some(s) => CrossoverAt::From(s),
    })
}

/// Measured and predicted crossover per dtype other than fp32.
pub fn crossovers(points: &[Point]) -> Vec<DtypeCrossover> {
    let sorted = by_shape(points);
    let mut dtypes: Vec<Dtype> = sorted
        .iter()
        .map(|p| p.dtype)
        .filter(|d| *d != Dtype::Fp32)
        .collect();
    dtypes.sort();
    dtypes.dedup();
    dtypes
        .into_iter()
        .filter_map(|dtype| {
            Some(DtypeCrossover {
                dtype,
                measured: crossover_in(&sorted, |p| p.measured_ms, dtype)?,
                predicted: crossover_in(&sorted, |p| p.predicted_ms, dtype)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(n: u64, dtype: Dtype, measured_ms: f64, predicted_ms: f64) -> Point {
        Point {
            op: MeasuredOp::Gemm,
            m: n,
            n,
            k: n,
            dtype,
            timing: Timing::PerCall,
            measured_ms,
            predicted_ms,
            error_pct: signed_error_pct(predicted_ms, measured_ms),
            spread_pct: None,
            outside_spread_flag: None,
        }
    }

    #[test]
    fn decision_scores_by_hand() {
        use Dtype::{Fp16, Fp32, Int8};
        // n=1: fp16 slower (measured) but predicted faster; int8 slower both.
        // n=2: fp16 faster both; int8 faster measured, slower predicted.
        // n=3: both faster both.
        let pts = vec![
            pt(1, Fp32, 1.0, 1.0),
            pt(1, Fp16, 1.2, 0.9),
            pt(1, Int8, 1.5, 1.5),
            pt(2, Fp32, 2.0, 2.0),
            pt(2, Fp16, 1.0, 1.0),
            pt(2, Int8, 1.5, 2.5),
            pt(3, Fp32, 8.0, 8.0),
            pt(3, Fp16, 2.0, 2.0),
            pt(3, Int8, 1.0, 3.0),
        ];
        let v = verdicts(&pts);
        assert_eq!(v.len(), 6);
        assert_eq!(
            v.iter()
                .filter(|v| v.measured_faster == v.predicted_faster)
                .count(),
            4
        );
        let f = fastest(&pts);
        assert_eq!(
            f.iter()
                .map(|f| (f.measured, f.predicted))
                .collect::<Vec<_>>(),
            vec![(Fp32, Fp16), (Fp16, Fp16), (Int8, Fp16)]
        );
        let c = crossovers(&pts);
        assert_eq!(
            c[0],
            DtypeCrossover {
                dtype: Fp16,
                measured: CrossoverAt::From((2, 2, 2)),
                predicted: CrossoverAt::Always
            }
        );
        assert_eq!(
            c[1],
            DtypeCrossover {
                dtype: Int8,
                measured: CrossoverAt::From((2, 2, 2)),
                predicted: CrossoverAt::From((3, 3, 3))
            }
        );
    }

    #[test]
    fn never_crossover() {
        let pts = vec![pt(1, Dtype::Fp32, 1.0, 1.0), pt(1, Dtype::Bf16, 2.0, 2.0)];
        assert_eq!(crossovers(&pts)[0].measured, CrossoverAt::Never);
    }
}
