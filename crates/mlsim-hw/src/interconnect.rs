//! A chip's links to other chips and its host (`[[interconnect]]` of a
//! chip file), validated.

use crate::doc::{FieldPath, Problem, at_least_one, non_negative, positive, problem};
use crate::raw::RawLink;

/// What a link connects the chip to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkScope {
    /// Other chips of the node or pod (NVLink, Infinity Fabric, ICI).
    ScaleUp,
    /// The host CPU (PCIe).
    Host,
}

impl LinkScope {
    /// The name chip files use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScaleUp => "scale-up",
            Self::Host => "host",
        }
    }
}

/// One kind of link of a chip, all links of that kind together.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Link {
    /// Name (`NVLink 4`).
    pub name: String,
    /// What it connects to.
    pub scope: LinkScope,
    /// Bytes per second in one direction.
    pub bandwidth_bytes_per_s: f64,
    /// Number of links, where stated.
    pub links: Option<u32>,
    /// Start-up time of one collective step over it, seconds.
    pub latency_s: f64,
}

/// Validate a chip file's `[[interconnect]]` entries: known scopes,
/// positive bandwidths, latencies of at least 0, names given once.
pub(crate) fn validate_links(root: &FieldPath, raw: Vec<RawLink>) -> Result<Vec<Link>, Problem> {
    let mut links: Vec<Link> = Vec::with_capacity(raw.len());
    for (i, l) in raw.into_iter().enumerate() {
        let path = root.key("interconnect").index(i);
        if l.name.trim().is_empty() {
            return Err(problem(
                path.key("name"),
                "expected a name, got an empty string",
            ));
        }
        if links.iter().any(|seen| seen.name == l.name) {
            return Err(problem(
                path.key("name"),
                format!("link `{}` is given twice", l.name),
            ));
        }
        let scope = match l.scope.as_str() {
            "scale-up" => LinkScope::ScaleUp,
            "host" => LinkScope::Host,
            other => {
                return Err(problem(
                    path.key("scope"),
                    format!("unknown scope `{other}`, expected scale-up or host"),
                ));
            }
        };
        let bandwidth = positive(&path, "bandwidth_gb_s", l.bandwidth_gb_s)?;
        let latency = non_negative(&path, "latency_us", l.latency_us)?;
        let count = l
            .links
            .map(|n| at_least_one(&path, "links", n))
            .transpose()?;
        links.push(Link {
            name: l.name,
            scope,
            bandwidth_bytes_per_s: bandwidth * 1e9,
            links: count,
            latency_s: latency * 1e-6,
        });
    }
    Ok(links)
}
