//! The charts mlsim draws from its predictions, shared by `mlsim run --plot`
//! and `cargo xtask figures` so both draw the same thing the same way.

use mlsim_engine::{SimResult, predict_matmul};
use mlsim_hw::Chip;
use mlsim_quant::Dtype;

use plotters::style::RGBColor;

use crate::{Bars, Chart, Heatmap, PALETTE, Series, Style};

/// A fixed colour per dtype (index into [`crate::PALETTE`]), so that a
/// dtype looks the same in every figure. OCP and FNUZ fp8 share one (a
/// chip has one of them); plain and block-scaled formats do not (a B200
/// runs fp4 and MXFP4 at different rates).
pub fn dtype_color(dtype: Dtype) -> usize {
    match dtype {
        Dtype::Fp32 => 0,
        Dtype::Tf32 => 1,
        Dtype::Fp16 => 2,
        Dtype::Bf16 => 3,
        Dtype::Fp8E4m3 | Dtype::Fp8E4m3Fnuz => 4,
        Dtype::Fp8E5m2 | Dtype::Fp8E5m2Fnuz => 5,
        Dtype::Int8 => 6,
        Dtype::Int4 => 7,
        Dtype::Fp64 => 8,
        Dtype::Fp6E2m3 | Dtype::Fp6E3m2 => 9,
        Dtype::Fp4E2m1 => 10,
        Dtype::Nvfp4 => 11,
        Dtype::Mxfp8 => 12,
        Dtype::Mxfp6 => 13,
        Dtype::Mxfp4 => 14,
    }
}

/// Arithmetic intensities the roofline lines span, FLOP/byte.
const AI_SPAN: (f64, f64) = (0.1, 10_000.0);

/// The chip's roofline for each dtype its workloads use (and fp32), dashed,
/// with each group of workloads (a suite) as dots at (arithmetic
/// intensity, predicted achieved TFLOP/s), labelled with their names.
pub fn roofline(chip: &Chip, groups: &[(String, Vec<&SimResult>)]) -> Chart {
    let mut dtypes: Vec<Dtype> = vec![Dtype::Fp32];
    for r in groups.iter().flat_map(|g| g.1.iter()) {
        if !dtypes.contains(&r.dtype) {
            dtypes.push(r.dtype);
        }
    }
    dtypes.sort_by_key(|d| d.index());
    let mut series = Vec::new();
    for &dtype in &dtypes {
        let roof = chip.roofline(dtype);
        let steps = 40;
        let (lo, hi) = (AI_SPAN.0.log10(), AI_SPAN.1.log10());
        let points = (0..=steps)
            .map(|i| 10f64.powf(lo + (hi - lo) * f64::from(i) / f64::from(steps)))
            .map(|ai| (ai, roof.ceiling(ai) / 1e12))
            .collect();
        series.push(Series {
            name: format!("{dtype} roofline"),
            points,
            style: Style::Dashed,
            color: dtype_color(dtype),
        });
    }
    let mut point_labels = Vec::new();
    for (gi, (name, results)) in groups.iter().enumerate() {
        let points: Vec<(f64, f64)> = results
            .iter()
            .map(|r| {
                (
                    r.prediction.arithmetic_intensity,
                    r.prediction.achieved_tflops,
                )
            })
            .collect();
        for (r, &(x, y)) in results.iter().zip(&points) {
            point_labels.push((x, y, r.workload.clone()));
        }
        series.push(Series {
            name: format!("{name} workloads (predicted)"),
            points,
            // Black markers told apart by shape: the colours belong to the
            // dtypes' rooflines.
            style: [Style::Dots, Style::Squares, Style::Triangles][gi % 3],
            color: 7,
        });
    }
    Chart {
        title: format!("Roofline of {} with workloads", chip.display_name),
        x_label: "arithmetic intensity (FLOP/byte), log scale".into(),
        y_label: "TFLOP/s (TOP/s for integers), log scale".into(),
        log_x: true,
        log_y: true,
        series,
        point_labels,
    }
}

/// Predicted runtime of each workload (rows, in the order given) on each
/// chip (bars), log scale. Workloads a chip has no result for draw no bar.
pub fn runtime_per_workload(title: &str, chips: &[Chip], results: &[SimResult]) -> Bars {
    let mut categories: Vec<String> = Vec::new();
    for r in results {
        if !categories.contains(&r.workload) {
            categories.push(r.workload.clone());
        }
    }
    let series = chips
        .iter()
        .enumerate()
        .map(|(ci, chip)| {
            let values = categories
                .iter()
                .map(|w| {
                    results
                        .iter()
                        .find(|r| r.hardware == chip.name && &r.workload == w)
                        .map_or(f64::NAN, |r| r.prediction.runtime_ms)
                })
                .collect();
            (chip.name.clone(), ci, values)
        })
        .collect();
    Bars {
        title: title.to_string(),
        x_label: "predicted runtime (ms), log scale".into(),
        log_x: true,
        categories,
        series,
    }
}

/// The fastest dtype of `M x n x K` GEMMs over a grid of M and K on one
/// chip: the data behind [`CrossoverMap::heatmap`].
#[derive(Debug, Clone, PartialEq)]
pub struct CrossoverMap {
    /// Chip name.
    pub chip: String,
    /// Chip display name.
    pub display_name: String,
    /// The fixed N.
    pub n: u64,
    /// Grid rows (M), increasing.
    pub ms: Vec<u64>,
    /// Grid columns (K), increasing.
    pub ks: Vec<u64>,
    /// Dtypes compared: every dtype the chip runs (natively or emulated).
    pub candidates: Vec<Dtype>,
    /// `fastest[row][column]`: the dtype with the lowest predicted runtime
    /// and that runtime, in ms ([`fastest_of`]: where dtypes are within
    /// [`TIE`] of the lowest, the map shows the widest, which keeps more
    /// precision for no loss of speed).
    pub fastest: Vec<Vec<(Dtype, f64)>>,
    /// `fp32_ms[row][column]`: fp32's predicted runtime, ms (NaN when the
    /// chip has no fp32 path).
    pub fp32_ms: Vec<Vec<f64>>,
}

/// Relative runtime difference below which two dtypes count as tied.
pub const TIE: f64 = 0.005;

/// A switch from fp32 that gains less than this factor is shown as "no
/// real gain": launch-bound shapes where every dtype takes about as long.
pub const NO_GAIN: f64 = 1.05;

/// Colour of the "no real gain" cells.
const NO_GAIN_COLOR: RGBColor = RGBColor(225, 225, 225);

impl CrossoverMap {
    /// Predict every dtype at every grid point on a target (a chip with its
    /// stack and timing). `None` when the chip runs no dtype at all.
    pub fn compute(t: &mlsim_hw::Target<'_>, n: u64, ms: &[u64], ks: &[u64]) -> Option<Self> {
        let chip = t.chip;
        // The dtypes the chip file describes (its paths, native or
        // emulated, and fp32): the choices a user has on it. A format the
        // file never names would run on a fallback path nobody configured.
        let candidates: Vec<Dtype> = chip
            .described_dtypes()
            .into_iter()
            .filter(|&d| chip.resolve_path(d).is_some() && chip.runs(d))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let fastest = ms
            .iter()
            .map(|&m| {
                ks.iter()
                    .map(|&k| {
                        let times: Vec<(Dtype, f64)> = candidates
                            .iter()
                            .map(|&d| (d, predict_matmul(t, m, n, k, d).runtime_ms))
                            .collect();
                        fastest_of(&times)
                    })
                    .collect()
            })
            .collect();
        let has_fp32 = candidates.contains(&Dtype::Fp32);
        let fp32_ms = ms
            .iter()
            .map(|&m| {
                ks.iter()
                    .map(|&k| {
                        if has_fp32 {
                            predict_matmul(t, m, n, k, Dtype::Fp32).runtime_ms
                        } else {
                            f64::NAN
                        }
                    })
                    .collect()
            })
            .collect();
        Some(Self {
            chip: chip.name.clone(),
            display_name: chip.display_name.clone(),
            n,
            ms: ms.to_vec(),
            ks: ks.to_vec(),
            candidates,
            fastest,
            fp32_ms,
        })
    }

    /// The grid as CSV: `m,n,k,fastest,runtime_ms,fp32_ms,speedup_vs_fp32`,
    /// numbers to 6 significant digits, an empty field where a value is
    /// missing (no fp32 path).
    pub fn csv(&self) -> String {
        let mut out = String::from("m,n,k,fastest,runtime_ms,fp32_ms,speedup_vs_fp32\n");
        for ((row, fp32), &m) in self.fastest.iter().zip(&self.fp32_ms).zip(&self.ms) {
            for ((&(d, t), f), &k) in row.iter().zip(fp32).zip(&self.ks) {
                out.push_str(&format!(
                    "{m},{},{k},{d},{},{},{}\n",
                    self.n,
                    csv_number(t),
                    csv_number(*f),
                    csv_number(f / t)
                ));
            }
        }
        out
    }

    /// Whether the best dtype at (row, column) gains less than [`NO_GAIN`]
    /// over fp32 (false when the chip has no fp32 path to compare with).
    pub fn no_real_gain(&self, row: usize, column: usize) -> bool {
        self.fp32_ms[row][column] / self.fastest[row][column].1 < NO_GAIN
    }

    /// A heatmap with one cell per grid point, centred on it in log space.
    pub fn heatmap(&self) -> Heatmap {
        let mut categories: Vec<(String, RGBColor)> = self
            .candidates
            .iter()
            .map(|&d| (d.to_string(), PALETTE[dtype_color(d) % PALETTE.len()]))
            .collect();
        let no_gain = categories.len();
        categories.push((
            format!("< {:.0}% faster than fp32", (NO_GAIN - 1.0) * 100.0),
            NO_GAIN_COLOR,
        ));
        let cells = self
            .fastest
            .iter()
            .enumerate()
            .map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .map(|(c, (d, _))| {
                        if self.no_real_gain(r, c) {
                            Some(no_gain)
                        } else {
                            self.candidates.iter().position(|x| x == d)
                        }
                    })
                    .collect()
            })
            .collect();
        Heatmap {
            title: format!(
                "Fastest dtype, M x {} x K GEMMs, {}",
                self.n, self.display_name
            ),
            x_label: "K (reduction dimension), log scale".into(),
            y_label: "M (rows, e.g. tokens), log scale".into(),
            log_x: true,
            log_y: true,
            x_edges: log_edges(&self.ks),
            y_edges: log_edges(&self.ms),
            cells,
            categories,
        }
    }
}

/// The fastest of `(dtype, runtime)` candidates listed widest first: the
/// lowest runtime t*, then the first candidate within [`TIE`] of it (so a
/// tie goes to the wider dtype whatever the order of the others). Non-finite
/// runtimes never win; with none finite, the first candidate and NaN.
pub fn fastest_of(times: &[(Dtype, f64)]) -> (Dtype, f64) {
    let best = times
        .iter()
        .map(|t| t.1)
        .filter(|t| t.is_finite())
        .fold(f64::INFINITY, f64::min);
    times
        .iter()
        .copied()
        .find(|(_, t)| t.is_finite() && *t <= best * (1.0 + TIE))
        .or_else(|| times.first().map(|(d, _)| (*d, f64::NAN)))
        .unwrap_or((Dtype::Fp32, f64::NAN))
}

/// A number for a data CSV: 6 significant digits (stable across platforms
/// whose maths libraries differ in the last bits), empty when not finite.
pub fn csv_number(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    if x == 0.0 {
        return "0".into();
    }
    if (1e-4..1e15).contains(&x.abs()) {
        let digits = (5 - x.abs().log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.5e}")
    }
}

/// Cell edges around increasing positive values: geometric midpoints, and
/// the outer edges as far out as the neighbouring step.
fn log_edges(values: &[u64]) -> Vec<f64> {
    let v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    match v.len() {
        0 => Vec::new(),
        1 => vec![v[0] / 2f64.sqrt(), v[0] * 2f64.sqrt()],
        n => {
            let mut edges = vec![v[0] * (v[0] / v[1]).sqrt()];
            edges.extend(v.windows(2).map(|w| (w[0] * w[1]).sqrt()));
            edges.push(v[n - 1] * (v[n - 1] / v[n - 2]).sqrt());
            edges
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the T4 the measured square GEMMs at N = 4096 run 5.5x (fp16) and
    /// 4x (int8) faster than fp32 (results/t4-colab-matmul.csv): a large
    /// square cell must go to a tensor-core dtype, never fp32 or bf16.
    #[test]
    fn t4_map_picks_tensor_cores_for_large_shapes() {
        let setup = mlsim_hw::Setup::load("t4-calibrated", &Default::default()).unwrap();
        let map =
            CrossoverMap::compute(&setup.target(), 4096, &[1, 16, 4096], &[64, 4096]).unwrap();
        let (big, _) = map.fastest[2][1];
        assert!(
            matches!(big, Dtype::Fp16 | Dtype::Int8 | Dtype::Int4),
            "4096^3 on a T4: {big}"
        );
        let csv = map.csv();
        assert_eq!(csv.lines().count(), 1 + 3 * 2);
        assert!(csv.lines().nth(6).unwrap().starts_with("4096,4096,4096,"));
    }

    /// "No real gain" cells exist where the host floor dominates (tiny M
    /// and K on an H100, timed per call) and only there: each has a runtime
    /// under twice the floor, the only regime where every dtype takes about
    /// as long.
    #[test]
    fn no_gain_cells_are_launch_bound() {
        let setup = mlsim_hw::Setup::load("h100-sxm5", &Default::default()).unwrap();
        let t = setup.target();
        let map = CrossoverMap::compute(&t, 4096, &[1, 8, 64, 4096], &[64, 256, 8192]).unwrap();
        let launch_ms = t.host_floor_s(Dtype::Fp32) * 1e3;
        let mut grey = 0;
        for r in 0..map.ms.len() {
            for c in 0..map.ks.len() {
                if map.no_real_gain(r, c) {
                    grey += 1;
                    assert!(map.fastest[r][c].1 < 2.0 * launch_ms, "cell {r},{c}");
                }
            }
        }
        assert!(grey > 0, "1 x 4096 x 64 on an H100 is launch-bound");
        assert!(
            !map.no_real_gain(3, 2),
            "4096 x 4096 x 8192 gains from low precision"
        );
    }

    /// A narrower dtype must be more than TIE faster to win a cell: with
    /// the candidates' runtimes made equal (a huge host floor), the widest
    /// (fp32, listed first) wins everywhere.
    #[test]
    fn ties_go_to_the_wider_dtype() {
        let mut setup = mlsim_hw::Setup::load("t4", &Default::default()).unwrap();
        setup.host_floor_s = Some(1.0);
        let map = CrossoverMap::compute(&setup.target(), 64, &[1, 64], &[64]).unwrap();
        assert!(map.fastest.iter().flatten().all(|(d, _)| *d == Dtype::Fp32));
    }

    /// fp32 100, fp16 99.6 (a tie with fp32), int8 99.2 (a tie with fp16,
    /// not with fp32): t* = 99.2, and the widest within 0.5% of it is fp16.
    #[test]
    fn fastest_of_breaks_ties_towards_the_wider_dtype() {
        let times = [
            (Dtype::Fp32, 100.0),
            (Dtype::Fp16, 99.6),
            (Dtype::Int8, 99.2),
        ];
        assert_eq!(fastest_of(&times), (Dtype::Fp16, 99.6));
        let clear = [(Dtype::Fp32, 100.0), (Dtype::Int8, 50.0)];
        assert_eq!(fastest_of(&clear), (Dtype::Int8, 50.0));
        let broken = [(Dtype::Fp32, f64::NAN), (Dtype::Fp16, 3.0)];
        assert_eq!(fastest_of(&broken), (Dtype::Fp16, 3.0));
        let (d, t) = fastest_of(&[(Dtype::Bf16, f64::NAN)]);
        assert!(d == Dtype::Bf16 && t.is_nan());
    }

    #[test]
    fn csv_numbers_have_six_significant_digits() {
        assert_eq!(csv_number(0.0861234567), "0.0861235");
        assert_eq!(csv_number(12345.678), "12345.7");
        assert_eq!(csv_number(2.0), "2");
        assert_eq!(csv_number(f64::NAN), "");
        assert_eq!(csv_number(3.0e-7), "3.00000e-7");
    }

    #[test]
    fn log_edges_are_geometric_midpoints() {
        let e = log_edges(&[1, 4, 16]);
        let want = [0.5, 2.0, 8.0, 32.0];
        assert_eq!(e.len(), 4);
        for (got, want) in e.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    /// Every chip's maps tell its formats apart: two formats share a
    /// colour only when no chip could have both (OCP and FNUZ fp8), or
    /// when they are the same fp6 with another split of its bits.
    #[test]
    fn formats_a_chip_can_have_together_have_their_own_colours() {
        let twins = |a: Dtype, b: Dtype| {
            let pair = |x, y| (a == x && b == y) || (a == y && b == x);
            pair(Dtype::Fp8E4m3, Dtype::Fp8E4m3Fnuz)
                || pair(Dtype::Fp8E5m2, Dtype::Fp8E5m2Fnuz)
                || pair(Dtype::Fp6E2m3, Dtype::Fp6E3m2)
        };
        for a in Dtype::ALL {
            assert!(dtype_color(a) < crate::PALETTE.len(), "{a}");
            for b in Dtype::ALL {
                if a != b && !twins(a, b) {
                    assert_ne!(dtype_color(a), dtype_color(b), "{a} and {b}");
                }
            }
        }
    }
}
