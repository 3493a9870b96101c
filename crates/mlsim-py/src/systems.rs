//! Systems, collectives and serving in plain Rust (no pyo3): what
//! `mlsim systems list`, `mlsim collective` and `mlsim serve` print with
//! `--format json`, built from the same engine calls and serialised
//! structs. The CLI is a binary crate, so its small glue (the `systems
//! list` entry, the byte-count parser, the serve defaults and checks) is
//! copied here; the pytest suite compares every piece with the binary.

use mlsim_engine::collectives::{Collective, Fabric, cost};
use mlsim_engine::serving::Limits;
use mlsim_hw::System;
use mlsim_workload::transformer::{ModelConfig, Scheme};

use crate::core::{Error, SetupOptions, chain};

/// Load a system by embedded name or path; a bad file (or the chip it
/// names) is [`Error::SystemFile`], worded as the CLI words it.
pub fn load_system(name_or_path: &str) -> Result<System, Error> {
    mlsim_hw::load_system(name_or_path).map_err(|e| Error::SystemFile(chain(&e)))
}

/// `x` to `digits` significant digits, as the CLI's tables print numbers
/// (a copy of `mlsim-cli`'s `output::sig`, used for the network in words).
fn sig(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-4..7).contains(&mag) {
        return format!("{:.*e}", digits.saturating_sub(1), x);
    }
    let decimals = (digits as i32 - 1 - mag).max(0) as usize;
    format!("{x:.decimals$}")
}

/// A system as `mlsim systems list --format json` describes it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SystemEntry {
    /// Name (`hgx-h100-8`).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// The chip's name.
    pub chip: String,
    /// Chips in one node.
    pub chips_per_node: u32,
    /// Nodes.
    pub nodes: u32,
    /// The scale-up link's name.
    pub scale_up: String,
    /// Its bandwidth in one direction, GB/s.
    pub scale_up_gb_s: f64,
    /// `switch`, `fully-connected`, `torus` or `host`.
    pub topology: &'static str,
    /// The network between nodes in words (`8 x 400.0 Gb/s InfiniBand
    /// NDR`), where there is one.
    pub network: Option<String>,
}

impl SystemEntry {
    /// `s` as `mlsim systems list` describes it.
    pub fn new(s: &System) -> Self {
        Self {
            name: s.name.clone(),
            display_name: s.display_name.clone(),
            chip: s.chip.name.clone(),
            chips_per_node: s.chips_per_node,
            nodes: s.nodes,
            scale_up: s.scale_up.name.clone(),
            scale_up_gb_s: s.scale_up.bandwidth_bytes_per_s / 1e9,
            topology: s.topology.as_str(),
            network: s.network.as_ref().map(|n| {
                format!(
                    "{} x {} Gb/s {}",
                    n.nics_per_node,
                    sig(n.bandwidth_per_nic_bytes_per_s * 8.0 / 1e9, 4),
                    n.name
                )
            }),
        }
    }
}

/// Every embedded system, described (`mlsim systems list`).
pub fn system_entries() -> Result<Vec<SystemEntry>, Error> {
    mlsim_hw::system_presets()
        .map(|p| {
            p.load()
                .map(|s| SystemEntry::new(&s))
                .map_err(|e| Error::SystemFile(chain(&e)))
        })
        .collect()
}

/// A byte count with an optional decimal or binary suffix, as `mlsim
/// collective --bytes` reads it (`16KiB`, `1MB`, `1e9`): the engine's
/// parser, its message a `ValueError`.
pub fn parse_bytes(s: &str) -> Result<f64, Error> {
    mlsim_engine::collectives::parse_bytes(s).map_err(Error::Value)
}

/// A byte count given as a number: finite and at least 0.
pub fn check_bytes(v: f64, shown: &str) -> Result<f64, Error> {
    if !v.is_finite() || v < 0.0 {
        return Err(Error::Value(format!(
            "`{shown}`: a byte count is a finite number of at least 0"
        )));
    }
    Ok(v)
}

/// `mlsim collective --format json`: `{"system", "fabric", "costs"}`,
/// one cost per size, over `ranks` chips (default: all of them).
pub fn collective(
    system: &System,
    op: &str,
    bytes: &[f64],
    ranks: Option<i64>,
) -> Result<serde_json::Value, Error> {
    let op: Collective = op.parse().map_err(Error::Value)?;
    if bytes.is_empty() {
        return Err(Error::Value("no sizes given".into()));
    }
    let chips = system.chips();
    let ranks = match ranks {
        None => chips,
        Some(r) if (1..=i64::from(chips)).contains(&r) => r as u32,
        Some(r) => {
            return Err(Error::Value(format!(
                "ranks {r}: system `{}` has {chips} chips (give 1 to {chips})",
                system.name
            )));
        }
    };
    let fabric = Fabric::of(system, ranks).ok_or_else(|| {
        Error::Value(format!(
            "system `{}` has no network between its nodes",
            system.name
        ))
    })?;
    let costs: Vec<_> = bytes.iter().map(|&b| cost(op, b, ranks, fabric)).collect();
    Ok(serde_json::json!({
        "system": system.name,
        "fabric": fabric,
        "costs": costs,
    }))
}

/// The schemes `mlsim serve` tries by default.
pub const SERVE_SCHEMES: [&str; 4] = ["bf16", "fp8", "w8a16", "w4a16"];

/// What `mlsim serve` is asked besides the model and the system (its
/// flags; `None` limits are none, as the CLI's infinite defaults).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Precision schemes (`--schemes`).
    pub schemes: Vec<Scheme>,
    /// Prompt tokens per sequence (`--prompt`).
    pub prompt: i64,
    /// Output tokens per sequence (`--output`).
    pub output: i64,
    /// Largest time to first token, ms (`--ttft-ms`).
    pub ttft_ms: Option<f64>,
    /// Largest time per output token, ms (`--tpot-ms`).
    pub tpot_ms: Option<f64>,
    /// Largest batch tried (`--max-batch`).
    pub max_batch: i64,
    /// Price of a chip-hour, dollars (`--usd-per-hour`).
    pub usd_per_hour: Option<f64>,
    /// Stack, framework, timing, host floor (the CLI's global flags).
    pub setup: SetupOptions,
}

/// The checks `mlsim serve` makes before loading anything, in its order
/// and words (argument names as Python spells them); the counts.
fn check_serve(o: &ServeOptions) -> Result<(u64, u64, u64, Limits), Error> {
    if let Some(v) = o.usd_per_hour
        && !(v.is_finite() && v >= 0.0)
    {
        return Err(Error::Value(format!(
            "usd_per_hour must be a price of at least 0, got {v}"
        )));
    }
    let limits = Limits {
        ttft_ms: o.ttft_ms.unwrap_or(f64::INFINITY),
        tpot_ms: o.tpot_ms.unwrap_or(f64::INFINITY),
    };
    for (name, v) in [("ttft_ms", limits.ttft_ms), ("tpot_ms", limits.tpot_ms)] {
        if v.is_nan() || v <= 0.0 {
            return Err(Error::Value(format!("{name} must be above 0, got {v}")));
        }
    }
    let mut counts = [0u64; 3];
    for (slot, (name, v)) in counts.iter_mut().zip([
        ("prompt", o.prompt),
        ("output", o.output),
        ("max_batch", o.max_batch),
    ]) {
        if !(1..=1 << 24).contains(&v) {
            return Err(Error::Value(format!(
                "{name} must be from 1 to 2^24, got {v}"
            )));
        }
        *slot = v as u64;
    }
    if o.schemes.is_empty() {
        return Err(Error::Value("schemes must name at least one scheme".into()));
    }
    let [prompt, output, max_batch] = counts;
    Ok((prompt, output, max_batch, limits))
}

/// Check `o` before the model and system are loaded (the CLI's order:
/// arguments first).
pub fn check_serve_options(o: &ServeOptions) -> Result<(), Error> {
    check_serve(o).map(|_| ())
}

/// `mlsim serve --format json`: the best configuration per scheme and of
/// all, as the CLI searches them. The chips run a CUDA-graph engine
/// (`cuda-graph`, `back-to-back`) unless a framework or timing is given.
pub fn serve(
    cfg: &ModelConfig,
    system: &System,
    o: &ServeOptions,
) -> Result<serde_json::Value, Error> {
    let (prompt, output, max_batch, limits) = check_serve(o)?;
    let mut setup_options = o.setup.clone();
    if setup_options.framework.is_none() && setup_options.timing.is_none() {
        setup_options.framework = Some("cuda-graph".into());
        setup_options.timing = Some("back-to-back".into());
    }
    let setup = setup_options.setup(system.chip.clone())?;
    let target = setup.target();
    // The best per scheme and the best of all, as the CLI.
    let (per_scheme, overall) = mlsim_engine::serving::best_per_scheme(
        &target,
        system,
        cfg,
        &o.schemes,
        prompt,
        output,
        limits,
        max_batch,
        o.usd_per_hour,
    );
    Ok(serde_json::json!({
        "model": cfg.name,
        "system": system.name,
        "framework": setup.framework.name,
        "limits": limits,
        "best": overall,
        "per_scheme": per_scheme
            .iter()
            .map(|(s, p)| serde_json::json!({"scheme": s, "best": p}))
            .collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_as_the_cli_reads_them() {
        assert_eq!(parse_bytes("16KiB").unwrap(), 16384.0);
        assert_eq!(parse_bytes("1GB").unwrap(), 1e9);
        assert_eq!(parse_bytes("1e9").unwrap(), 1e9);
        assert_eq!(parse_bytes(" 3 ").unwrap(), 3.0);
        assert!(matches!(parse_bytes("1TB"), Err(Error::Value(_))));
        assert!(matches!(parse_bytes("-1"), Err(Error::Value(_))));
        assert!(matches!(parse_bytes("inf"), Err(Error::Value(_))));
    }

    #[test]
    fn sig_prints_as_the_cli_tables() {
        assert_eq!(sig(400.0, 4), "400.0");
        assert_eq!(sig(3.2, 4), "3.200");
        assert_eq!(sig(1.5e7, 4), "1.500e7");
    }

    /// docs/model/collectives.md: a ring all-reduce of 1 GB on 8 H100s is
    /// 14 x 1 us + 1.75e9 / 450e9 = 3902.9 us.
    #[test]
    fn a_1gb_all_reduce_on_8_h100s_by_hand() {
        let s = load_system("hgx-h100-8").unwrap();
        let v = collective(&s, "all-reduce", &[1e9], None).unwrap();
        let c = &v["costs"][0];
        assert_eq!(c["algorithm"], "ring");
        assert_eq!(c["steps"], 14);
        let want = 14.0 * 1e-6 + 1.75e9 / 450e9;
        assert!((c["time_s"].as_f64().unwrap() - want).abs() < 1e-12);
        assert!(matches!(
            collective(&s, "all-reduce", &[1.0], Some(9)),
            Err(Error::Value(m)) if m == "ranks 9: system `hgx-h100-8` has 8 chips (give 1 to 8)"
        ));
        assert!(matches!(
            collective(&s, "broadcast", &[1.0], None),
            Err(Error::Value(_))
        ));
    }

    #[test]
    fn systems_are_listed_and_bad_names_are_system_file_errors() {
        let entries = system_entries().unwrap();
        let h100 = entries.iter().find(|e| e.name == "hgx-h100-8").unwrap();
        // NVLink 4: 900 GB/s both directions, 450 one way; 8 x 400 Gb/s NDR.
        assert_eq!(h100.scale_up_gb_s, 450.0);
        assert_eq!(
            h100.network.as_deref(),
            Some("8 x 400.0 Gb/s InfiniBand NDR")
        );
        assert!(matches!(
            load_system("hgx-h100-9"),
            Err(Error::SystemFile(m)) if m.contains("did you mean `hgx-h100-8`")
        ));
    }

    #[test]
    fn serve_checks_its_arguments_first() {
        let mut o = ServeOptions {
            schemes: vec!["bf16".parse().unwrap()],
            prompt: 1024,
            output: 256,
            ttft_ms: None,
            tpot_ms: None,
            max_batch: 1024,
            usd_per_hour: None,
            setup: SetupOptions::default(),
        };
        assert!(check_serve_options(&o).is_ok());
        o.ttft_ms = Some(f64::NAN);
        assert!(
            matches!(check_serve_options(&o), Err(Error::Value(m)) if m.starts_with("ttft_ms"))
        );
        o.ttft_ms = None;
        o.prompt = 0;
        assert!(
            matches!(check_serve_options(&o), Err(Error::Value(m)) if m == "prompt must be from 1 to 2^24, got 0")
        );
    }
}
