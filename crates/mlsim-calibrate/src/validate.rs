//! Predictions against measurements: per-point errors, summaries and the
//! decision scores (is a dtype faster than fp32, which dtype is fastest,
//! from which size a dtype wins).

use std::collections::BTreeMap;

use mlsim_engine::predict_matmul;
use mlsim_hw::Timing;
use mlsim_quant::Dtype;

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

/// Predict every measurement on its target.
pub fn points(rows: &RowTargets, measurements: &[Measurement]) -> Vec<Point> {
    measurements
        .iter()
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

/// Runtimes per shape per dtype, measured or predicted.
type Grid = BTreeMap<Shape, BTreeMap<Dtype, f64>>;

/// Run-to-run spread per GEMM shape per dtype, percent, where known.
type Spreads = BTreeMap<(Shape, Dtype), f64>;

fn spreads(points: &[Point]) -> Spreads {
    points
        .iter()
        .filter(|p| p.op == MeasuredOp::Gemm)
        .filter_map(|p| p.spread_pct.map(|s| ((p.shape(), p.dtype), s)))
        .collect()
}

/// Whether runtimes `a` and `b` (of dtypes `da`, `db` at `shape`) differ
/// by more than the larger of their run-to-run spreads; true where neither
/// spread is known.
fn resolved(spreads: &Spreads, shape: Shape, (da, a): (Dtype, f64), (db, b): (Dtype, f64)) -> bool {
    let sa = spreads.get(&(shape, da));
    let sb = spreads.get(&(shape, db));
    if sa.is_none() && sb.is_none() {
        return true;
    }
    let spread = sa.copied().unwrap_or(0.0).max(sb.copied().unwrap_or(0.0)) / 100.0;
    (a.max(b) / a.min(b) - 1.0) > spread
}

/// The GEMM points' runtimes (memory probes have no dtype to compare).
fn grids(points: &[Point]) -> (Grid, Grid) {
    let (mut measured, mut predicted) = (Grid::new(), Grid::new());
    for p in points.iter().filter(|p| p.op == MeasuredOp::Gemm) {
        measured
            .entry(p.shape())
            .or_default()
            .insert(p.dtype, p.measured_ms);
        predicted
            .entry(p.shape())
            .or_default()
            .insert(p.dtype, p.predicted_ms);
    }
    (measured, predicted)
}

/// Shapes in increasing FLOP order (ties by shape).
fn shapes_by_size(grid: &Grid) -> Vec<Shape> {
    let mut shapes: Vec<Shape> = grid.keys().copied().collect();
    shapes.sort_by(|a, b| {
        let fa = a.0 as f64 * a.1 as f64 * a.2 as f64;
        let fb = b.0 as f64 * b.1 as f64 * b.2 as f64;
        fa.total_cmp(&fb).then(a.cmp(b))
    });
    shapes
}

/// The distinct sizes of a measurement set (op and shape), sorted.
pub fn distinct_sizes(measured: &[Measurement]) -> Vec<(MeasuredOp, Shape)> {
    let mut sizes: Vec<(MeasuredOp, Shape)> = measured.iter().map(Measurement::size).collect();
    sizes.sort();
    sizes.dedup();
    sizes
}

/// The verdicts: one per (shape, dtype other than fp32) where fp32 was
/// measured too.
pub fn verdicts(points: &[Point]) -> Vec<Verdict> {
    let (measured, predicted) = grids(points);
    let spreads = spreads(points);
    let mut out = Vec::new();
    for shape in shapes_by_size(&measured) {
        let (m, p) = (&measured[&shape], &predicted[&shape]);
        let (Some(m32), Some(p32)) = (m.get(&Dtype::Fp32), p.get(&Dtype::Fp32)) else {
            continue;
        };
        for (&dtype, &ms) in m.iter().filter(|(d, _)| **d != Dtype::Fp32) {
            out.push(Verdict {
                shape,
                dtype,
                measured_faster: ms < *m32,
                predicted_faster: p[&dtype] < *p32,
                resolved: resolved(&spreads, shape, (dtype, ms), (Dtype::Fp32, *m32)),
            });
        }
    }
    out
}

/// The fastest dtype per shape (shapes with at least two dtypes).
pub fn fastest(points: &[Point]) -> Vec<Fastest> {
    let (measured, predicted) = grids(points);
    let spreads = spreads(points);
    // Dtypes by runtime, fastest first (ties by dtype).
    let ranked = |row: &BTreeMap<Dtype, f64>| {
        let mut r: Vec<(Dtype, f64)> = row.iter().map(|(d, t)| (*d, *t)).collect();
        r.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        r
    };
    shapes_by_size(&measured)
        .into_iter()
        .filter(|s| measured[s].len() >= 2)
        .map(|shape| {
            let m = ranked(&measured[&shape]);
            Fastest {
                shape,
                measured: m[0].0,
                predicted: ranked(&predicted[&shape])[0].0,
                resolved: resolved(&spreads, shape, m[0], m[1]),
            }
        })
        .collect()
}

fn crossover_in(grid: &Grid, dtype: Dtype) -> Option<CrossoverAt> {
    let shapes: Vec<Shape> = shapes_by_size(grid)
        .into_iter()
        .filter(|s| grid[s].contains_key(&dtype) && grid[s].contains_key(&Dtype::Fp32))
        .collect();
    if shapes.is_empty() {
        return None;
    }
    let faster = |s: &Shape| grid[s][&dtype] < grid[s][&Dtype::Fp32];
    // The first shape of the final run of "faster" shapes.
    let mut from = None;
    for s in shapes.iter().rev() {
        if faster(s) {
            from = Some(*s);
        } else {
            break;
        }
    }
    Some(match from {
        None => CrossoverAt::Never,
        Some(s) if s == shapes[0] => CrossoverAt::Always,
        Some(s) => CrossoverAt::From(s),
    })
}

/// Measured and predicted crossover per dtype other than fp32.
pub fn crossovers(points: &[Point]) -> Vec<DtypeCrossover> {
    let (measured, predicted) = grids(points);
    let mut dtypes: Vec<Dtype> = points
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
                measured: crossover_in(&measured, dtype)?,
                predicted: crossover_in(&predicted, dtype)?,
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
