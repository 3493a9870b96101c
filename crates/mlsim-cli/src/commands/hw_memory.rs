//! Memory bandwidth measured on this machine, level by level, with the
//! STREAM probe of `stream_probe.rs`: for `mlsim hw detect
//! --measure-memory` (a detected chip file) and `mlsim hw memory` (an
//! existing chip file, its bandwidths replaced). No datasheet gives what a
//! machine's cores reach at each level (a cloud guest's share of a socket
//! least of all); the Zen 4 dev guest reached about half of what the
//! preset's rules gave (docs/model/cpu-blocked.md).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use toml_edit::DocumentMut;

use super::stream_probe::{Arrays, StreamKind};
use crate::{CmdResult, Failure};

pub(crate) const MIB: f64 = 1024.0 * 1024.0;

/// A level's bandwidth as the STREAM probe measured it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measured {
    /// GB/s of the bytes the CPU model says the level serves, every thread
    /// together: STREAM's counted bytes, and in a cache beyond the first
    /// whose plain stores cost a read (`plain_store_reads_line`) the lines
    /// they read before writing them ([`plain_store_reading`]).
    pub(crate) gb_s: f64,
    /// The three arrays' bytes together.
    pub(crate) bytes: f64,
    pub(crate) threads: usize,
    /// For a cache after the first, what the kernels said: whether plain
    /// stores cost it a read of their lines (`Some(true)`: the bandwidth
    /// counts those reads) or not; `None` for L1 and main memory, where
    /// the question does not arise.
    pub(crate) plain_store_reads_line: Option<bool>,
}

impl Measured {
    /// The comment saying how it was measured, naming `command`.
    pub(crate) fn how(&self, command: &str) -> String {
        let counted = match self.plain_store_reads_line {
            Some(true) => {
                ", the bytes STREAM counts and the lines scale, add and triad read before writing"
            }
            Some(false) => ", scale, add and triad as fast as copy: their stores cost no read here",
            None => "",
        };
        format!(
            "measured: STREAM copy, scale, add and triad on {} threads over 3 arrays of {:.0} KiB, the median of their medians of 3 rounds{counted} ({command})",
            self.threads,
            self.bytes / 3.0 / 1024.0
        )
    }
}

/// A level's bandwidth as a chip file writes it, from the whole chip's
/// `whole` GB/s: over `per` (the cores, for a private level), to 0.1 GB/s
/// rounded down, and never more than the level above's (`above`, the
/// whole chip's as written, updated here; the chip file's rule, which a
/// measurement's noise could break). Whether it was lowered to `above`.
pub(crate) fn as_written(whole: f64, per: f64, above: &mut f64) -> (f64, bool) {
    let lowered = whole > *above;
    let whole = whole.min(*above);
    let value = (whole / per * 10.0).floor() / 10.0;
    *above = value * per;
    (value, lowered)
}

/// The bytes the probe spreads over its three arrays to sit in each level,
/// from the levels' capacities (bytes, the whole chip's: a private level's
/// summed over the cores) and main memory's size: half of each cache, and
/// for main memory 8x the last cache (at least 64 MiB, at most 1 GiB and a
/// quarter of the memory). `None` for a cache less than 6x the size of the
/// one before it (half of it would not be clear of that one) and for main
/// memory under 3x the last cache.
pub(crate) fn probe_bytes(cache_capacities: &[f64], memory_bytes: f64) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    let mut below = 0.0;
    for &capacity in cache_capacities {
        out.push((capacity >= 6.0 * below).then_some(capacity / 2.0));
        below = capacity;
    }
    let dram = (8.0 * below)
        .clamp(64.0 * MIB, 1024.0 * MIB)
        .min(memory_bytes / 4.0);
    out.push((dram >= 3.0 * below).then_some(dram));
    out
}

/// Each level's bandwidth (caches, then main memory) on every logical CPU,
/// where its probe fits in `max_bytes` (else `None`). With `cpu_model` (the
/// chip is on `cpu-blocked`, which reads `plain_store_reads_line`), a
/// cache after the first is read both ways ([`plain_store_reading`]);
/// otherwise every level is the median of the kernels' counted rates.
pub(crate) fn measure_levels(
    cache_capacities: &[f64],
    memory_bytes: f64,
    max_bytes: f64,
    cpu_model: bool,
) -> Result<Vec<Option<Measured>>, Failure> {
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(logical)
        .build()?;
    let threads = pool.current_num_threads();
    let caches = cache_capacities.len();
    probe_bytes(cache_capacities, memory_bytes)
        .into_iter()
        .enumerate()
        .map(|(level, bytes)| match bytes.filter(|&b| b <= max_bytes) {
            Some(b) => {
                let counted = stream_rates(b, &pool).map_err(|error| Failure { code: 1, error })?;
                let (gb_s, plain_store_reads_line) = if cpu_model && level > 0 && level < caches {
                    let (reads, gb_s) = plain_store_reading(&counted);
                    (gb_s, Some(reads))
                } else {
                    (median(counted.iter().map(|&(_, r)| r)), None)
                };
                Ok(Some(Measured {
                    gb_s,
                    bytes: b,
                    threads,
                    plain_store_reads_line,
                }))
            }
            None => Ok(None),
        })
        .collect()
}

/// The median of the kernels' rates (the mean of the middle two of four).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    mlsim_calibrate::metrics::median(&v).expect("four finite rates")
}

/// What STREAM's four kernels' counted rates (GB/s) say about a cache
/// after the first: whether plain stores cost it a read of their lines,
/// and its bandwidth as the CPU model then counts it. With the read, the
/// level serves a kernel's counted bytes and its written array once more
/// (scale x1.5, add and triad x4/3, copy's `memcpy` x1), so scale, add and
/// triad run at 2/3 or 3/4 of copy's counted rate; without it, all at one
/// rate. Each reading takes the median over the kernels of the bytes it
/// says the level serves per second as the bandwidth and predicts each
/// kernel's counted rate from it; the reading whose predictions are nearer
/// (sum of |ln(predicted / measured)|) wins, a tie going to the read (the
/// chip file's default). Returns (reads, bandwidth GB/s).
pub(crate) fn plain_store_reading(counted: &[(StreamKind, f64)]) -> (bool, f64) {
    let miss = |reads: bool| {
        let factor = |kind: StreamKind| {
            if reads {
                1.0 + kind.allocating_store_share()
            } else {
                1.0
            }
        };
        let bandwidth = median(counted.iter().map(|&(k, r)| r * factor(k)));
        let error = counted
            .iter()
            .map(|&(k, r)| (bandwidth / factor(k) / r).ln().abs())
            .sum::<f64>();
        (error, bandwidth)
    };
    let (with_read, without_read) = (miss(true), miss(false));
    if with_read.0 <= without_read.0 {
        (true, with_read.1)
    } else {
        (false, without_read.1)
    }
}

/// Each STREAM kernel's rate over three arrays of `bytes` in all, GB/s of
/// the bytes STREAM counts, every thread together: each kernel's median of
/// 3 rounds.
fn stream_rates(bytes: f64, pool: &rayon::ThreadPool) -> anyhow::Result<Vec<(StreamKind, f64)>> {
    let threads = pool.current_num_threads().max(1);
    // Whole cache lines (16 f32) per thread.
    let n = ((bytes / 12.0) as usize / (16 * threads)).max(1) * 16 * threads;
    let mut arrays = Arrays::new(n);
    let mut per_kernel = Vec::new();
    for kind in StreamKind::ALL {
        let mut rounds: Vec<f64> = (0..3)
            .map(|_| {
                super::measure::stream_sample(
                    &mut arrays,
                    kind,
                    pool,
                    3,
                    20,
                    Duration::from_secs(1),
                )
                .median_ms
            })
            .collect();
        anyhow::ensure!(
            arrays.check(kind),
            "the {} probe over {n} elements computed a wrong result",
            kind.name()
        );
        rounds.sort_by(f64::total_cmp);
        let counted = kind.arrays() * 4.0 * n as f64;
        per_kernel.push((kind, counted / (rounds[1] * 1e-3) / 1e9));
    }
    Ok(per_kernel)
}

#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// A chip file (preset name or TOML file) that describes this machine:
    /// its levels size the probe
    #[arg(long, value_name = "NAME|FILE")]
    hw: String,

    /// Write the chip file here (whole or not at all) instead of standard
    /// output
    #[arg(long)]
    out: Option<PathBuf>,

    /// Replace --out when the file exists
    #[arg(long)]
    force: bool,

    /// The most the probe's three arrays may take together, MiB; a level
    /// whose probe would need more keeps the file's bandwidth
    #[arg(long, default_value_t = 1024.0, value_name = "MIB")]
    memory_max_mib: f64,
}

/// `mlsim hw memory`: the chip file with each level's bandwidth measured
/// here, named `<name>-measured-memory`, with a table of the file's and the
/// measured values on standard error.
pub fn run(args: &MemoryArgs) -> CmdResult {
    let chip = crate::load_chip(&args.hw)?;
    let text = mlsim_hw::chip_text(&args.hw)?;
    if let Some(out) = &args.out {
        crate::files::check_new(out, args.force, "chip file")?;
    }
    let units = f64::from(chip.compute.units.max(1));
    let (caches, main) = chip.memory.split_at(chip.memory.len() - 1);
    let capacities: Vec<f64> = caches
        .iter()
        .map(|l| l.size_bytes * if l.per_core { units } else { 1.0 })
        .collect();
    let measured = measure_levels(
        &capacities,
        main[0].size_bytes,
        args.memory_max_mib * MIB,
        chip.model == mlsim_hw::ChipModel::CpuBlocked,
    )?;
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    if logical as f64 != units {
        eprintln!(
            "note: {} has {} cores and this machine {logical} logical CPUs: a private level's bandwidth is the whole machine's over the file's cores",
            chip.name, chip.compute.units
        );
    }

    let mut doc: DocumentMut = text.parse()?;
    let name = format!("{}-measured-memory", chip.name);
    doc["name"] = toml_edit::value(name.as_str());
    doc["display_name"] = toml_edit::value(format!("{} (memory measured)", chip.display_name));
    let mut table = crate::output::Table::new(["level", "file GB/s", "measured GB/s", "note"]);
    let mut above = f64::INFINITY;
    let levels = doc["memory"]
        .as_array_of_tables_mut()
        .ok_or_else(|| anyhow::anyhow!("{}: no [[memory]] tables", args.hw))?;
    for (i, (level, table_toml)) in chip.memory.iter().zip(levels.iter_mut()).enumerate() {
        let per = if level.per_core { units } else { 1.0 };
        let file_whole = level.bandwidth_bytes_per_s / 1e9 * per;
        let (whole, how) = match measured[i] {
            Some(m) => (m.gb_s, m.how("mlsim hw memory")),
            None => (file_whole, "the file's: not measured (too close in size to the level above, or past --memory-max-mib)".to_string()),
        };
        let (value, lowered) = as_written(whole, per, &mut above);
        let mut note = match (measured[i].is_some(), lowered) {
            (_, true) => "lowered to the level above's",
            (true, false) => "measured",
            (false, false) => "kept",
        }
        .to_string();
        // What the kernels said about plain stores at a cache after the
        // first, written where the chip's model reads it (the default,
        // true, as no key).
        match measured[i].and_then(|m| m.plain_store_reads_line) {
            Some(true) => {
                table_toml.remove("plain_store_reads_line");
            }
            Some(false) => {
                note.push_str("; stores cost no read");
                let mut v = toml_edit::Value::from(false);
                v.decor_mut().set_suffix(
                    "  # measured: scale, add and triad ran as fast as copy here (mlsim hw memory)",
                );
                table_toml["plain_store_reads_line"] = toml_edit::Item::Value(v);
            }
            None => {}
        }
        table.row([
            level.name.clone(),
            format!("{:.1}", level.bandwidth_bytes_per_s / 1e9),
            if measured[i].is_some() {
                format!("{value:.1}")
            } else {
                "-".into()
            },
            note,
        ]);
        let whose = if level.per_core { ", per core" } else { "" };
        let lowered = if lowered {
            "; lowered to the level above's"
        } else {
            ""
        };
        let mut v = toml_edit::Value::from(value);
        v.decor_mut()
            .set_suffix(format!("  # {how}{lowered}{whose}"));
        table_toml["bandwidth_gb_s"] = toml_edit::Item::Value(v);
    }
    if let Some(sources) = doc["sources"].as_array_mut() {
        let mut source = toml_edit::Value::from(format!(
            "mlsim hw memory on {} ({}): every [[memory]] bandwidth_gb_s",
            super::measure::host_description().0,
            super::calibrate::today()
        ));
        source.decor_mut().set_prefix("\n    ");
        sources.push_formatted(source);
    }
    let out_text = doc.to_string();
    // The file must load as a chip, as any file mlsim writes.
    let measured_chip = mlsim_hw::parse_chip(&out_text, &format!("{name}.toml"))?;
    eprint!("{}", table.render());
    // What was measured is written even where the model's laws then break
    // (a GEMV on one core slower than m = 2 on all of them, at very low
    // bandwidths): said, so the user knows before predicting with it.
    let setup = mlsim_hw::Setup::with_chip(measured_chip, &mlsim_hw::SetupSpec::default())?;
    for v in mlsim_engine::conformance::check(&setup.target()).violations {
        eprintln!(
            "warning: with these bandwidths the model breaks its law `{}`: {} (was the machine busy?)",
            v.law, v.detail
        );
    }
    match &args.out {
        Some(path) => {
            crate::files::write_atomic(path, out_text.as_bytes(), args.force, "chip file")?
        }
        None => out!("{out_text}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 32 KiB L1 and 1 MiB L2 per core on two cores (64 KiB and 2 MiB in
    /// all), a shared 32 MiB L3, 24 GiB: half of each cache, and 8 x 32
    /// MiB for main memory. An L2 of 192 KiB in all (3x L1) is too close to
    /// L1; a 256 MiB L3 puts main memory at the 1 GiB cap (4x it), a 512
    /// MiB one leaves the capped probe too close to it (under 3x); 1 GiB of
    /// memory allows a quarter of it, 256 MiB, and 256 MiB of memory only
    /// 64 MiB, under 3x the 32 MiB L3.
    #[test]
    fn probe_bytes_sit_in_each_level() {
        let gib = 1024.0 * MIB;
        let mib = |x: f64| Some(x * MIB);
        let caches = [64.0 * 1024.0, 2.0 * MIB, 32.0 * MIB];
        assert_eq!(
            probe_bytes(&caches, 24.0 * gib),
            vec![mib(1.0 / 32.0), mib(1.0), mib(16.0), mib(256.0)]
        );
        assert_eq!(
            probe_bytes(&[64.0 * 1024.0, 192.0 * 1024.0], 24.0 * gib)[1],
            None
        );
        let l3 = |m: f64| [64.0 * 1024.0, 2.0 * MIB, m * MIB];
        assert_eq!(probe_bytes(&l3(256.0), 1e12)[3], mib(1024.0));
        assert_eq!(probe_bytes(&l3(512.0), 1e12)[3], None);
        assert_eq!(probe_bytes(&caches, gib)[3], mib(256.0));
        assert_eq!(probe_bytes(&caches, 256.0 * MIB)[3], None);
    }

    fn rates(copy: f64, scale: f64, add: f64, triad: f64) -> Vec<(StreamKind, f64)> {
        vec![
            (StreamKind::Copy, copy),
            (StreamKind::Scale, scale),
            (StreamKind::Add, add),
            (StreamKind::Triad, triad),
        ]
    }

    /// The Zen 5 guest's L2 (results/host-amd-epyc-zen5-2vcpu.csv, 65,536
    /// elements): copy 504, scale 373, add 419, triad 426 GB/s. Served
    /// with the read: 504, 559.5, 558.667, 568 (x1, x1.5, x4/3, x4/3),
    /// median (558.667 + 559.5) / 2 = 559.083, which predicts 559.1,
    /// 372.7, 419.3, 419.3: |ln| errors summing to 0.121. Without it the
    /// median 422.5 misses copy by 16% and scale by 13% (sum 0.317). So
    /// the read, at 559.083 GB/s.
    #[test]
    fn scale_add_and_triad_slower_than_copy_say_the_stores_read_their_lines() {
        let (reads, gb_s) = plain_store_reading(&rates(504.0, 373.0, 419.0, 426.0));
        assert!(reads);
        assert!((gb_s - 559.083).abs() < 1e-3, "{gb_s}");
    }

    /// The Zen 4 guest's L2 (store_kinds bench, 2026-12-04): copy 229,
    /// scale 229, add 213, triad 221. Without the read the median is 225
    /// and misses each by under 6% (|ln| sum 0.108); with it the served
    /// rates are 229, 343.5, 284, 294.7, median 289.3, which misses copy by
    /// 26% and scale by 16% (sum 0.443). So no read, at 225.
    #[test]
    fn kernels_at_one_rate_say_the_stores_cost_no_read() {
        let (reads, gb_s) = plain_store_reading(&rates(229.0, 229.0, 213.0, 221.0));
        assert!(!reads);
        assert!((gb_s - 225.0).abs() < 1e-9, "{gb_s}");
    }

    /// Per core over two cores, rounded down to 0.1; a level above its
    /// upper neighbour comes down to it.
    #[test]
    fn written_values_never_exceed_the_level_above() {
        let mut above = f64::INFINITY;
        assert_eq!(as_written(200.0, 2.0, &mut above), (100.0, false));
        assert_eq!(above, 200.0);
        assert_eq!(as_written(187.95, 2.0, &mut above), (93.9, false));
        assert_eq!(above, 187.8);
        assert_eq!(as_written(190.0, 1.0, &mut above), (187.8, true));
        assert_eq!(as_written(28.0, 1.0, &mut above), (28.0, false));
    }
}
