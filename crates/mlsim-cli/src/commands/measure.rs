//! `mlsim measure cpu`: real GEMMs on the host CPU, written in the results
//! format (results/README.md) so `mlsim validate` can read them.
//!
//! fp32 runs through the `gemm` crate's f32 kernels (native SIMD FMA);
//! fp16 through its f16 kernels, which compute in f32 on CPUs without
//! native fp16 arithmetic (recorded in the `notes` column). Other dtypes
//! have no well-kept Rust GEMM and are refused with that reason.
#![allow(unsafe_code)] // the `gemm` crate's entry point takes raw pointers

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use half::f16;
use indicatif::{ProgressBar, ProgressStyle};
use mlsim_quant::Dtype;

use crate::output::{Table, sig};
use crate::{CmdResult, Failure};

#[derive(Debug, Subcommand)]
pub enum MeasureCommand {
    /// GEMMs on the host CPU with the `gemm` crate.
    Cpu(CpuArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim measure cpu --sizes 64,128,256 --out /tmp/h.csv\n  mlsim measure cpu --sizes 64,128,256,512,1024,2048 --dtypes fp32,fp16 --out results/host-mine.csv\n\nfp32 is measured natively (SIMD FMA); fp16 through the gemm crate's f16 kernels (native on CPUs with\nfp16 arithmetic, else converted to f32 inside the kernel: the notes column says which). Other dtypes\nare not available. Each point: warm-up calls, then timed calls until --reps or --max-seconds;\nruntime_ms is the median."
)]
pub struct CpuArgs {
    /// Square sizes (m = n = k).
    #[arg(long, value_delimiter = ',', default_values_t = [64, 128, 256, 512, 1024])]
    sizes: Vec<usize>,
    /// Dtypes: fp32, fp16.
    #[arg(long, value_delimiter = ',', default_value = "fp32,fp16")]
    dtypes: Vec<Dtype>,
    /// Warm-up calls per point.
    #[arg(long, default_value_t = 3)]
    warmup: u32,
    /// Timed calls per point (fewer when --max-seconds is reached, at least 3).
    #[arg(long, default_value_t = 20)]
    reps: u32,
    /// Time budget per point, seconds.
    #[arg(long, default_value_t = 5.0)]
    max_seconds: f64,
    /// Threads (default: all logical CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Write the CSV here (otherwise only the table is printed).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(cmd: &MeasureCommand) -> CmdResult {
    match cmd {
        MeasureCommand::Cpu(args) => cpu(args),
    }
}

/// CPU model name, logical CPUs and the ISA flags that matter for GEMMs.
pub fn host_description() -> (String, usize, Vec<String>) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let model = field("model name")
        .or_else(|| field("Model"))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    let interesting = [
        "avx",
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512bw",
        "avx512_bf16",
        "avx512_fp16",
        "avx512_vnni",
        "avx_vnni",
        "amx_bf16",
        "amx_int8",
        "amx_tile",
        "asimd",
        "asimdhp",
        "asimddp",
        "sve",
        "sve2",
        "bf16",
        "i8mm",
        "fphp",
    ];
    let flags: Vec<String> = field("flags")
        .or_else(|| field("Features"))
        .unwrap_or_default()
        .split_whitespace()
        .filter(|f| interesting.contains(f))
        .map(str::to_string)
        .collect();
    (model, logical, flags)
}

/// One square GEMM call of size `n` in `T`; `a`, `b`, `c` are n*n
/// row-major buffers.
fn gemm_call<T: 'static + Copy>(
    n: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    zero: T,
    one: T,
    threads: usize,
) {
    assert!(a.len() == n * n && b.len() == n * n && c.len() == n * n);
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let n_i = n as isize;
    // SAFETY: the three buffers hold n*n elements each (checked above);
    // row-major strides (column stride 1, row stride n) keep every index
    // inside them; `c` is borrowed mutably and does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            n,
            n,
            n,
            c.as_mut_ptr(),
            1,
            n_i,
            false,
            a.as_ptr(),
            1,
            n_i,
            b.as_ptr(),
            1,
            n_i,
            zero,
            one,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Deterministic pseudo-random values in [-1, 1) (never all zeros).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

struct Sample {
    median_ms: f64,
    mean_ms: f64,
    reps: u32,
}

fn time_point(mut call: impl FnMut(), warmup: u32, reps: u32, budget: Duration) -> Sample {
    for _ in 0..warmup {
        call();
    }
    let start = Instant::now();
    let mut times = Vec::with_capacity(reps as usize);
    while times.len() < reps as usize && (times.len() < 3 || start.elapsed() < budget) {
        let t = Instant::now();
        call();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mean_ms = times.iter().sum::<f64>() / times.len() as f64;
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median_ms = if times.len() % 2 == 0 {
        (times[mid - 1] + times[mid]) / 2.0
    } else {
        times[mid]
    };
    Sample {
        median_ms,
        mean_ms,
        reps: times.len() as u32,
    }
}

fn cpu(args: &CpuArgs) -> CmdResult {
    let usage = |msg: String| Failure {
        code: 2,
        error: anyhow::anyhow!(msg),
    };
    if let Some(d) = args
        .dtypes
        .iter()
        .find(|d| !matches!(d, Dtype::Fp32 | Dtype::Fp16))
    {
        return Err(usage(format!(
            "dtype {d} cannot be measured on the CPU\n  hint: mlsim measure cpu measures fp32 and fp16 (the gemm crate); other dtypes have no well-kept Rust GEMM"
        )));
    }
    if let Some(&s) = args.sizes.iter().find(|&&s| s == 0 || s > 16384) {
        return Err(usage(format!(
            "size {s} is out of range\n  hint: sizes from 1 to 16384"
        )));
    }
    if !(args.max_seconds.is_finite() && args.max_seconds > 0.0) || args.reps == 0 {
        return Err(usage("--reps and --max-seconds must be positive".into()));
    }
    let (model, logical, flags) = host_description();
    let threads = args.threads.unwrap_or(logical).max(1);
    let native_fp16 = flags
        .iter()
        .any(|f| f == "avx512_fp16" || f == "asimdhp" || f == "fphp");
    // Each (size, dtype) once: a results file holds one row per point.
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let mut dtypes = args.dtypes.clone();
    dtypes.sort();
    dtypes.dedup();
    let points: Vec<(usize, Dtype)> = sizes
        .iter()
        .flat_map(|&n| dtypes.iter().map(move |&d| (n, d)))
        .collect();
    let bar = ProgressBar::new(points.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or(ProgressStyle::default_bar()),
    );
    let budget = Duration::from_secs_f64(args.max_seconds);
    let mut rows = Vec::new();
    for &(n, dtype) in &points {
        bar.set_message(format!("{n}x{n}x{n} {dtype}"));
        let a = values(n * n, 1);
        let b = values(n * n, 2);
        let sample = match dtype {
            Dtype::Fp16 => {
                let a: Vec<f16> = a.iter().map(|&x| f16::from_f32(x)).collect();
                let b: Vec<f16> = b.iter().map(|&x| f16::from_f32(x)).collect();
                let mut c = vec![f16::ZERO; n * n];
                time_point(
                    || gemm_call(n, &a, &b, &mut c, f16::ZERO, f16::ONE, threads),
                    args.warmup,
                    args.reps,
                    budget,
                )
            }
            _ => {
                let mut c = vec![0f32; n * n];
                time_point(
                    || gemm_call(n, &a, &b, &mut c, 0.0, 1.0, threads),
                    args.warmup,
                    args.reps,
                    budget,
                )
            }
        };
        rows.push((n, dtype, sample));
        bar.inc(1);
    }
    bar.finish_and_clear();

    let mut t = Table::new(["size", "dtype", "median ms", "mean ms", "GFLOP/s", "reps"]);
    for (n, d, s) in &rows {
        let gflops = 2.0 * (*n as f64).powi(3) / (s.median_ms * 1e-3) / 1e9;
        t.row([
            n.to_string(),
            d.to_string(),
            sig(s.median_ms, 4),
            sig(s.mean_ms, 4),
            sig(gflops, 4),
            s.reps.to_string(),
        ]);
    }
    out!("{}", t.render());

    if let Some(path) = &args.out {
        let mut text = String::new();
        text.push_str(
            "# mlsim measure cpu: square GEMMs on the host CPU with the gemm crate (Rust)\n",
        );
        text.push_str(&format!(
            "# cpu: {model}; {logical} logical CPUs; threads {threads}\n"
        ));
        text.push_str(&format!(
            "# flags: {}\n",
            if flags.is_empty() {
                "-".into()
            } else {
                flags.join(" ")
            }
        ));
        text.push_str(&format!(
            "# os: {} {}\n",
            std::env::consts::OS,
            std::env::consts::ARCH
        ));
        text.push_str(&format!(
            "# method: {} warm-up calls, then up to {} timed calls within {} s per point (std::time::Instant); runtime_ms is the median\n",
            args.warmup, args.reps, args.max_seconds
        ));
        text.push_str(&format!("# tool: mlsim {}\n", env!("CARGO_PKG_VERSION")));
        text.push_str(&format!("# date: {}\n", super::calibrate::today()));
        text.push_str("hardware,op,m,n,k,dtype,runtime_ms,tflops,timing,method,source,notes,median_ms,mean_ms,warmup,reps\n");
        for (n, d, s) in &rows {
            let tflops = 2.0 * (*n as f64).powi(3) / (s.median_ms * 1e-3) / 1e12;
            let notes = match d {
                Dtype::Fp16 if native_fp16 => "gemm crate f16 kernels (native fp16 arithmetic)",
                Dtype::Fp16 => {
                    "gemm crate f16 kernels (no native fp16 arithmetic: computed in f32)"
                }
                _ => "gemm crate f32 kernels (SIMD FMA)",
            };
            text.push_str(&format!(
                "{},gemm,{n},{n},{n},{d},{},{},per-call,wall-clock median of {} after {} warm-up,mlsim measure cpu,{notes},{},{},{},{}\n",
                model.replace(',', ";"),
                s.median_ms,
                tflops,
                s.reps,
                args.warmup,
                s.median_ms,
                s.mean_ms,
                args.warmup,
                s.reps
            ));
        }
        std::fs::write(path, text)
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("wrote {} ({} points)", path.display(), rows.len());
    }
    Ok(())
}
