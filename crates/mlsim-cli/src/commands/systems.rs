//! `mlsim systems`: list, show and check system files (chips in nodes,
//! their links and network; `systems/`).

use clap::Subcommand;

use crate::output::{Format, Table, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Subcommand)]
pub enum SystemsCommand {
    /// List the embedded systems: chip, chips per node, the link they share
    /// a node over and its bandwidth, topology, network.
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print a system's TOML file (or any system file), after checking it.
    Show {
        /// System name or path.
        name: String,
    },
    /// Validate system files; exits 2 naming file, line:column and field
    /// of the first problem.
    #[command(after_help = "Examples:\n  mlsim systems check my-node.toml")]
    Check {
        /// Files (or system names) to check.
        #[arg(required = true)]
        files: Vec<String>,
    },
}

#[derive(Debug, serde::Serialize)]
struct SystemEntry {
    name: String,
    display_name: String,
    chip: String,
    chips_per_node: u32,
    nodes: u32,
    scale_up: String,
    /// One direction, GB/s.
    scale_up_gb_s: f64,
    topology: &'static str,
    /// The network between nodes, in words, where there is one.
    network: Option<String>,
}

fn entry(s: mlsim_hw::System) -> SystemEntry {
    SystemEntry {
        network: s.network.as_ref().map(|n| {
            format!(
                "{} x {} Gb/s {}",
                n.nics_per_node,
                sig(n.bandwidth_per_nic_bytes_per_s * 8.0 / 1e9, 4),
                n.name
            )
        }),
        name: s.name,
        display_name: s.display_name,
        chip: s.chip.name,
        chips_per_node: s.chips_per_node,
        nodes: s.nodes,
        scale_up: s.scale_up.name,
        scale_up_gb_s: s.scale_up.bandwidth_bytes_per_s / 1e9,
        topology: s.topology.as_str(),
    }
}

pub fn run(cmd: &SystemsCommand) -> CmdResult {
    match cmd {
        SystemsCommand::List { format } => {
            let entries = mlsim_hw::system_presets()
                .map(|p| p.load().map(entry))
                .collect::<Result<Vec<_>, _>>()?;
            match format.format {
                Format::Json => write_json(&entries)?,
                Format::Csv => {
                    let rows: Vec<Vec<String>> = entries
                        .iter()
                        .map(|e| {
                            vec![
                                e.name.clone(),
                                e.chip.clone(),
                                e.chips_per_node.to_string(),
                                e.nodes.to_string(),
                                e.scale_up.clone(),
                                crate::output::csv_num(e.scale_up_gb_s),
                                e.topology.to_string(),
                                e.network.clone().unwrap_or_default(),
                            ]
                        })
                        .collect();
                    write_csv(
                        &[
                            "name",
                            "chip",
                            "chips_per_node",
                            "nodes",
                            "scale_up",
                            "scale_up_gb_s",
                            "topology",
                            "network",
                        ],
                        &rows,
                    )?;
                }
                Format::Table => {
                    let mut t = Table::new([
                        "name",
                        "chip",
                        "chips",
                        "scale-up link (GB/s a direction)",
                        "topology",
                        "network",
                    ]);
                    for e in &entries {
                        t.row([
                            e.name.clone(),
                            e.chip.clone(),
                            format!("{} x {}", e.nodes, e.chips_per_node),
                            format!("{} ({})", e.scale_up, sig(e.scale_up_gb_s, 4)),
                            e.topology.to_string(),
                            e.network.clone().unwrap_or_else(|| "-".into()),
                        ]);
                    }
                    out!("{}", t.render());
                }
            }
            Ok(())
        }
        SystemsCommand::Show { name } => {
            let system = mlsim_hw::load_system(name)?;
            let text = match mlsim_hw::system_presets().find(|p| p.name == name.as_str()) {
                Some(p) => p.text.to_string(),
                None => std::fs::read_to_string(name)?,
            };
            drop(system);
            out!("{text}");
            Ok(())
        }
        SystemsCommand::Check { files } => {
            let mut invalid = 0;
            for f in files {
                match mlsim_hw::load_system(f) {
                    Ok(s) => outln!("ok: {f} (system `{}`, {} chips)", s.name, s.chips()),
                    Err(e) => {
                        invalid += 1;
                        eprintln!("error: {e}");
                    }
                }
            }
            if invalid > 0 {
                return Err(Failure {
                    code: 2,
                    error: anyhow::anyhow!("{invalid} of {} system files invalid", files.len()),
                });
            }
            Ok(())
        }
    }
}
