//! Collectives between chips (all-reduce, all-gather, reduce-scatter,
//! all-to-all) with the alpha-beta cost: every step of an algorithm pays a
//! start-up time (alpha, the link's latency) and every byte a rank sends
//! pays its link's bandwidth in one direction (beta).
//!
//! ```text
//! time = steps x alpha + bytes sent per rank / bandwidth
//! ring all-reduce        steps 2 (n - 1)      bytes 2 (n - 1) / n x S
//! tree all-reduce        steps 2 ceil(log2 n) bytes 2 S              (up and down a binary tree)
//! ring all-gather        steps n - 1          bytes (n - 1) / n x S  (S: the gathered output)
//! ring reduce-scatter    steps n - 1          bytes (n - 1) / n x S  (S: each rank's input)
//! pairwise all-to-all    steps n - 1          bytes (n - 1) / n x S  (S: what each rank holds)
//! algbw = S / time;  busbw = algbw x (2 (n - 1) / n for all-reduce, (n - 1) / n otherwise)
//! ```
//!
//! The algorithm is the fastest that applies (NCCL picks tree for small
//! all-reduces and ring for large ones). Ranks within one node use the
//! scale-up link; across nodes, the slower of it and the chip's share of
//! the network, with the network's latency. Decision note:
//! `docs/model/collectives.md`.

use mlsim_hw::System;

/// A collective operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Collective {
    /// Every rank ends with the sum of every rank's buffer.
    AllReduce,
    /// Every rank ends with every rank's piece.
    AllGather,
    /// Every rank ends with its piece of the sum.
    ReduceScatter,
    /// Every rank sends a distinct piece to every other.
    AllToAll,
}

impl Collective {
    /// Every collective, in a fixed order.
    pub const ALL: [Collective; 4] = [
        Self::AllReduce,
        Self::AllGather,
        Self::ReduceScatter,
        Self::AllToAll,
    ];

    /// The name used on the command line and in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllReduce => "all-reduce",
            Self::AllGather => "all-gather",
            Self::ReduceScatter => "reduce-scatter",
            Self::AllToAll => "all-to-all",
        }
    }

    /// nccl-tests' bus-bandwidth factor: busbw = algbw x this.
    pub fn bus_factor(self, ranks: u32) -> f64 {
        let n = f64::from(ranks);
        match self {
            Self::AllReduce => 2.0 * (n - 1.0) / n,
            Self::AllGather | Self::ReduceScatter | Self::AllToAll => (n - 1.0) / n,
        }
    }
}

impl std::str::FromStr for Collective {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s.to_ascii_lowercase().replace('_', "-"))
            .ok_or_else(|| {
                format!(
                    "unknown collective `{s}`, expected one of all-reduce, all-gather, reduce-scatter, all-to-all"
                )
            })
    }
}

/// How the ranks exchange data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// Around a ring of the ranks.
    Ring,
    /// Up and down a binary tree (all-reduce).
    Tree,
    /// Every rank to every other, one peer a step (all-to-all).
    Pairwise,
    /// One rank: nothing to exchange.
    Local,
}

/// The links a collective over some ranks runs on.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Fabric {
    /// Bytes per second a rank sends in one direction.
    pub bandwidth_bytes_per_s: f64,
    /// Start-up time of one step, seconds.
    pub latency_s: f64,
}

impl Fabric {
    /// The fabric of `ranks` chips of `system`, filled node by node: the
    /// scale-up link within a node; across nodes, the slower of it and
    /// the chip's share of the network, at the network's latency. `None`
    /// when the ranks span nodes of a system without a network.
    pub fn of(system: &System, ranks: u32) -> Option<Fabric> {
        let link = &system.scale_up;
        if ranks <= system.chips_per_node {
            return Some(Fabric {
                bandwidth_bytes_per_s: link.bandwidth_bytes_per_s,
                latency_s: link.latency_s,
            });
        }
        let network = system.network.as_ref()?;
        let per_chip = system.network_bandwidth_per_chip()?;
        Some(Fabric {
            bandwidth_bytes_per_s: link.bandwidth_bytes_per_s.min(per_chip),
            latency_s: link.latency_s.max(network.latency_s),
        })
    }
}

/// What a collective costs, with its terms.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CollectiveCost {
    /// The operation.
    pub collective: Collective,
    /// The algorithm timed.
    pub algorithm: Algorithm,
    /// Ranks taking part.
    pub ranks: u32,
    /// The message size S, bytes (see the module's table).
    pub bytes: f64,
    /// Steps, each paying the start-up time.
    pub steps: u32,
    /// Bytes each rank sends.
    pub bytes_sent_per_rank: f64,
    /// steps x latency, seconds.
    pub latency_s: f64,
    /// bytes sent per rank / bandwidth, seconds.
    pub transfer_s: f64,
    /// latency + transfer, seconds.
    pub time_s: f64,
    /// S / time, bytes per second (nccl-tests' algbw).
    pub algbw_bytes_per_s: f64,
    /// algbw x the bus factor (nccl-tests' busbw).
    pub busbw_bytes_per_s: f64,
}

/// The algorithms that can run `collective`.
pub fn algorithms(collective: Collective) -> &'static [Algorithm] {
    match collective {
        Collective::AllReduce => &[Algorithm::Ring, Algorithm::Tree],
        Collective::AllGather | Collective::ReduceScatter => &[Algorithm::Ring],
        Collective::AllToAll => &[Algorithm::Pairwise],
    }
}

/// `collective` of `bytes` over `ranks` with `algorithm` on `fabric`.
/// `None` when the algorithm does not run that collective.
pub fn cost_with(
    collective: Collective,
    algorithm: Algorithm,
    bytes: f64,
    ranks: u32,
    fabric: Fabric,
) -> Option<CollectiveCost> {
    if ranks <= 1 {
        return Some(finish(
            collective,
            Algorithm::Local,
            bytes,
            1,
            0,
            0.0,
            fabric,
        ));
    }
    if !algorithms(collective).contains(&algorithm) {
        return None;
    }
    let n = f64::from(ranks);
    let (steps, sent) = match (collective, algorithm) {
        (Collective::AllReduce, Algorithm::Ring) => (2 * (ranks - 1), 2.0 * (n - 1.0) / n * bytes),
        (Collective::AllReduce, Algorithm::Tree) => {
            (2 * ranks.next_power_of_two().ilog2(), 2.0 * bytes)
        }
        _ => (ranks - 1, (n - 1.0) / n * bytes),
    };
    Some(finish(
        collective, algorithm, bytes, ranks, steps, sent, fabric,
    ))
}

fn finish(
    collective: Collective,
    algorithm: Algorithm,
    bytes: f64,
    ranks: u32,
    steps: u32,
    sent: f64,
    fabric: Fabric,
) -> CollectiveCost {
    let latency_s = f64::from(steps) * fabric.latency_s;
    let transfer_s = sent / fabric.bandwidth_bytes_per_s;
    let time_s = latency_s + transfer_s;
    let algbw = if time_s > 0.0 { bytes / time_s } else { 0.0 };
    CollectiveCost {
        collective,
        algorithm,
        ranks,
        bytes,
        steps,
        bytes_sent_per_rank: sent,
        latency_s,
        transfer_s,
        time_s,
        algbw_bytes_per_s: algbw,
        busbw_bytes_per_s: if ranks > 1 {
            algbw * collective.bus_factor(ranks)
        } else {
            0.0
        },
    }
}

/// `collective` of `bytes` over `ranks` on `fabric`, by the fastest
/// algorithm that runs it (ties go to the first listed: ring).
pub fn cost(collective: Collective, bytes: f64, ranks: u32, fabric: Fabric) -> CollectiveCost {
    algorithms(collective)
        .iter()
        .filter_map(|&a| cost_with(collective, a, bytes, ranks, fabric))
        .reduce(|best, c| if c.time_s < best.time_s { c } else { best })
        .expect("every collective has an algorithm")
}

/// A message size as users write it: bytes, or with a suffix (KB, MB, GB
/// in powers of 1000; KiB, MiB, GiB in powers of 1024; any case).
pub fn parse_bytes(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let scale = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size suffix `{other}` in `{s}`, expected KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    let v: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a byte count (e.g. 1048576, 1MiB, 1e9)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!(
            "`{s}`: a byte count is a finite number of at least 0"
        ));
    }
    Ok(v * scale)
}
