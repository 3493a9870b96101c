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
    /// the lines plain stores read before writing them
    /// ([`served_bytes`]).
    pub(crate) gb_s: f64,
    /// The three arrays' bytes together.
    pub(crate) bytes: f64,
    pub(crate) threads: usize,
    /// Whether the level is a cache beyond the first, where the probe's
    /// plain stores read their lines first.
    pub(crate) reads_for_ownership: bool,
}

impl Measured {
    /// The comment saying how it was measured, naming `command`.
    pub(crate) fn how(&self, command: &str) -> String {
        let counted = if self.reads_for_ownership {
            ", the bytes STREAM counts and the lines scale, add and triad read before writing"
        } else {
            ""
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
/// where its probe fits in `max_bytes` (else `None`).
pub(crate) fn measure_levels(
    cache_capacities: &[f64],
    memory_bytes: f64,
    max_bytes: f64,
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
                let reads_for_ownership = level > 0 && level < caches;
                Ok(Some(Measured {
                    gb_s: stream_gb_s(b, &pool, reads_for_ownership)
                        .map_err(|error| Failure { code: 1, error })?,
                    bytes: b,
                    threads,
                    reads_for_ownership,
                }))
            }
            None => Ok(None),
        })
        .collect()
}

/// The bytes a level serves for one call of `kind` over `n` f32 elements
/// per array, as the CPU model counts them: STREAM's arrays, and where
/// `reads_for_ownership` (a cache beyond the first) the written array once
/// more for kernels with plain stores (scale, add, triad; copy is a
/// `memcpy` writing whole lines). So a bandwidth measured here and written
/// into a chip file predicts the same kernels back (docs/model/cpu-blocked.md).
pub(crate) fn served_bytes(kind: StreamKind, n: usize, reads_for_ownership: bool) -> f64 {
    let counted = kind.arrays() * 4.0 * n as f64;
    if reads_for_ownership {
        counted * (1.0 + kind.allocating_store_share())
    } else {
        counted
    }
}

/// Bandwidth over three arrays of `bytes` in all, GB/s of the
/// [`served_bytes`], every thread together: the median over the four
/// kernels of each kernel's median of 3 rounds.
fn stream_gb_s(
    bytes: f64,
    pool: &rayon::ThreadPool,
    reads_for_ownership: bool,
) -> anyhow::Result<f64> {
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
        let served = served_bytes(kind, n, reads_for_ownership);
        per_kernel.push(served / (rounds[1] * 1e-3) / 1e9);
    }
    per_kernel.sort_by(f64::total_cmp);
    Ok((per_kernel[1] + per_kernel[2]) / 2.0)
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
    let measured = measure_levels(&capacities, main[0].size_bytes, args.memory_max_mib * MIB)?;
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
        let note = match (measured[i].is_some(), lowered) {
            (_, true) => "lowered to the level above's",
            (true, false) => "measured",
            (false, false) => "kept",
        };
        table.row([
            level.name.clone(),
            format!("{:.1}", level.bandwidth_bytes_per_s / 1e9),
            if measured[i].is_some() {
                format!("{value:.1}")
            } else {
                "-".into()
            },
            note.to_string(),
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

    /// 1,000 elements per array: copy moves 2 x 4,000 B and scale the same
    /// as STREAM counts them; in a cache beyond L1 scale's plain stores read
    /// the written array (4,000 B) too, add's and triad's likewise (3 x
    /// 4,000 + 4,000), and copy's whole-line stores do not.
    #[test]
    fn a_cache_beyond_l1_serves_the_lines_plain_stores_read() {
        assert_eq!(served_bytes(StreamKind::Copy, 1000, false), 8000.0);
        assert_eq!(served_bytes(StreamKind::Scale, 1000, false), 8000.0);
        assert_eq!(served_bytes(StreamKind::Copy, 1000, true), 8000.0);
        assert_eq!(served_bytes(StreamKind::Scale, 1000, true), 12000.0);
        assert_eq!(served_bytes(StreamKind::Add, 1000, true), 16000.0);
        assert_eq!(served_bytes(StreamKind::Triad, 1000, true), 16000.0);
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
