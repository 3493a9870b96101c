//! The tiled GPU model's kernel floor, K-loop latency, split K and timing
//! methods on a made-up chip with round numbers, each checked against a
//! hand calculation (docs/model/kernel-floor.md,
//! docs/model/stacks-and-timing.md).

use mlsim_hw::{Setup, Timing};
use mlsim_quant::Dtype;

/// 4 SMs at 1 GHz (no power cap: every path at boost), fp16 at 4 TFLOP/s
/// (1 TFLOP/s per SM), L2 latency 500 cycles = 0.5 us, main-memory latency
/// 1000 cycles = 1 us, bandwidths high enough that no test shape is
/// memory-bound.
const CHIP: &str = r#"
name = "hand"
display_name = "hand-calculation chip"
kind = "gpu"
frequency_ghz = 1.0
default_stack = "cublas-hopper"         # unused: the tests give their own stack
sources = ["made up for a hand calculation"]

[compute]
arch = "gpu"
units = 4
simd_width = 32
peak_fp32_tflops = 1.0
efficiency = 0.85       # the original model's; unused by the tiled model
memory_overlap = 0.9    # likewise

[compute.paths.fp32]
peak_tflops = 1.0

[compute.paths.fp16]
peak_tflops = 4.0

[[memory]]
name = "L1"
size_kib = 64
line_bytes = 128
associativity = 4
latency_cycles = 30
bandwidth_gb_s = 4000
miss_penalty_cycles = 0

[[memory]]
name = "L2"
size_kib = 4096
line_bytes = 128
associativity = 16
latency_cycles = 500
bandwidth_gb_s = 1000
miss_penalty_cycles = 0

[[memory]]
name = "DRAM"
size_kib = 1048576
line_bytes = 128
associativity = 1
latency_cycles = 1000
bandwidth_gb_s = 100
miss_penalty_cycles = 0
"#;

/// One 16 x 16 tile, every path at its whole peak, 2 us fixed per kernel,
/// K-slices of 32 bytes (16 fp16 elements), 2 of them in flight.
fn stack(split_k: bool) -> String {
    format!(
        r#"
name = "hand-library"
display_name = "hand-calculation library"
kind = "library"
generation = "hand"
sources = ["made up for a hand calculation"]
efficiency = 1.0
tiles = [[16, 16]]

[kernel]
fixed_us = 2.0
pipeline_stages = 2
k_slice_bytes = 32
split_k = {split_k}
max_split_k = 4

[dequantize]
convert_flops_per_element = 0.0
scale_flops_per_element = 0.0
"#
    )
}

/// Host floor 20 us, timing overhead 10 us, GPU gap 1 us.
const FRAMEWORK: &str = r#"
name = "hand-framework"
display_name = "hand-calculation framework"
kind = "framework"
sources = ["made up for a hand calculation"]
host_floor_us = 20.0
timing_overhead_us = 10.0
gpu_gap_us = 1.0
"#;

fn setup(split_k: bool, timing: Timing) -> Setup {
    Setup {
        chip: mlsim_hw::parse_chip(CHIP, "hand.toml").unwrap(),
        stack: mlsim_hw::parse_stack(&stack(split_k), "hand-library.toml").unwrap(),
        framework: mlsim_hw::parse_framework(FRAMEWORK, "hand-framework.toml").unwrap(),
        timing,
        host_floor_s: None,
    }
}

fn runtime_us(split_k: bool, timing: Timing, m: u64, n: u64, k: u64) -> f64 {
    let s = setup(split_k, timing);
    mlsim_engine::predict_matmul(&s.target(), m, n, k, Dtype::Fp16).runtime_ms * 1e3
}

fn assert_us(what: &str, got: f64, expected: f64) {
    // 1e-6 relative: the hand values are exact up to the FLOP and byte
    // terms below a nanosecond that the comments name.
    assert!(
        (got - expected).abs() <= 1e-6 * expected + 2e-3,
        "{what}: got {got} us, by hand {expected} us"
    );
}

/// 16 x 16 x 16 in fp16, kernel-timed. Floor: 2 (fixed) + 1 (main-memory
/// round trip) + 0.5 (L2) = 3.5 us. One tile, one wave: 2 x 16 x 16 x 16 =
/// 8192 FLOPs at 1 TFLOP/s = 0.008 us, but the K loop's one 16-element
/// slice waits 1 us / 2 stages = 0.5 us. Memory: 1536 B at 100 GB/s =
/// 0.015 us. Kernel = 3.5 + 0.5 = 4.0 us.
#[test]
fn the_kernel_floor_of_a_tiny_gemm() {
    assert_us("16^3", runtime_us(false, Timing::Kernel, 16, 16, 16), 4.0);
    let s = setup(false, Timing::Kernel);
    let p = mlsim_engine::predict_matmul(&s.target(), 16, 16, 16, Dtype::Fp16);
    assert_us("floor", p.kernel_floor_ms * 1e3, 3.5);
}

/// 16 x 16 x 1600: 100 K-slices x 0.5 us = 50 us of K-loop latency against
/// 2 x 256 x 1600 FLOPs = 0.82 us of math: the latency rules. Kernel =
/// 3.5 + 50 = 53.5 us (memory: 102400 + 512 B at 100 GB/s = 1.03 us).
#[test]
fn a_deep_narrow_gemm_waits_on_its_k_loop() {
    assert_us(
        "16x16x1600",
        runtime_us(false, Timing::Kernel, 16, 16, 1600),
        53.5,
    );
}

/// The same GEMM split 4 ways (1 output tile on 4 SMs, `max_split_k` 4):
/// each split runs K = 400, 25 slices x 0.5 us = 12.5 us, all in one wave;
/// the floor adds the reduction's fixed 2 us and L2 0.5 us: 3.5 + 2.5 =
/// 6.0 us. Kernel = 18.5 us. Memory: fp32 partials 2 x 4 B x 4 x 256 =
/// 8192 B plus 103424 B of operands and output at 100 GB/s = 1.12 us, below
/// the compute time.
#[test]
fn split_k_fills_idle_sms_and_pays_a_reduction() {
    assert_us(
        "split",
        runtime_us(true, Timing::Kernel, 16, 16, 1600),
        18.5,
    );
    let s = setup(true, Timing::Kernel);
    let p = mlsim_engine::predict_matmul(&s.target(), 16, 16, 1600, Dtype::Fp16);
    assert_eq!(p.split_k(), 4);
    // 16 tiles already fill the SMs: no split, the 53.5 us path scaled by
    // waves: 64 x 64 output = 16 tiles = 4 waves of 50 us K loops.
    let q = mlsim_engine::predict_matmul(&s.target(), 64, 64, 1600, Dtype::Fp16);
    assert_eq!(q.split_k(), 1);
    assert_us("64x64x1600", q.runtime_ms * 1e3, 3.5 + 4.0 * 50.0);
}

/// How each timing method adds the host (F = 20 us, h = 10 us, g = 1 us)
/// to a kernel of K us:
/// - kernel: K;
/// - back-to-back: max(K + g, F);
/// - per-call: max(K, F + min(K, h)).
#[test]
fn timing_methods_by_hand() {
    let cases = [
        // (m, n, k, kernel us)
        (16, 16, 16, 4.0),
        // 40 K-slices x 0.5 us: between h (10 us) and F + h (30 us).
        (16, 16, 640, 23.5),
        (16, 16, 1600, 53.5),
        (64, 64, 1600, 203.5),
    ];
    for (m, n, k, kernel) in cases {
        let what = format!("{m}x{n}x{k}");
        assert_us(&what, runtime_us(false, Timing::Kernel, m, n, k), kernel);
        assert_us(
            &what,
            runtime_us(false, Timing::BackToBack, m, n, k),
            f64::max(kernel + 1.0, 20.0),
        );
        assert_us(
            &what,
            runtime_us(false, Timing::PerCall, m, n, k),
            f64::max(kernel, 20.0 + kernel.min(10.0)),
        );
    }
    // The cases cover each branch, by hand: per-call 4 us -> 24 us (F + K),
    // 23.5 us -> 30 us (F + h: calls queue behind the host's loop), 53.5 us
    // -> 53.5 (K); back-to-back 4 -> 20 (F) and 53.5 -> 54.5 (K + g).
    for (timing, k, by_hand) in [
        (Timing::PerCall, 16, 24.0),
        (Timing::PerCall, 640, 30.0),
        (Timing::PerCall, 1600, 53.5),
        (Timing::BackToBack, 16, 20.0),
        (Timing::BackToBack, 1600, 54.5),
    ] {
        let what = format!("{timing} 16x16x{k}");
        assert_us(&what, runtime_us(false, timing, 16, 16, k), by_hand);
    }
}

/// A host floor given for one measurement replaces the framework's.
#[test]
fn a_measured_host_floor_replaces_the_frameworks() {
    let s = setup(false, Timing::PerCall);
    let t = s.target().with_host_floor(Some(40e-6));
    let r = mlsim_engine::predict_matmul(&t, 16, 16, 16, Dtype::Fp16).runtime_ms * 1e3;
    assert_us("floor 40", r, 44.0);
}

/// A format the chip has no path for is dequantized to the path that holds
/// it (fp8 values and NVFP4's scaled values are exact in fp16) at the
/// stack's `[dequantize]` cost per element loaded, on the fp32 lanes.
/// 256^3 with 16 x 16 tiles loads each operand once per tile column (row):
/// 2 x 256 x 256 x 16 = 2,097,152 elements. fp8: 2 FLOPs each at 1 TFLOP/s
/// = 4.194 us; NVFP4 also applies its block scale: 3 FLOPs each = 6.291
/// us; fp16, native, none. A table of zeros charges nothing.
#[test]
fn a_format_without_a_path_pays_the_stacks_dequantization() {
    let mut s = setup(false, Timing::Kernel);
    s.stack = mlsim_hw::parse_stack(
        &stack(false)
            .replace(
                "convert_flops_per_element = 0.0",
                "convert_flops_per_element = 2.0",
            )
            .replace(
                "scale_flops_per_element = 0.0",
                "scale_flops_per_element = 1.0",
            ),
        "hand-library.toml",
    )
    .unwrap();
    let conversion_us = |s: &Setup, d| {
        mlsim_engine::predict_matmul(&s.target(), 256, 256, 256, d).conversion_ms * 1e3
    };
    assert_us("fp8", conversion_us(&s, Dtype::Fp8E4m3), 4.194304);
    assert_us("nvfp4", conversion_us(&s, Dtype::Nvfp4), 6.291456);
    assert_eq!(conversion_us(&s, Dtype::Fp16), 0.0);
    let without = setup(false, Timing::Kernel);
    assert_eq!(conversion_us(&without, Dtype::Fp8E4m3), 0.0);
}
