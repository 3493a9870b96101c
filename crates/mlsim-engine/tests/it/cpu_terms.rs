//! The cpu-blocked model's conversion term for an emulated dtype, on a
//! made-up one-core chip with round numbers, checked against a hand
//! calculation (docs/model/cpu-blocked.md).

use mlsim_hw::{Setup, Timing};
use mlsim_quant::Dtype;

/// One core at 1 GHz; fp32 at 64 GFLOP/s; fp16 emulated on the fp32
/// lanes at 4 FLOPs per element converted (vectorised); L1 32 KiB and L2
/// 256 KiB per core, L3 4 MiB, bandwidths high enough that no test shape
/// is memory-bound.
const CHIP: &str = r#"
name = "hand-cpu"
display_name = "hand-calculation CPU"
kind = "cpu"
frequency_ghz = 1.0
default_stack = "gemm-rs-avx512"        # unused: the tests give their own stack
sources = ["made up for a hand calculation"]

[compute]
arch = "simd"
units = 1
simd_width = 32
peak_fp32_tflops = 0.064
efficiency = 0.8        # the original model's; unused by the CPU model
memory_overlap = 0.6    # likewise

[compute.paths.fp32]
peak_tflops = 0.064
unit = "vector"

[compute.paths.fp16]
emulated_by = "fp32"
convert_flops_per_element = 4

[[memory]]
name = "L1"
size_kib = 32
line_bytes = 64
associativity = 8
latency_cycles = 4
bandwidth_gb_s = 100000
per_core = true
miss_penalty_cycles = 0

[[memory]]
name = "L2"
size_kib = 256
line_bytes = 64
associativity = 8
latency_cycles = 12
bandwidth_gb_s = 100000
per_core = true
miss_penalty_cycles = 0

[[memory]]
name = "L3"
size_kib = 4096
line_bytes = 64
associativity = 16
latency_cycles = 40
bandwidth_gb_s = 100000
miss_penalty_cycles = 0

[[memory]]
name = "DRAM"
size_kib = 16777216
line_bytes = 64
associativity = 1
latency_cycles = 100
bandwidth_gb_s = 100000
miss_penalty_cycles = 0
"#;

/// An 8 x 4 register tile at the whole peak; fp16 converted element by
/// element at 10 cycles when `scalar` (else vectorised, the chip's cost).
fn stack(scalar: bool) -> String {
    let fp16 = if scalar {
        "[paths.fp16]\nconvert_cycles_per_element = 10.0\n"
    } else {
        ""
    };
    format!(
        r#"
name = "hand-blas"
display_name = "hand-calculation BLAS"
kind = "library"
generation = "hand"
sources = ["made up for a hand calculation"]
efficiency = 1.0
tiles = [[8, 4]]

[kernel]
fixed_us = 0.0
pipeline_stages = 1
k_slice_bytes = 64

[dequantize]
convert_flops_per_element = 0.0
scale_flops_per_element = 0.0

{fp16}"#
    )
}

/// A hand chip and stack (TOML texts) under PyTorch eager, timed per call.
fn hand_setup(chip: &str, stack: &str) -> Setup {
    Setup {
        chip: mlsim_hw::parse_chip(chip, "hand-cpu.toml").unwrap(),
        stack: mlsim_hw::parse_stack(stack, "hand-blas.toml").unwrap(),
        framework: mlsim_hw::load_framework("pytorch-eager").unwrap(),
        timing: Timing::PerCall,
        host_floor_s: None,
    }
}

fn conversion_us(scalar: bool, m: u64, n: u64, k: u64) -> f64 {
    let s = hand_setup(CHIP, &stack(scalar));
    mlsim_engine::predict_matmul(&s.target(), m, n, k, Dtype::Fp16).conversion_ms * 1e3
}

fn assert_us(what: &str, got: f64, expected: f64) {
    assert!(
        (got - expected).abs() <= 1e-9 * expected,
        "{what}: got {got} us, by hand {expected} us"
    );
}

/// fp16 is packed as fp32 (4 bytes): kc = 32 KiB / (2 x 4 x 4 B) = 1024,
/// nc = 4 MiB / (2 x kc x 4 B) covers any n here, so A is packed once.
/// 64 x 64 x 64: one k block, so the output is converted once. Element by
/// element: (64 x 64 of A + 64 x 64 of C) x 10 cycles at 1 GHz = 81.92 us;
/// B vectorised: 64 x 64 x 4 FLOPs at 64 GFLOP/s = 0.256 us.
#[test]
fn one_k_block_converts_a_and_the_output_once() {
    assert_us("64^3", conversion_us(true, 64, 64, 64), 81.92 + 0.256);
}

/// 64 x 64 x 2048: two k blocks of 1024, so the output is stored after
/// the first and read and stored again after the second: 3 conversions
/// per element. (64 x 2048 + 3 x 64 x 64) x 10 ns = 1433.6 us; B:
/// 2048 x 64 x 4 / 64e9 = 8.192 us.
#[test]
fn each_later_k_block_reads_and_stores_the_output_again() {
    assert_us(
        "64x64x2048",
        conversion_us(true, 64, 64, 2048),
        1433.6 + 8.192,
    );
}

/// Without the stack's cycles, A and B are converted vectorised as they
/// are packed and the output is not: (64 x 2048 + 2048 x 64) x 4 / 64e9 =
/// 16.384 us.
#[test]
fn a_vectorised_library_converts_only_what_it_packs() {
    assert_us("vectorised", conversion_us(false, 64, 64, 2048), 16.384);
}

/// The chip above with two cores (128 GFLOP/s) and 10 GB/s of main memory,
/// so that a 64 MiB operand is memory-bound; a stack capping GEMVs at
/// fp32 GEMVs at `gemv_threads` and packing at `share` of main memory's
/// bandwidth.
fn memory_bound_setup(gemv_threads: Option<u32>, share: f64) -> Setup {
    let chip = CHIP
        .replace("units = 1", "units = 2")
        .replace("peak_fp32_tflops = 0.064", "peak_fp32_tflops = 0.128")
        .replace("peak_tflops = 0.064", "peak_tflops = 0.128")
        .replace(
            "latency_cycles = 100\nbandwidth_gb_s = 100000",
            "latency_cycles = 100\nbandwidth_gb_s = 10",
        );
    let kernel = format!(
        "[kernel]\nfixed_us = 0.0\npipeline_stages = 1\nk_slice_bytes = 64\npack_main_memory_share = {share}\n"
    );
    let mut stack = stack(false).replace(
        "[kernel]\nfixed_us = 0.0\npipeline_stages = 1\nk_slice_bytes = 64\n",
        &kernel,
    );
    if let Some(t) = gemv_threads {
        stack.push_str(&format!("[paths.fp32]\ngemv_threads = {t}\n"));
    }
    hand_setup(&chip, &stack)
}

/// An `m x 4096 x 4096` fp32 GEMM on [`memory_bound_setup`], us.
fn memory_bound_us(m: u64, gemv_threads: Option<u32>, share: f64) -> f64 {
    let s = memory_bound_setup(gemv_threads, share);
    mlsim_engine::predict_matmul(&s.target(), m, 4096, 4096, Dtype::Fp32).runtime_ms * 1e3
}

fn assert_near_us(what: &str, got: f64, expected: f64) {
    // 1e-3 relative: the caches' traffic at 100 TB/s adds well under that.
    assert!(
        (got - expected).abs() <= 1e-3 * expected,
        "{what}: got {got} us, by hand {expected} us"
    );
}

/// 1 x 4096 x 4096 fp32, a GEMV: kc = 32 KiB / (2 x 4 x 4 B) = 1024 (nr =
/// 4), nc = 4 MiB / (2 x 1024 x 4 B) = 512, so A is read 8 times and C
/// passes 2 x 4 - 1 = 7 times, plus the read of its lines before their
/// first write (write-allocate): main memory moves 4 x (4096 x 8 + 4096 x
/// 4096) + 4 x 4096 x 8 = 67,371,008 B. On one thread (the cap) that is
/// half of the 10 GB/s: 13,474.2 us; uncapped, both cores: 6,737.1 us.
/// A GEMV packs nothing, so the packing share does not apply.
#[test]
fn a_gemv_capped_at_one_thread_gets_one_core_s_share_of_memory() {
    let bytes = 4.0 * (4096.0 * 8.0 + 4096.0 * 4096.0) + 4.0 * 4096.0 * 8.0;
    assert_near_us(
        "capped",
        memory_bound_us(1, Some(1), 0.5),
        bytes / 5e9 * 1e6,
    );
    assert_near_us(
        "uncapped",
        memory_bound_us(1, None, 0.5),
        bytes / 10e9 * 1e6,
    );
}

/// 2 x 4096 x 4096 is not a GEMV: both threads, and the packed operands'
/// bytes (A 4 x 2 x 4096 x 8 + B 4 x 4096 x 4096 = 67,371,008) at half of
/// 10 GB/s, C's (4 x 2 x 4096 x 8 = 262,144: 7 passes and the
/// write-allocate read) at all of it: 13,474.2 + 26.2 = 13,500.4 us; at a
/// share of 1, 6,763.3 us.
#[test]
fn packed_operands_stream_at_the_stack_s_share_of_main_memory() {
    let packed = 4.0 * (2.0 * 4096.0 * 8.0 + 4096.0 * 4096.0);
    let c = 4.0 * 2.0 * 4096.0 * 8.0;
    assert_near_us(
        "half",
        memory_bound_us(2, Some(1), 0.5),
        (packed / 5e9 + c / 10e9) * 1e6,
    );
    assert_near_us(
        "all",
        memory_bound_us(2, Some(1), 1.0),
        (packed + c) / 10e9 * 1e6,
    );
}

/// 4096 x 4096 x 4 fp32: the output, 64 MiB, is all but the whole of the
/// traffic, and each of its lines is read before its first write
/// (write-allocate): one k block (kc = k = 4), so C passes once and is
/// read once more. Main memory moves A 4 x 4096 x 4 = 65,536 B and B the
/// same (packed, at half of 10 GB/s) and C 2 x 4 x 4096 x 4096 =
/// 134,217,728 B at all of it: 26.2144 + 13,421.7728 = 13,447.9872 us,
/// against 1,048.6 us of compute (134,217,728 FLOPs at 128 GFLOP/s), so
/// the call is memory-bound. Without the read, C alone would take half.
#[test]
fn the_output_s_first_write_reads_its_lines_first() {
    let s = memory_bound_setup(None, 0.5);
    let p = mlsim_engine::predict_matmul(&s.target(), 4096, 4096, 4, Dtype::Fp32);
    assert_near_us("memory", p.memory_ms * 1e3, 26.2144 + 13421.7728);
    assert_near_us("compute", p.compute_ms * 1e3, 1048.576);
    assert_near_us("runtime", p.runtime_ms * 1e3, 26.2144 + 13421.7728);
}

/// The hit fraction of a sweep too large for a randomly replaced cache,
/// h = -W(-x e^-x) / x with Lambert's W (principal branch), solved by
/// hand: x = 2: W(-0.270671) = -0.406376, so h = 0.203188. For other x,
/// w = -h x must satisfy Lambert's w e^w = -x e^-x (the non-trivial root,
/// w > -1). A sweep that fits is all hits; the bytes the cache serves
/// (h x) shrink as the sweep grows.
#[test]
fn a_cache_keeps_part_of_a_sweep_too_large_for_it() {
    use mlsim_engine::cpu::resident_share;
    assert!((resident_share(2.0, 1.0) - 0.203188).abs() < 1e-5);
    for x in [1.2, 1.5, 3.0, 10.0] {
        let w = -resident_share(x, 1.0) * x;
        assert!(w > -1.0, "x = {x}: the principal branch");
        assert!((w * w.exp() + x * (-x).exp()).abs() < 1e-9, "x = {x}");
    }
    assert_eq!(resident_share(0.5, 1.0), 1.0);
    let served = |x: f64| resident_share(x, 1.0) * x;
    for x in [1.01, 1.1, 1.5, 2.0, 3.0, 8.0] {
        assert!(served(x * 1.05) < served(x), "x = {x}");
        assert!(resident_share(x, 1.0) < 1.0 / x);
    }
}

/// The hand chip with a native fp16 path at twice fp32's rate (128
/// GFLOP/s, as AVX512-FP16), under a vectorised library (4 FLOPs per
/// element decoded) that computes fp16 through fp32 when `runs_as`.
fn native_fp16_terms(runs_as: bool) -> (f64, f64) {
    let chip = CHIP.replace(
        "[compute.paths.fp16]\nemulated_by = \"fp32\"\nconvert_flops_per_element = 4\n",
        "[compute.paths.fp16]\npeak_tflops = 0.128\nunit = \"vector\"\n",
    );
    assert_ne!(chip, CHIP, "the fp16 path was replaced");
    let mut stack = stack(false).replace(
        "convert_flops_per_element = 0.0",
        "convert_flops_per_element = 4.0",
    );
    if runs_as {
        stack.push_str("[paths.fp16]\nruns_as = \"fp32\"\n");
    }
    let s = hand_setup(&chip, &stack);
    let p = mlsim_engine::predict_matmul(&s.target(), 64, 64, 2048, Dtype::Fp16);
    (p.compute_ms * 1e3, p.conversion_ms * 1e3)
}

/// 64 x 64 x 2048 fp16 = 16,777,216 FLOPs. On the chip's own path: 131.072
/// us at 128 GFLOP/s, nothing converted. Through fp32 (`runs_as`): 262.144
/// us at 64 GFLOP/s, plus A and B converted as they are packed, (64 x 2048
/// + 2048 x 64) x 4 / 64e9 = 16.384 us.
#[test]
fn a_library_that_runs_fp16_as_fp32_forgoes_the_chips_fp16_path() {
    let (compute, conversion) = native_fp16_terms(false);
    assert_us("own path, compute", compute, 131.072);
    assert_eq!(conversion, 0.0, "a native path converts nothing");
    let (compute, conversion) = native_fp16_terms(true);
    assert_us("through fp32, compute", compute, 262.144);
    assert_us("through fp32, conversion", conversion, 16.384);
}

/// STREAM's kernel `kind` over `n` fp32 elements per array on the hand
/// chip (one core) with 100 GB/s of L2 and L3 and 10 GB/s of main memory,
/// us.
fn stream_us(kind: mlsim_workload::ElementwiseKind, n: u64) -> f64 {
    stream_on_chip_us(CHIP, kind, n)
}

fn stream_on_chip_us(chip: &str, kind: mlsim_workload::ElementwiseKind, n: u64) -> f64 {
    use mlsim_workload::{Op, Workload};
    let chip = chip
        .replace(
            "latency_cycles = 12\nbandwidth_gb_s = 100000",
            "latency_cycles = 12\nbandwidth_gb_s = 100",
        )
        .replace(
            "latency_cycles = 40\nbandwidth_gb_s = 100000",
            "latency_cycles = 40\nbandwidth_gb_s = 100",
        )
        .replace(
            "latency_cycles = 100\nbandwidth_gb_s = 100000",
            "latency_cycles = 100\nbandwidth_gb_s = 10",
        );
    let s = hand_setup(&chip, &stack(false));
    let w = Workload::new("stream", Op::Elementwise { n, kind }, Dtype::Fp32).unwrap();
    mlsim_engine::predict(&s.target(), &w).runtime_ms * 1e3
}

/// Arrays that fill the 256 KiB L2 exactly (8x the L1, which keeps
/// h = 0.0003 of them: under the 1e-3 tolerance at its 100 TB/s). Copy
/// (a memcpy: whole-line stores) moves the 262,144 bytes STREAM counts:
/// 2.62144 us at 100 GB/s. Scale's plain stores read each written line
/// first: its written array (131,072 B) once more, 393,216 B = 3.93216 us.
/// Add over 21,845 elements per array (262,140 B, three arrays) reads its
/// written array (87,380 B) once more: 349,520 B = 3.4952 us. Scale's
/// 32,768 FLOPs at 64 GFLOP/s (0.512 us) hide under the memory time.
#[test]
fn plain_stores_read_their_lines_first_in_the_caches_beyond_l1() {
    use mlsim_workload::ElementwiseKind as K;
    assert_near_us("copy", stream_us(K::Copy, 32_768), 2.62144);
    assert_near_us("scale", stream_us(K::Scale, 32_768), 3.93216);
    assert_near_us("add", stream_us(K::StreamAdd, 21_845), 3.4952);
}

/// The same arrays in an L2 whose file says a plain store costs it no
/// read (`plain_store_reads_line = false`, as `mlsim hw memory` writes
/// where scale runs as fast as copy): scale moves the 262,144 bytes STREAM
/// counts, 2.62144 us, as copy does.
#[test]
fn an_l2_whose_stores_cost_no_read_serves_what_stream_counts() {
    use mlsim_workload::ElementwiseKind as K;
    let chip = CHIP.replacen(
        "name = \"L2\"\n",
        "name = \"L2\"\nplain_store_reads_line = false\n",
        1,
    );
    assert_ne!(chip, CHIP);
    assert_near_us("scale", stream_on_chip_us(&chip, K::Scale, 32_768), 2.62144);
    assert_near_us("copy", stream_on_chip_us(&chip, K::Copy, 32_768), 2.62144);
}

/// 8 Mi elements a array, 64 MiB for copy and scale: 16x the 4 MiB L3,
/// which keeps h = e^-16 of it. Main memory serves what STREAM counts
/// (the chip file's bandwidth is STREAM's counted rate, the read for
/// ownership inside it): 67,108,864 B at 10 GB/s = 6,710.8864 us for both,
/// and triad's three arrays 10,066.3296 us.
#[test]
fn main_memory_serves_the_bytes_stream_counts() {
    use mlsim_workload::ElementwiseKind as K;
    let n = 8 * 1024 * 1024;
    assert_near_us("copy", stream_us(K::Copy, n), 6710.8864);
    assert_near_us("scale", stream_us(K::Scale, n), 6710.8864);
    assert_near_us("triad", stream_us(K::Triad, n), 10066.3296);
}
