//! Systems (`systems/*.toml`): chips in nodes, the links between the chips
//! of a node and the network between nodes. The collective and serving
//! models read them (docs/model/collectives.md).

use std::path::Path;

use crate::chip::Chip;
use crate::doc::{FieldPath, FileKind, Problem, at_least_one, check_top_level, non_negative};
use crate::doc::{parse_validated, positive, problem, problem_with_hint};
use crate::error::HwError;
use crate::interconnect::Link;
use crate::raw::RawSystem;

const SYSTEM_FILE: FileKind = FileKind {
    noun: "system",
    example: "mlsim systems show hgx-h100-8",
    schema_doc: "systems/README.md",
};

/// How the chips of a node are wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// Every pair at full bandwidth through switches (NVSwitch).
    Switch,
    /// A direct link to every peer (Infinity Fabric on an 8-GPU board).
    FullyConnected,
    /// Neighbours only, wrapped around (TPU ICI).
    Torus,
    /// No chip-to-chip links: through the host's PCIe.
    Host,
}

impl Topology {
    /// The name system files use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Switch => "switch",
            Self::FullyConnected => "fully-connected",
            Self::Torus => "torus",
            Self::Host => "host",
        }
    }
}

/// The scale-out network of a node.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Network {
    /// Name, in words.
    pub name: String,
    /// Adapters per node.
    pub nics_per_node: u32,
    /// Bytes per second of one adapter in one direction.
    pub bandwidth_per_nic_bytes_per_s: f64,
    /// Start-up time of one collective step across nodes, seconds.
    pub latency_s: f64,
}

/// A validated system.
#[derive(Debug, Clone)]
pub struct System {
    /// Short identifier (`hgx-h100-8`).
    pub name: String,
    /// Label for tables.
    pub display_name: String,
    /// The chip of every slot.
    pub chip: Chip,
    /// Chips in one node.
    pub chips_per_node: u32,
    /// Nodes.
    pub nodes: u32,
    /// The link the chips of a node talk over.
    pub scale_up: Link,
    /// How they are wired.
    pub topology: Topology,
    /// The network between nodes, where there is one.
    pub network: Option<Network>,
    /// Where the numbers come from.
    pub sources: Vec<String>,
}

impl System {
    /// Chips in the whole system.
    pub fn chips(&self) -> u32 {
        self.chips_per_node * self.nodes
    }

    /// One chip's share of its node's network, bytes per second in one
    /// direction, where the system has a network.
    pub fn network_bandwidth_per_chip(&self) -> Option<f64> {
        self.network.as_ref().map(|n| {
            n.bandwidth_per_nic_bytes_per_s * f64::from(n.nics_per_node)
                / f64::from(self.chips_per_node)
        })
    }
}

/// Parse and validate a system file; its `chip` is a preset name or a
/// path, relative paths taken from `base_dir` (the system file's folder).
pub fn parse_system(text: &str, file: &str, base_dir: Option<&Path>) -> Result<System, HwError> {
    check_top_level(text, file, "kind", "system", |found| {
        (
            format!("expected kind = \"system\", got \"{found}\""),
            "a system file says kind = \"system\"; chips are under presets/, stacks under stacks/"
                .to_string(),
        )
    })?;
    parse_validated(text, file, SYSTEM_FILE, |raw| validate(raw, base_dir))
}

fn validate(raw: RawSystem, base_dir: Option<&Path>) -> Result<System, Problem> {
    let root = FieldPath::default();
    if raw.name.trim().is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(problem_with_hint(
            root.key("name"),
            format!(
                "expected a lower-case identifier of letters, digits and dashes, got {:?}",
                raw.name
            ),
            "for example `hgx-h100-8`",
        ));
    }
    let chip_ref = match base_dir {
        Some(dir)
            if crate::registry::looks_like_path(&raw.chip)
                && Path::new(&raw.chip).is_relative()
                && !dir.as_os_str().is_empty() =>
        {
            dir.join(&raw.chip).display().to_string()
        }
        _ => raw.chip.clone(),
    };
    let chip = crate::registry::load(&chip_ref).map_err(|e| {
        problem_with_hint(
            root.key("chip"),
            format!("chip `{}` does not load: {e}", raw.chip),
            "name a preset (`mlsim presets list`) or a chip file",
        )
    })?;
    let chips_per_node = at_least_one(&root, "chips_per_node", raw.chips_per_node)?;
    let nodes = raw
        .nodes
        .map(|n| at_least_one(&root, "nodes", n))
        .transpose()?
        .unwrap_or(1);
    let Some(scale_up) = chip
        .interconnect
        .iter()
        .find(|l| l.name == raw.scale_up)
        .cloned()
    else {
        let names: Vec<String> = chip
            .interconnect
            .iter()
            .map(|l| format!("`{}`", l.name))
            .collect();
        return Err(problem_with_hint(
            root.key("scale_up"),
            format!("chip `{}` has no link `{}`", chip.name, raw.scale_up),
            if names.is_empty() {
                "the chip file gives no [[interconnect]]: add its links first".to_string()
            } else {
                format!("its links: {}", names.join(", "))
            },
        ));
    };
    let topology = match raw.topology.as_str() {
        "switch" => Topology::Switch,
        "fully-connected" => Topology::FullyConnected,
        "torus" => Topology::Torus,
        "host" => Topology::Host,
        other => {
            return Err(problem(
                root.key("topology"),
                format!(
                    "unknown topology `{other}`, expected switch, fully-connected, torus or host"
                ),
            ));
        }
    };
    let network = match raw.network {
        Some(n) => {
            let path = root.key("network");
            let nics_per_node = at_least_one(&path, "nics_per_node", n.nics_per_node)?;
            let gbit = positive(&path, "gbit_s_per_nic", n.gbit_s_per_nic)?;
            let latency = non_negative(&path, "latency_us", n.latency_us)?;
            Some(Network {
                name: n.name,
                nics_per_node,
                bandwidth_per_nic_bytes_per_s: gbit * 1e9 / 8.0,
                latency_s: latency * 1e-6,
            })
        }
        None if nodes > 1 => {
            return Err(problem_with_hint(
                root.key("nodes"),
                format!("{nodes} nodes but no [network] between them"),
                "add a [network] table (name, nics_per_node, gbit_s_per_nic, latency_us)",
            ));
        }
        None => None,
    };
    Ok(System {
        name: raw.name,
        display_name: raw.display_name,
        chip,
        chips_per_node,
        nodes,
        scale_up,
        topology,
        network,
        sources: raw.sources,
    })
}
