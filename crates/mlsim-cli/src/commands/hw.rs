//! `mlsim hw detect`: describe the host CPU as a chip file.
//!
//! Linux (x86-64 and aarch64): model, cores, clock and ISA flags from
//! /proc/cpuinfo, caches from /sys/devices/system/cpu/cpu0/cache, memory
//! size from /proc/meminfo. What the operating system cannot tell
//! (bandwidths, latencies, FMA units per core, sustained clock) is filled
//! with a stated rule and marked `# guessed:` so the user knows what to
//! replace with datasheet values. Elsewhere every value is guessed, and the
//! command says so on stderr.

use clap::{Args, Subcommand};

use super::hw_memory::{MIB, Measured, as_written, measure_levels};
use crate::CmdResult;

#[derive(Debug, Subcommand)]
pub enum HwCommand {
    /// Print the host CPU as a chip file (TOML); guessed values are marked.
    #[command(
        after_help = "Examples:\n  mlsim hw detect > my-host.toml\n  mlsim hw detect --measure-memory --measure-clock > my-host.toml\n  mlsim presets check my-host.toml\n  mlsim sim matmul --hw my-host.toml --m 1024 --n 1024 --k 1024\n\nWith --measure-memory each level's bandwidth is measured, not guessed: STREAM's four kernels on all logical CPUs over arrays that fill half of that level (summed over the cores for a private level) and, for main memory, 8x the last cache (at most 1 GiB, a quarter of the memory); the median of the kernels' medians over 3 rounds, counting the bytes STREAM counts, per core for a private level, and never more than the level above's. A few seconds (4 s on a 2-core guest with a 32 MiB L3).\n\nWith --measure-clock the clock is measured, not read: a chain of dependent integer adds and xors (2 cycles an iteration) runs on every logical CPU at once, and the median of their fastest runs is frequency_ghz (the all-core integer clock, an upper bound for the FMAs: a core that runs wide vector work below it, for a licence level or a power limit, runs them slower). A virtual machine reports its time-stamp counter's rate as its clock; this reads the cores'. About 0.1 s."
    )]
    Detect(DetectArgs),
    /// Measure this machine's memory bandwidth level by level and print a
    /// chip file describing it with those values in place of its own.
    #[command(
        after_help = "Examples:\n  mlsim hw memory --hw dev-epyc-genoa-2vcpu --out my-host.toml\n  mlsim validate --hw my-host.toml --measurements my-host.csv\n\nThe chip file must describe this machine: its levels size the probe (half of each cache, summed over the cores for a private level; 8x the last cache for main memory). Each level's bandwidth_gb_s becomes the median over STREAM's four kernels, on every logical CPU, of their medians of 3 rounds, per core for a private level, never above the level above's; the file is renamed <name>-measured-memory and its sources say so. A table of the file's and the measured values goes to standard error."
    )]
    Memory(super::hw_memory::MemoryArgs),
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Measure each memory level's bandwidth with a STREAM probe instead of
    /// guessing it (takes seconds; run it on an otherwise idle machine)
    #[arg(long)]
    measure_memory: bool,

    /// The most the memory probe's three arrays may take together, MiB; a
    /// level whose probe would need more stays guessed
    #[arg(
        long,
        default_value_t = 1024.0,
        value_name = "MIB",
        requires = "measure_memory"
    )]
    memory_max_mib: f64,

    /// Measure the all-core clock with a chain of dependent integer
    /// operations instead of reading it (a virtual machine reports its
    /// time-stamp counter's rate, not its cores' clock; about 0.1 s)
    #[arg(long)]
    measure_clock: bool,
}

pub fn run(cmd: &HwCommand) -> CmdResult {
    match cmd {
        HwCommand::Detect(args) => {
            let measure = args.measure_memory.then_some(args.memory_max_mib * MIB);
            let (text, warnings) = detect(measure, args.measure_clock)?;
            for w in warnings {
                eprintln!("note: {w}");
            }
            out!("{text}");
            Ok(())
        }
        HwCommand::Memory(args) => super::hw_memory::run(args),
    }
}

/// Whether /proc/cpuinfo's flags say the OS runs under a hypervisor.
fn cpuinfo_flags_have_hypervisor(cpuinfo: &str) -> bool {
    super::measure::cpuinfo_field(cpuinfo, "flags")
        .is_some_and(|f| f.split_whitespace().any(|x| x == "hypervisor"))
}

/// One cache level as the OS reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cache {
    pub(crate) level: u32,
    pub(crate) size_kib: f64,
    ways: u32,
    line: u32,
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Data and unified caches of cpu0, by level.
pub(crate) fn caches() -> Vec<Cache> {
    let mut out = Vec::new();
    for i in 0..8 {
        let base = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
        let Some(kind) = read(&format!("{base}/type")) else {
            break;
        };
        if kind == "Instruction" {
            continue;
        }
        let size = read(&format!("{base}/size")).unwrap_or_default();
        let size_kib = if let Some(k) = size.strip_suffix('K') {
            k.parse().unwrap_or(0.0)
        } else if let Some(m) = size.strip_suffix('M') {
            m.parse::<f64>().unwrap_or(0.0) * 1024.0
        } else {
            size.parse::<f64>().unwrap_or(0.0) / 1024.0
        };
        let level = read(&format!("{base}/level"))
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let ways = read(&format!("{base}/ways_of_associativity"))
            .and_then(|l| l.parse().ok())
            .unwrap_or(8);
        let line = read(&format!("{base}/coherency_line_size"))
            .and_then(|l| l.parse().ok())
            .unwrap_or(64);
        if level > 0 && size_kib > 0.0 {
            out.push(Cache {
                level,
                size_kib,
                ways: ways.max(1),
                line: line.max(1),
            });
        }
    }
    out.sort_by_key(|c| c.level);
    out
}

fn slug(model: &str) -> String {
    let mut s: String = model
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "host".into()
    } else {
        format!("host-{s}")
    }
}

/// The chip file text and notes about what could not be detected; with
/// `measure_memory` (the probe's largest footprint, bytes), each level's
/// bandwidth measured by the STREAM probe.
/// With `measure_clock`, the clock measured by the dependent-operation
/// chain of `clock_probe.rs`.
fn detect(
    measure_memory: Option<f64>,
    measure_clock: bool,
) -> Result<(String, Vec<String>), crate::Failure> {
    let mut notes = Vec::new();
    let linux = cfg!(target_os = "linux");
    let arch = std::env::consts::ARCH;
    if !linux {
        notes.push(format!(
            "{} is not Linux: model, clock, ISA flags and caches cannot be read here; every value below is guessed",
            std::env::consts::OS
        ));
    }
    let (model, logical, flags) = super::measure::host_description();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mhz: Option<f64> = cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok());
    let max_khz: Option<f64> =
        read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").and_then(|v| v.parse().ok());
    let (ghz, ghz_note) = match (max_khz, mhz) {
        _ if measure_clock => {
            if cfg!(debug_assertions) {
                notes.push(
                    "this mlsim is a debug build: its clock probe runs unoptimised and reads a clock below the real one (build with --release)".into(),
                );
            }
            let clock = super::clock_probe::measure(logical).ok_or_else(|| crate::Failure {
                code: 1,
                error: anyhow::anyhow!(
                    "the clock probe gave no clock on any of {logical} threads\n  hint: run without --measure-clock and give frequency_ghz from the datasheet"
                ),
            })?;
            (clock.ghz, clock.how())
        }
        (Some(k), _) => (
            k / 1e6,
            "cpufreq cpuinfo_max_freq (maximum; the all-core clock under load is lower)"
                .to_string(),
        ),
        (None, Some(m)) => {
            if cpuinfo_flags_have_hypervisor(&cpuinfo) {
                notes.push(
                    "a virtual machine's cpu MHz is its time-stamp counter's rate, not its cores' clock: --measure-clock measures that".into(),
                );
            }
            (m / 1e3, "/proc/cpuinfo cpu MHz (current clock)".to_string())
        }
        (None, None) => {
            notes.push("no clock found: 2.5 GHz guessed".into());
            (2.5, "guessed: no clock reported".to_string())
        }
    };
    let has = |f: &str| flags.iter().any(|x| x == f);
    let cpu_field = |name: &str| super::measure::cpuinfo_field(&cpuinfo, name);
    let (arch_name, lanes, isa) = vector_unit(
        &flags,
        cpu_field("vendor_id").as_deref(),
        cpu_field("cpu family").as_deref(),
        arch,
    );
    // Physical cores: distinct (physical id, core id) pairs; SMT siblings
    // share one core's FMA units and caches.
    let mut core_ids: Vec<(String, String)> = Vec::new();
    let (mut phys, mut core) = (String::new(), String::new());
    for line in cpuinfo.lines() {
        if let Some((k, v)) = line.split_once(':') {
            match k.trim() {
                "physical id" => phys = v.trim().to_string(),
                "core id" => core = v.trim().to_string(),
                _ => {}
            }
        }
        if line.trim().is_empty() && !core.is_empty() {
            core_ids.push((std::mem::take(&mut phys), std::mem::take(&mut core)));
        }
    }
    if !core.is_empty() {
        core_ids.push((phys, core));
    }
    core_ids.sort();
    core_ids.dedup();
    let cores = if core_ids.is_empty() {
        logical.max(1)
    } else {
        core_ids.len()
    };
    if cores != logical {
        notes.push(format!(
            "{logical} logical CPUs on {cores} physical cores: the chip file counts cores"
        ));
    }
    let peak = cores as f64 * f64::from(lanes) * 2.0 * ghz / 1e3;
    // fp64 on the same FMA units, half the lanes a register holds (x86
    // AVX, AVX2 and AVX-512, Arm NEON and SVE alike).
    let mut speedups = vec!["fp64 = 0.5"];
    if has("avx512_fp16") || has("asimdhp") || has("fphp") {
        speedups.push("fp16 = 2.0");
    }
    if has("avx512_bf16") || has("bf16") {
        speedups.push("bf16 = 2.0");
    }
    if has("amx_int8") {
        speedups.push("int8 = 32.0");
    } else if has("avx512_vnni") || has("avx_vnni") || has("asimddp") || has("i8mm") {
        speedups.push("int8 = 4.0");
    }
    let mut caches = caches();
    if caches.is_empty() {
        notes.push(
            "no cache information in /sys: a 32 KiB L1 and a 1 MiB L2 per core are guessed".into(),
        );
        caches = vec![
            Cache {
                level: 1,
                size_kib: 32.0,
                ways: 8,
                line: 64,
            },
            Cache {
                level: 2,
                size_kib: 1024.0,
                ways: 8,
                line: 64,
            },
        ];
    }
    let mem_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or_else(|| {
            notes.push("no /proc/meminfo: 16 GiB of memory guessed".into());
            16.0 * 1024.0 * 1024.0
        });
    let measured = if let Some(max_bytes) = measure_memory {
        // Levels 1 and 2 are private to each core, the rest shared.
        let capacities: Vec<f64> = caches
            .iter()
            .map(|c| c.size_kib * 1024.0 * if c.level < 3 { cores as f64 } else { 1.0 })
            .collect();
        // A detected chip is on the CPU model, which reads whether a cache's
        // plain stores cost it a read.
        let out = measure_levels(&capacities, mem_kib * 1024.0, max_bytes, true)?;
        if out.iter().any(Option::is_none) {
            notes.push("a level too close in size to the one before it to be told apart, or whose probe would exceed --memory-max-mib, keeps a guessed bandwidth (marked)".into());
        }
        Some(out)
    } else {
        None
    };
    let bandwidths = bandwidth_lines(&caches, cores, ghz, measured.as_deref());
    notes.push(
        if measured.is_some() {
            "latencies, FMA units and efficiency are guessed (marked): replace them with datasheet values"
        } else {
            "bandwidths, latencies, FMA units and efficiency are guessed (marked): replace them with datasheet values"
        }
        .into(),
    );

    let name = slug(&model);
    let mut t = String::new();
    t.push_str(&format!(
        "# Host CPU as detected by `mlsim hw detect` on {} {arch}.\n",
        std::env::consts::OS
    ));
    t.push_str("# Values marked `guessed:` could not be read from the operating system;\n");
    t.push_str("# replace them with the processor's datasheet values and cite the source.\n\n");
    t.push_str(&format!("name = \"{name}\"\n"));
    t.push_str(&format!(
        "display_name = \"{} (detected)\"\n",
        model.replace('"', "'")
    ));
    t.push_str("kind = \"cpu\"\n");
    t.push_str(&format!(
        "frequency_ghz = {ghz:.4}                # {ghz_note}\n"
    ));
    t.push_str(&format!(
        "default_stack = \"{}\"   # the BLAS predictions assume (mlsim stacks list)\n",
        if isa.starts_with("AVX-512") {
            "gemm-rs-avx512"
        } else if arch_name == "simd" {
            "gemm-rs-avx2"
        } else {
            "cpu-blas"
        }
    ));
    t.push_str(&format!(
        "sources = [\"mlsim hw detect: /proc/cpuinfo, /sys/devices/system/cpu/cpu0/cache, /proc/meminfo ({} {arch})\"]\n\n",
        std::env::consts::OS
    ));
    t.push_str("[compute]\n");
    t.push_str(&format!("arch = \"{arch_name}\"\n"));
    t.push_str(&format!(
        "units = {cores}                            # physical cores the OS reports\n"
    ));
    t.push_str(&format!(
        "simd_width = {lanes}                      # {isa}\n"
    ));
    t.push_str(&format!(
        "peak_fp32_tflops = {peak:.6}          # units x simd_width x 2 (FMA) x frequency\n"
    ));
    t.push_str(
        "efficiency = 0.7                     # unused by the CPU model (the stack's share of peak applies)\n",
    );
    t.push_str("memory_overlap = 0.6                 # unused by the CPU model\n");
    t.push_str(&format!(
        "dtype_speedup = {{ {} }}   # from ISA flags: {}\n\n",
        speedups.join(", "),
        if flags.is_empty() {
            "none detected".to_string()
        } else {
            flags.join(" ")
        }
    ));
    for (i, c) in caches.iter().enumerate() {
        // Levels 1 and 2 are private to each core (one core's size and
        // bandwidth); the last-level cache is shared.
        let private = c.level < 3;
        let latency = match c.level {
            1 => 5,
            2 => 14,
            _ => 50,
        };
        t.push_str("[[memory]]\n");
        t.push_str(&format!("name = \"L{}\"\n", c.level));
        t.push_str(&format!(
            "size_kib = {}                # per {} (/sys)\n",
            c.size_kib,
            if private { "core" } else { "chip, shared" }
        ));
        t.push_str(&format!("line_bytes = {}\n", c.line));
        t.push_str(&format!("associativity = {}\n", c.ways));
        t.push_str(&format!(
            "latency_cycles = {latency}                   # guessed\n"
        ));
        t.push_str(&bandwidths[i]);
        if private {
            t.push_str("per_core = true\n");
        }
        t.push_str(&format!("miss_penalty_cycles = {}\n\n", latency * 3));
    }
    t.push_str("[[memory]]\n");
    t.push_str("name = \"DRAM\"\n");
    t.push_str(&format!(
        "size_kib = {mem_kib}                # /proc/meminfo MemTotal\n"
    ));
    t.push_str("line_bytes = 64\n");
    t.push_str("associativity = 1\n");
    t.push_str("latency_cycles = 300                 # guessed\n");
    t.push_str(&bandwidths[caches.len()]);
    t.push_str("miss_penalty_cycles = 0\n");
    Ok((t, notes))
}

/// The chip file's `arch`, fp32 lanes per core (`simd_width`) and a note
/// saying how they were read, from the ISA flags and, on AMD, the family:
/// family 25 (Zen 3 and 4; only Zen 4 has AVX-512) runs 512-bit
/// instructions on two 256-bit FMA pipes (numberworld.org's Zen 4/5
/// AVX-512 teardown, cited in presets/epyc-genoa.toml); Zen 5 (family 26)
/// and Intel's server cores have 512-bit ones.
fn vector_unit(
    flags: &[String],
    vendor: Option<&str>,
    family: Option<&str>,
    arch: &str,
) -> (&'static str, u32, &'static str) {
    let has = |f: &str| flags.iter().any(|x| x == f);
    let amd_family_25 = vendor == Some("AuthenticAMD") && family == Some("25");
    if has("avx512f") && amd_family_25 {
        (
            "simd",
            16,
            "AVX-512 on 256-bit pipes (AMD family 25, Zen 4; guessed: 2 FMA units x 8 fp32 lanes)",
        )
    } else if has("avx512f") {
        ("simd", 32, "AVX-512 (guessed: 2 FMA units x 16 fp32 lanes)")
    } else if has("avx2") || has("fma") {
        ("simd", 16, "AVX2/FMA (guessed: 2 FMA units x 8 fp32 lanes)")
    } else if arch == "aarch64" {
        ("neon", 8, "NEON (guessed: 2 FMA units x 4 fp32 lanes)")
    } else {
        ("simd", 4, "no vector FMA detected (guessed: 4 fp32 lanes)")
    }
}

/// The `bandwidth_gb_s` line of each level (the caches, then main memory):
/// measured where `measured` has it, else guessed by a stated rule; one
/// core's share for a private level (levels 1 and 2), the whole chip's
/// otherwise. No level is given more bandwidth than the one above it (the
/// chip file's rule, which a measurement's noise or a guess next to a
/// measurement could break): such a value is lowered to that level's and
/// says so.
fn bandwidth_lines(
    caches: &[Cache],
    cores: usize,
    ghz: f64,
    measured: Option<&[Option<Measured>]>,
) -> Vec<String> {
    let cores_f = cores.max(1) as f64;
    let mut above = f64::INFINITY; // the level above's, whole chip
    let mut out = Vec::new();
    for i in 0..=caches.len() {
        let private = caches.get(i).is_some_and(|c| c.level < 3);
        let per = if private { cores_f } else { 1.0 };
        let level = measured.and_then(|m| m[i]);
        let (whole, why) = match level {
            Some(m) => (m.gb_s, m.how("mlsim hw detect --measure-memory")),
            None => match caches.get(i) {
                Some(c) => {
                    let bytes_per_clk = match c.level {
                        1 => 64.0,
                        2 => 32.0,
                        _ => 16.0,
                    };
                    (
                        cores_f * bytes_per_clk * ghz,
                        format!(
                            "guessed: {} x {bytes_per_clk} B/clk x frequency",
                            if private { "one core" } else { "units" }
                        ),
                    )
                }
                None => (
                    (cores_f * 10.0).min(400.0),
                    "guessed: 10 GB/s per core; use channels x MT/s x 8 B from the datasheet"
                        .to_string(),
                ),
            },
        };
        let (value, lowered) = as_written(whole, per, &mut above);
        let lowered = if lowered {
            "; lowered to the level above's"
        } else {
            ""
        };
        let whose = if private { ", per core" } else { "" };
        let mut line = format!("bandwidth_gb_s = {value:.1}             # {why}{lowered}{whose}\n");
        // A cache after the first where scale, add and triad kept up with
        // copy: its plain stores cost it no read of their lines.
        if level.and_then(|m| m.plain_store_reads_line) == Some(false) {
            line.push_str("plain_store_reads_line = false      # measured: scale, add and triad ran as fast as copy here (mlsim hw detect --measure-memory)\n");
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detected_file_is_a_valid_chip() {
        let (text, _) = detect(None, false).unwrap_or_else(|f| panic!("{}", f.error));
        let chip =
            mlsim_hw::parse_chip(&text, "detected.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(chip.name.starts_with("host"));
        assert!(chip.compute.peak_fp32_flops > 0.0);
        assert!(text.contains("guessed"));
    }

    /// Zen 4 (AMD family 25) with AVX-512: 16 lanes; Zen 5 (26) and an
    /// Intel core with AVX-512: 32; AVX2 alone: 16.
    #[test]
    fn vector_lanes_follow_the_flags_and_amd_family() {
        let flags = |f: &str| f.split(' ').map(str::to_string).collect::<Vec<_>>();
        let avx512 = flags("fma avx2 avx512f");
        let lanes = |v, fam| vector_unit(&avx512, Some(v), Some(fam), "x86_64").1;
        assert_eq!(lanes("AuthenticAMD", "25"), 16);
        assert_eq!(lanes("AuthenticAMD", "26"), 32);
        assert_eq!(lanes("GenuineIntel", "6"), 32);
        assert_eq!(vector_unit(&flags("fma avx2"), None, None, "x86_64").1, 16);
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("AMD EPYC 7B13 64-Core Processor"),
            "host-amd-epyc-7b13-64-core-processor"
        );
        assert_eq!(slug("(c)"), "host-c");
        assert_eq!(slug(""), "host");
    }
}
