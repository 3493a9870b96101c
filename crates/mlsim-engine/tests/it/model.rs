//! Transformer inference steps against hand-computed bounds.

use mlsim_engine::model::predict_step;
use mlsim_workload::transformer::{ModelConfig, Phase, Scheme};

fn llama() -> ModelConfig {
    ModelConfig::from_toml(
        include_str!("../../../../models/llama-3-8b.toml"),
        "llama-3-8b.toml",
    )
    .unwrap()
}

/// The decode step of a serving engine: CUDA graphs and kernels timed as a
/// queue (back to back), so the host adds next to nothing.
fn engine_setup(hw: &str) -> mlsim_hw::Setup {
    mlsim_hw::Setup::load(
        hw,
        &mlsim_hw::SetupSpec {
            framework: Some("cuda-graph"),
            timing: Some(mlsim_hw::Timing::BackToBack),
            ..Default::default()
        },
    )
    .unwrap()
}

/// Decode at batch 1 reads every weight once: with no host cost (CUDA
/// graphs), the step takes the bytes it moves (weights, KV cache,
/// activations) over main-memory bandwidth, plus each kernel's fixed GPU
/// time (worked out by hand below), and only a little more (the compute of
/// a batch-1 step is tiny).
#[test]
fn decode_at_batch_1_is_the_weight_read() {
    for hw in ["h200", "a100-sxm4-80gb", "l4"] {
        let setup = engine_setup(hw);
        let chip = &setup.chip;
        let cfg = llama();
        for scheme in ["w16a16", "w8a16", "w4a16"] {
            let scheme: Scheme = scheme.parse().unwrap();
            let step = predict_step(
                &setup.target(),
                &cfg,
                Phase::Decode {
                    batch: 1,
                    context: 1024,
                },
                &scheme,
            );
            let bytes: f64 = step
                .ops
                .iter()
                .map(|o| o.op.bytes() * o.op.count as f64)
                .sum();
            let bound_ms = bytes / chip.main_memory().bandwidth_bytes_per_s * 1e3;
            // Hand check of the bytes: the layer weights and LM head, once.
            let w = scheme.weights.bytes_per_element();
            let weights =
                w * (32.0 * cfg.layer_parameters() - 32.0 * 2.0 * 4096.0 + 128_256.0 * 4096.0);
            let kv = 32.0 * 2.0 * 1024.0 * 8.0 * 128.0 * scheme.kv.bytes_per_element();
            assert!(
                bytes >= weights + kv && bytes < (weights + kv) * 1.01,
                "{hw} {}: {bytes}",
                scheme.name
            );
            assert!(
                step.step_ms >= bound_ms * (1.0 - 1e-9),
                "{hw} {}: {} < bound {bound_ms}",
                scheme.name,
                step.step_ms
            );
            // Each kernel's fixed GPU time: the stack's fixed_us, one
            // main-memory and one L2 round trip, and the gap between queued
            // kernels; one kernel per op run.
            let kernels: f64 = step.ops.iter().map(|o| o.op.count as f64).sum();
            let f = chip.frequency_hz;
            let n = chip.memory.len();
            let per_kernel_ms = (setup.stack.kernel.fixed_s
                + chip.memory[n - 1].latency_cycles / f
                + chip.memory[n - 2].latency_cycles / f
                + setup.framework.gpu_gap_s)
                * 1e3;
            assert!(
                step.step_ms <= bound_ms * 1.15 + kernels * per_kernel_ms,
                "{hw} {}: {} far above bound {bound_ms} + {kernels} kernels x {per_kernel_ms} ms",
                scheme.name,
                step.step_ms
            );
        }
    }
}

/// The rule behind a weight-only recommendation: at batch 1 a decode step
/// is a weight read, and int4 weights are a quarter of fp16's bytes, so
/// w4a16 wins; at a large batch every GEMM is compute-bound on the same
/// fp16 tensor cores, and w4a16 also dequantizes each weight once per
/// 128-row block of tokens, so w16a16 wins.
#[test]
fn weight_only_wins_small_batches_and_loses_large_ones() {
    let setup = engine_setup("h100-sxm5");
    let cfg = llama();
    let time = |batch, s: &str| {
        predict_step(
            &setup.target(),
            &cfg,
            Phase::Decode {
                batch,
                context: 512,
            },
            &s.parse().unwrap(),
        )
        .step_ms
    };
    assert!(time(1, "w4a16") < time(1, "w8a16"));
    assert!(time(1, "w8a16") < time(1, "w16a16"));
    let (fp16, int4) = (time(2048, "w16a16"), time(2048, "w4a16"));
    assert!(fp16 < int4, "batch 2048: w16a16 {fp16} ms, w4a16 {int4} ms");
}

#[test]
fn footprint_and_fit() {
    let setup = mlsim_hw::Setup::load("l4", &Default::default()).unwrap(); // 24 GB
    let cfg = llama();
    let fp16 = predict_step(
        &setup.target(),
        &cfg,
        Phase::Decode {
            batch: 1,
            context: 8192,
        },
        &"w16a16".parse().unwrap(),
    );
    // 8.03e9 parameters x 2 bytes = 16.1 GB of weights; 8192 x 131072 B = 1.07 GB of KV.
    assert!(
        (fp16.weight_bytes / 1e9 - 16.06).abs() < 0.05,
        "{}",
        fp16.weight_bytes
    );
    assert!((fp16.kv_cache_bytes - 8192.0 * 131_072.0).abs() < 1.0);
    assert!(fp16.fits);
    let big = predict_step(
        &setup.target(),
        &cfg,
        Phase::Decode {
            batch: 64,
            context: 8192,
        },
        &"w16a16".parse().unwrap(),
    );
    assert!(
        !big.fits,
        "64 x 8192 tokens of KV (68.7 GB) cannot fit in 24 GB"
    );
}

/// One path through the engine: a prefill GEMM of `mlsim model` takes the
/// time `mlsim sim` (`predict`) gives the same shape on the same chip, on
/// every model but the original's (a CPU, a TPU, a GPU).
#[test]
fn a_model_step_gemm_takes_the_time_sim_gives_it() {
    use mlsim_workload::{Op, Workload};
    for hw in [
        "xeon-sapphire-rapids",
        "tpu-v5e",
        "h100-sxm5",
        "dev-epyc-turin-2vcpu",
    ] {
        let setup = mlsim_hw::Setup::load(hw, &Default::default()).unwrap();
        let t = setup.target();
        let scheme: Scheme = "bf16".parse().unwrap();
        let step = predict_step(
            &t,
            &llama(),
            Phase::Prefill {
                batch: 1,
                prompt: 512,
            },
            &scheme,
        );
        let mut checked = 0;
        for o in &step.ops {
            let mlsim_workload::transformer::OpShape::Gemm { batch: 1, m, n, k } = o.op.shape
            else {
                continue;
            };
            let w = Workload::new("gemm", Op::matmul(m, n, k), scheme.activations).unwrap();
            let sim_ms = mlsim_engine::predict(&t, &w).runtime_ms;
            let model_ms = o.time_ms / o.op.count as f64;
            assert!(
                (model_ms - sim_ms).abs() <= 1e-9 * sim_ms,
                "{hw} {} {m}x{n}x{k}: model {model_ms} ms, sim {sim_ms} ms",
                o.op.name
            );
            checked += 1;
        }
        assert!(checked >= 3, "{hw}: {checked} GEMMs checked");
    }
}

/// Prefill of 2048 tokens is compute-bound. w4a8 (MXFP4 weights, fp8
/// activations) computes at the fp8 rate either way; where the matrix units
/// take MXFP4 and fp8 operands together (B200, MI355X) it is never slower
/// than fp8 and faster only by what its smaller weight read saves (under
/// 15% of a compute-bound step); where MXFP4
/// has no path (H100) every weight element is dequantized once per
/// 128-token block, which fp8 never pays, so it is slower than fp8.
/// Separately, on CDNA 3 the `fp8` scheme computes in FNUZ E4M3, the only
/// fp8 there, at twice the bf16 rate (so well under bf16's step).
#[test]
fn w4a8_converts_only_where_the_chip_cannot_take_fp4_weights() {
    let phase = Phase::Prefill {
        batch: 1,
        prompt: 2048,
    };
    let step = |hw: &str, scheme: &str| {
        let setup = engine_setup(hw);
        predict_step(&setup.target(), &llama(), phase, &scheme.parse().unwrap())
    };
    for hw in ["b200", "mi355x"] {
        let (w4a8, fp8) = (step(hw, "w4a8").step_ms, step(hw, "fp8").step_ms);
        assert!(
            w4a8 <= fp8 && w4a8 > 0.85 * fp8,
            "{hw}: w4a8 {w4a8} ms, fp8 {fp8} ms"
        );
    }
    let (w4a8, fp8) = (
        step("h100-sxm5", "w4a8").step_ms,
        step("h100-sxm5", "fp8").step_ms,
    );
    assert!(w4a8 > 1.1 * fp8, "h100: w4a8 {w4a8} ms, fp8 {fp8} ms");
    let fp8 = step("mi300x", "fp8");
    assert_eq!(fp8.scheme.activations, mlsim_quant::Dtype::Fp8E4m3Fnuz);
    assert!(fp8.native);
    assert!(fp8.step_ms < 0.7 * step("mi300x", "bf16").step_ms);
}
