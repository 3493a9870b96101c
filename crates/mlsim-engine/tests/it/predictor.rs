//! `Predictor` (a target with its path rates resolved once, what `mlsim
//! sweep` predicts with) gives `predict`'s predictions bit for bit: on
//! every preset, every dtype the chip runs, and every kind of op (a GEMM,
//! a skinny one, attention's three GEMMs, a convolution, elementwise).

use mlsim_engine::{Predictor, predict};
use mlsim_hw::{Setup, Timing};
use mlsim_quant::Dtype;
use mlsim_workload::{ElementwiseKind, Op, Workload};

fn ops() -> Vec<Op> {
    vec![
        Op::MatMul {
            m: 1024,
            n: 1024,
            k: 1024,
        },
        Op::MatMul {
            m: 1,
            n: 4096,
            k: 4096,
        },
        Op::MatMul {
            m: 4096,
            n: 4096,
            k: 16,
        },
        Op::Attention {
            batch: 2,
            heads: 8,
            seq: 512,
            head_dim: 64,
            causal: true,
        },
        Op::Conv2d {
            batch: 8,
            c_in: 64,
            c_out: 128,
            h: 56,
            w: 56,
            kh: 3,
            kw: 3,
            stride: 1,
            padding: 1,
        },
        Op::Elementwise {
            n: 1 << 24,
            kind: ElementwiseKind::Gelu,
        },
    ]
}

#[test]
fn predictor_predicts_as_predict_on_every_preset() {
    let mut compared = 0;
    for preset in mlsim_hw::presets() {
        let setup = Setup::load(preset.name, &Default::default()).unwrap();
        for timing in [Timing::Kernel, Timing::PerCall] {
            let target = setup.target().with_timing(timing);
            let predictor = Predictor::new(&target);
            for dtype in Dtype::ALL {
                if setup.chip.check_runs(dtype).is_err() {
                    continue;
                }
                for op in ops() {
                    let w = Workload::new("w", op, dtype).unwrap();
                    let (a, b) = (predictor.predict(&w), predict(&target, &w));
                    // Debug text: every field, NaN equal to NaN.
                    assert_eq!(
                        format!("{a:?}"),
                        format!("{b:?}"),
                        "{} {dtype} {op:?}",
                        preset.name
                    );
                    compared += 1;
                }
            }
        }
    }
    // Every preset runs fp32 at least: 2 timings x 6 ops each.
    let presets = mlsim_hw::presets().len();
    assert!(presets >= 40, "{presets} presets");
    assert!(
        compared >= presets * 2 * 6,
        "only {compared} predictions compared"
    );
}
