//! `mlsim measure cpu`: real GEMMs on the host CPU, written in the results
//! format (results/README.md) so `mlsim validate` can read them.
//!
//! fp32 and fp64 run through the `gemm` crate's f32 and f64 kernels
//! (native SIMD FMA; built with its `x86-v4` feature, so AVX-512 CPUs run
//! its AVX-512 kernels, as the `gemm-rs-avx512` stack says); fp16 through
//! its f16 kernels, which compute in f32 on CPUs without
//! native fp16 arithmetic (recorded in the `notes` column). Other dtypes
//! have no well-kept Rust GEMM and are refused with that reason.
#![allow(unsafe_code)] // the `gemm` crate's entry point takes raw pointers

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use half::f16;
use indicatif::{ProgressBar, ProgressStyle};
use mlsim_quant::Dtype;

use super::stream_probe::{self, StreamKind};
use crate::output::{Table, sig};
use crate::{CmdResult, Failure};

#[derive(Debug, Subcommand)]
pub enum MeasureCommand {
    /// GEMMs on the host CPU with the `gemm` crate.
    Cpu(CpuArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mlsim measure cpu --sizes 64,128,256 --out /tmp/h.csv\n  mlsim measure cpu --sizes 64,128,256,512,1024,2048 --dtypes fp32,fp16 --out results/host-mine.csv\n  mlsim measure cpu --sizes 256,1024 --stream --repeats 5 --out /tmp/h.csv\n  mlsim measure cpu --sizes 512 --shapes 1x4096x4096,16x4096x4096 --dtypes fp32,fp64 --out /tmp/h.csv\n\nfp32 and fp64 are measured natively (SIMD FMA); fp16 through the gemm crate's f16 kernels (native on CPUs with\nfp16 arithmetic, else converted to f32 inside the kernel: the notes column says which). Other dtypes\nare not available. Each point: warm-up calls, then timed calls until --reps or --max-seconds; the\nrounds (--repeats) go over every point in turn, so a drift of the machine shows as spread.\nruntime_ms is the median of the rounds' medians, spread_pct = 100 (max - min) / median of them.\nGEMMs are timed call by call (timing per-call); a probe call is short, so its timed samples are\nbatches of calls run back to back (timing back-to-back), each at least 1 ms long."
)]
pub struct CpuArgs {
    /// Square sizes (m = n = k).
    #[arg(long, value_delimiter = ',', default_values_t = [64, 128, 256, 512, 1024])]
    sizes: Vec<usize>,
    /// Further GEMM shapes MxNxK (GEMVs such as 1x4096x4096, skinny ones
    /// such as 16x4096x4096), measured after the square sizes.
    #[arg(long, value_delimiter = ',')]
    shapes: Vec<String>,
    /// Dtypes: fp32, fp64, fp16.
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
    /// Times each point is measured, in rounds over all points within this
    /// one process; runtime_ms is the median of the rounds' medians and
    /// spread_pct their (max - min) / median.
    #[arg(long, default_value_t = 3)]
    repeats: u32,
    /// Also run a STREAM-like memory probe (copy, scale, add and triad over
    /// f32 arrays from a quarter of L1 to 8x the last-level cache), written
    /// as rows with those ops and n elements per array.
    #[arg(long)]
    stream: bool,
    /// Largest array of the memory probe, MiB (three arrays are allocated).
    #[arg(long, default_value_t = 512.0)]
    stream_max_mib: f64,
    /// Write the CSV here (otherwise only the table is printed).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace --out when the file exists (otherwise earlier measurements
    /// are kept and the command fails before measuring, exit code 2).
    #[arg(long)]
    force: bool,
}

pub fn run(cmd: &MeasureCommand) -> CmdResult {
    match cmd {
        MeasureCommand::Cpu(args) => cpu(args),
    }
}

/// The first value of field `name` in /proc/cpuinfo's text.
pub(crate) fn cpuinfo_field(cpuinfo: &str, name: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// CPU model name, logical CPUs and the ISA flags that matter for GEMMs.
pub fn host_description() -> (String, usize, Vec<String>) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| cpuinfo_field(&cpuinfo, name);
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

/// One GEMM call C(m,n) = A(m,k) B(k,n) in `T`; `a`, `b`, `c` are
/// row-major buffers of m*k, k*n and m*n elements.
fn gemm_call<T: 'static + Copy>(
    (m, n, k): (usize, usize, usize),
    a: &[T],
    b: &[T],
    c: &mut [T],
    zero: T,
    one: T,
    threads: usize,
) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let (n_i, k_i) = (n as isize, k as isize);
    // SAFETY: the three buffers hold m*k, k*n and m*n elements (checked
    // above); row-major strides (column stride 1, row strides k, n and n)
    // keep every index inside them; `c` is borrowed mutably and does not
    // alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n_i,
            false,
            a.as_ptr(),
            1,
            k_i,
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

#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) median_ms: f64,
    mean_ms: f64,
    reps: u32,
}

/// The header's clock line: the all-core integer clock before and after
/// the points (`hw detect --measure-clock`'s probe on the measuring
/// threads).
fn clock_line(
    before: Option<&super::clock_probe::Clock>,
    after: Option<&super::clock_probe::Clock>,
    threads: usize,
) -> String {
    let ghz = |c: Option<&super::clock_probe::Clock>| {
        c.map_or("not measured".to_string(), |c| format!("{:.2} GHz", c.ghz))
    };
    let unoptimised = if cfg!(debug_assertions) {
        " (a debug build of mlsim: the probe reads far below the real clock)"
    } else {
        ""
    };
    format!(
        "{} before the points, {} after (all-core integer clock on {threads} threads: a chain of dependent adds and xors, as mlsim hw detect --measure-clock){unoptimised}",
        ghz(before),
        ghz(after)
    )
}

fn time_point(call: &mut dyn FnMut(), warmup: u32, reps: u32, budget: Duration) -> Sample {
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
    let median_ms = median_sorted(&times);
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
    // Refuse before measuring, not after.
    if let Some(path) = &args.out {
        crate::files::check_new(path, args.force, "measurement file")?;
    }
    if let Some(d) = args
        .dtypes
        .iter()
        .find(|d| !matches!(d, Dtype::Fp32 | Dtype::Fp64 | Dtype::Fp16))
    {
        return Err(usage(format!(
            "dtype {d} cannot be measured on the CPU\n  hint: mlsim measure cpu measures fp32, fp64 and fp16 (the gemm crate); other dtypes have no well-kept Rust GEMM"
        )));
    }
    if let Some(&s) = args.sizes.iter().find(|&&s| s == 0 || s > 16384) {
        return Err(usage(format!(
            "size {s} is out of range\n  hint: sizes from 1 to 16384"
        )));
    }
    let mut shapes: Vec<(usize, usize, usize)> = args.sizes.iter().map(|&s| (s, s, s)).collect();
    for text in &args.shapes {
        let (m, n, k) = super::sweep::parse_shape(text)?;
        let too_big = [m, n, k].iter().any(|&d| d == 0 || d > 65536)
            || m.saturating_mul(k)
                .max(k.saturating_mul(n))
                .max(m.saturating_mul(n))
                > 1 << 26;
        if too_big {
            return Err(usage(format!(
                "shape {text} is out of range\n  hint: dimensions from 1 to 65536, each matrix at most 2^26 elements"
            )));
        }
        shapes.push((m as usize, n as usize, k as usize));
    }
    if !(args.max_seconds.is_finite() && args.max_seconds > 0.0) || args.reps == 0 {
        return Err(usage("--reps and --max-seconds must be positive".into()));
    }
    if args.repeats == 0 || args.repeats > 1000 {
        return Err(usage(format!(
            "--repeats {} is out of range\n  hint: from 1 to 1000",
            args.repeats
        )));
    }
    if !(args.stream_max_mib.is_finite() && args.stream_max_mib >= 0.004) {
        return Err(usage(
            "--stream-max-mib must be a size in MiB of at least 0.004 (4 KiB)".into(),
        ));
    }
    let (model, logical, flags) = host_description();
    let threads = args.threads.unwrap_or(logical).max(1);
    if threads > 4 * logical.max(1) {
        return Err(usage(format!(
            "--threads {threads} is more than 4 threads per logical CPU ({logical} here)\n  hint: leave it out to use every logical CPU"
        )));
    }
    let native_fp16 = flags
        .iter()
        .any(|f| f == "avx512_fp16" || f == "asimdhp" || f == "fphp");
    // Each (shape, dtype) once: a results file holds one row per point.
    let mut seen = std::collections::BTreeSet::new();
    shapes.retain(|s| seen.insert(*s));
    let mut dtypes = args.dtypes.clone();
    dtypes.sort();
    dtypes.dedup();
    let mut points: Vec<Probe> = shapes
        .iter()
        .flat_map(|&shape| {
            dtypes
                .iter()
                .map(move |&dtype| Probe::Gemm { shape, dtype })
        })
        .collect();
    let caches = super::hw::caches();
    let (l1, llc) = (
        caches
            .first()
            .map_or(32.0 * 1024.0, |c| c.size_kib * 1024.0),
        caches
            .last()
            .map_or(32.0 * 1024.0 * 1024.0, |c| c.size_kib * 1024.0),
    );
    if args.stream {
        for kind in StreamKind::ALL {
            for n in stream_probe::sizes(l1, llc, args.stream_max_mib * 1024.0 * 1024.0) {
                points.push(Probe::Stream { kind, n });
            }
        }
    }
    let bar = ProgressBar::new(points.len() as u64 * u64::from(args.repeats));
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or(ProgressStyle::default_bar()),
    );
    let budget = Duration::from_secs_f64(args.max_seconds);
    // The probe's threads (GEMMs use the gemm crate's own).
    let pool = if args.stream {
        Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| usage(format!("cannot start {threads} threads: {e}")))?,
        )
    } else {
        None
    };
    // The all-core clock before and after the points (0.1 s each), for the
    // file's header: what a chip file's frequency_ghz should say.
    let clock_before = super::clock_probe::measure(threads);
    // Rounds over every point in turn: a drift of the machine between
    // rounds shows as spread instead of biasing one point.
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); points.len()];
    for round in 1..=args.repeats {
        for (i, probe) in points.iter().enumerate() {
            bar.set_message(format!("{} (round {round})", probe.label()));
            let sample = match *probe {
                Probe::Gemm { shape, dtype } => gemm_sample(shape, dtype, threads, args, budget),
                Probe::Stream { kind, n } => {
                    let mut arrays = stream_probe::Arrays::new(n);
                    let pool = pool.as_ref().expect("built for --stream");
                    let sample =
                        stream_sample(&mut arrays, kind, pool, args.warmup, args.reps, budget);
                    if !arrays.check(kind) {
                        return Err(Failure {
                            code: 1,
                            error: anyhow::anyhow!(
                                "the {} probe over {n} elements computed a wrong result",
                                kind.name()
                            ),
                        });
                    }
                    sample
                }
            };
            samples[i].push(sample);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let clock_after = super::clock_probe::measure(threads);
    let rows: Vec<(Probe, Summary)> = points
        .iter()
        .zip(&samples)
        .map(|(p, s)| (*p, Summary::of(s)))
        .collect();

    let mut t = Table::new([
        "point",
        "median ms",
        "spread %",
        "GFLOP/s",
        "GB/s",
        "reps",
        "repeats",
    ]);
    for (p, s) in &rows {
        t.row([
            p.label(),
            sig(s.median_ms, 4),
            s.spread_pct.map_or("-".into(), |x| format!("{x:.1}")),
            sig(p.flops() / (s.median_ms * 1e-3) / 1e9, 4),
            sig(p.bytes() / (s.median_ms * 1e-3) / 1e9, 4),
            s.reps.to_string(),
            args.repeats.to_string(),
        ]);
    }
    out!("{}", t.render());

    if let Some(path) = &args.out {
        let mut text = String::new();
        text.push_str(if args.stream {
            "# mlsim measure cpu: GEMMs on the host CPU with the gemm crate (Rust; its AVX-512 kernels where the CPU has them), and a STREAM-like memory probe (copy, scale, add, triad over n f32 elements per array, vectorised for the CPU's widest vectors)\n"
        } else {
            "# mlsim measure cpu: GEMMs on the host CPU with the gemm crate (Rust; its AVX-512 kernels where the CPU has them)\n"
        });
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
            "# caches: {}\n",
            if caches.is_empty() {
                "not reported by the OS (probe sizes from a guessed 32 KiB L1 and 32 MiB LLC)"
                    .into()
            } else {
                caches
                    .iter()
                    .map(|c| format!("L{} {} KiB", c.level, c.size_kib))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
        text.push_str(&format!(
            "# clock: {}\n",
            clock_line(clock_before.as_ref(), clock_after.as_ref(), threads)
        ));
        text.push_str(&format!(
            "# os: {} {}\n",
            std::env::consts::OS,
            std::env::consts::ARCH
        ));
        text.push_str(&format!(
            "# method: {} rounds over every point in one process; per point and round {} warm-up calls, then up to {} timed samples within {} s (std::time::Instant); a GEMM sample is one call, a probe sample a batch of calls of at least 1 ms on a thread pool, each thread repeating the kernel on its own slice of arrays that start on a 64-byte line; runtime_ms is the median of the rounds' medians, spread_pct = 100 (max - min) / median of them (a spread between rounds in one process, empty for one round)\n",
            args.repeats, args.warmup, args.reps, args.max_seconds
        ));
        text.push_str(&format!("# tool: mlsim {}\n", env!("CARGO_PKG_VERSION")));
        text.push_str(&format!("# date: {}\n", super::calibrate::today()));
        text.push_str("hardware,op,m,n,k,dtype,runtime_ms,tflops,spread_pct,repeats,threads,timing,method,source,notes,median_ms,mean_ms,warmup,reps\n");
        for (p, s) in &rows {
            let tflops = p.flops() / (s.median_ms * 1e-3) / 1e12;
            let (op, m, n, k, dtype, timing) = p.columns();
            let notes = match *p {
                Probe::Gemm {
                    dtype: Dtype::Fp16, ..
                } if native_fp16 => "gemm crate f16 kernels (native fp16 arithmetic)".into(),
                Probe::Gemm {
                    dtype: Dtype::Fp16, ..
                } => "gemm crate f16 kernels (no native fp16 arithmetic: computed in f32)".into(),
                Probe::Gemm {
                    dtype: Dtype::Fp64, ..
                } => "gemm crate f64 kernels (SIMD FMA)".into(),
                Probe::Gemm { .. } => "gemm crate f32 kernels (SIMD FMA)".into(),
                Probe::Stream { kind, n } => format!(
                    "STREAM {} over {} f32 arrays of {n} elements ({} bytes each); {} GB/s counting each array once",
                    kind.name(),
                    kind.arrays(),
                    4 * n,
                    sig(p.bytes() / (s.median_ms * 1e-3) / 1e9, 4)
                ),
            };
            text.push_str(&format!(
                "{},{op},{m},{n},{k},{dtype},{},{},{},{},{threads},{timing},median of {} rounds' medians ({} samples in all; {} warm-up calls per round),mlsim measure cpu,{notes},{},{},{},{}\n",
                model.replace(',', ";"),
                s.median_ms,
                tflops,
                s.spread_pct.map_or(String::new(), |x| x.to_string()),
                args.repeats,
                args.repeats,
                s.reps,
                args.warmup,
                s.median_ms,
                s.mean_ms,
                args.warmup,
                s.reps
            ));
        }
        crate::files::write_atomic(path, text.as_bytes(), args.force, "measurement file")?;
        eprintln!("wrote {} ({} points)", path.display(), rows.len());
    }
    Ok(())
}

/// One point of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Probe {
    /// A GEMM of shape (m, n, k).
    Gemm {
        shape: (usize, usize, usize),
        dtype: Dtype,
    },
    /// A STREAM kernel over arrays of `n` f32 elements.
    Stream { kind: StreamKind, n: usize },
}

impl Probe {
    fn label(&self) -> String {
        match *self {
            Self::Gemm {
                shape: (m, n, k),
                dtype,
            } => format!("{m}x{n}x{k} {dtype}"),
            Self::Stream { kind, n } => format!("{} {n} fp32", kind.name()),
        }
    }

    fn flops(&self) -> f64 {
        match *self {
            Self::Gemm {
                shape: (m, n, k), ..
            } => 2.0 * m as f64 * n as f64 * k as f64,
            Self::Stream { kind, n } => kind.flops_per_element() * n as f64,
        }
    }

    /// Bytes moved, each operand once (STREAM's convention).
    fn bytes(&self) -> f64 {
        match *self {
            Self::Gemm {
                shape: (m, n, k),
                dtype,
            } => (m * k + k * n + m * n) as f64 * dtype.bytes_per_element(),
            Self::Stream { kind, n } => kind.arrays() * 4.0 * n as f64,
        }
    }

    /// (op, m, n, k, dtype, timing) columns of the results format (a
    /// memory kernel: n elements per array, m and k empty).
    fn columns(&self) -> (&'static str, String, usize, String, Dtype, &'static str) {
        match *self {
            Self::Gemm {
                shape: (m, n, k),
                dtype,
            } => ("gemm", m.to_string(), n, k.to_string(), dtype, "per-call"),
            Self::Stream { kind, n } => (
                kind.name(),
                String::new(),
                n,
                String::new(),
                Dtype::Fp32,
                "back-to-back",
            ),
        }
    }
}

/// One round's measurement of a GEMM point.
fn gemm_sample(
    shape: (usize, usize, usize),
    dtype: Dtype,
    threads: usize,
    args: &CpuArgs,
    budget: Duration,
) -> Sample {
    let (m, n, k) = shape;
    let a = values(m * k, 1);
    let b = values(k * n, 2);
    let timed = |call: &mut dyn FnMut()| time_point(call, args.warmup, args.reps, budget);
    match dtype {
        Dtype::Fp16 => {
            let a: Vec<f16> = a.iter().map(|&x| f16::from_f32(x)).collect();
            let b: Vec<f16> = b.iter().map(|&x| f16::from_f32(x)).collect();
            let mut c = vec![f16::ZERO; m * n];
            timed(&mut || gemm_call(shape, &a, &b, &mut c, f16::ZERO, f16::ONE, threads))
        }
        Dtype::Fp64 => {
            let a: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
            let b: Vec<f64> = b.iter().map(|&x| f64::from(x)).collect();
            let mut c = vec![0f64; m * n];
            timed(&mut || gemm_call(shape, &a, &b, &mut c, 0.0, 1.0, threads))
        }
        _ => {
            let mut c = vec![0f32; m * n];
            timed(&mut || gemm_call(shape, &a, &b, &mut c, 0.0, 1.0, threads))
        }
    }
}

/// One round's measurement of a probe: each sample a batch of calls run
/// back to back, long enough (1 ms) for the clock and the thread pool.
pub(crate) fn stream_sample(
    arrays: &mut stream_probe::Arrays,
    kind: StreamKind,
    pool: &rayon::ThreadPool,
    warmup: u32,
    reps: u32,
    budget: Duration,
) -> Sample {
    // Batches long enough (1 ms) that the pool's start-up, a few
    // microseconds, is lost in them: doubled until one takes that long.
    arrays.run(kind, pool, 1);
    let mut batch = 1usize;
    while batch < 1 << 24 {
        let t = Instant::now();
        arrays.run(kind, pool, batch);
        if t.elapsed().as_secs_f64() >= 1e-3 {
            break;
        }
        batch *= 2;
    }
    let sample = time_point(&mut || arrays.run(kind, pool, batch), warmup, reps, budget);
    Sample {
        median_ms: sample.median_ms / batch as f64,
        mean_ms: sample.mean_ms / batch as f64,
        reps: sample.reps,
    }
}

/// A point over its rounds.
struct Summary {
    median_ms: f64,
    mean_ms: f64,
    /// Over the rounds; none for a single round.
    spread_pct: Option<f64>,
    reps: u32,
}

impl Summary {
    fn of(rounds: &[Sample]) -> Self {
        let mut medians: Vec<f64> = rounds.iter().map(|s| s.median_ms).collect();
        medians.sort_by(f64::total_cmp);
        let median_ms = median_sorted(&medians);
        let (lo, hi) = (medians[0], medians[medians.len() - 1]);
        Self {
            median_ms,
            mean_ms: rounds.iter().map(|s| s.mean_ms).sum::<f64>() / rounds.len() as f64,
            spread_pct: (rounds.len() > 1).then(|| 100.0 * (hi - lo) / median_ms),
            reps: rounds.iter().map(|s| s.reps).sum(),
        }
    }
}

/// The median of sorted, non-empty values.
fn median_sorted(v: &[f64]) -> f64 {
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}
