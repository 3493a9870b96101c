//! `mlsim stacks`: list, show and check software stacks (kernel libraries
//! and frameworks).

use clap::Subcommand;

use crate::output::{Format, Table, sig, write_csv, write_json};
use crate::{CmdResult, Failure, FormatArg};

#[derive(Debug, Subcommand)]
pub enum StacksCommand {
    /// List the embedded stacks: kernel libraries (with the generation they
    /// describe and what they were fitted on) and frameworks (with their
    /// host cost per call).
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print a stack's TOML file (or any stack file).
    Show {
        /// Stack name or path.
        name: String,
    },
    /// Validate stack and framework files; exits 2 naming file,
    /// line:column and field of the first problem.
    #[command(
        after_help = "Examples:\n  mlsim stacks check my-stack.toml\n  mlsim stacks check stacks/*.toml"
    )]
    Check {
        /// Files (or stack names) to check.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Print the JSON Schema of the stack-file formats (stacks/stack.schema.json).
    Schema,
}

#[derive(Debug, serde::Serialize)]
struct StackEntry {
    name: String,
    kind: String,
    display_name: String,
    /// The generation a library describes (libraries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    generation: Option<String>,
    /// What a library was fitted on (libraries only; `None`: estimates).
    #[serde(skip_serializing_if = "Option::is_none")]
    fitted_on: Option<String>,
    /// The host floor per call, us (frameworks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    host_floor_us: Option<f64>,
    /// Host time a per-call timing loop adds per call, us (frameworks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    timing_overhead_us: Option<f64>,
}

fn entry(p: &mlsim_hw::StackPreset) -> Result<StackEntry, Failure> {
    Ok(if p.kind() == "framework" {
        let f = mlsim_hw::parse_framework(p.text, p.file)?;
        StackEntry {
            name: f.name,
            kind: "framework".into(),
            display_name: f.display_name,
            generation: None,
            fitted_on: None,
            host_floor_us: Some(f.host_floor_s * 1e6),
            timing_overhead_us: Some(f.timing_overhead_s * 1e6),
        }
    } else {
        let s = mlsim_hw::parse_stack(p.text, p.file)?;
        StackEntry {
            name: s.name,
            kind: "library".into(),
            display_name: s.display_name,
            generation: Some(s.generation),
            fitted_on: s.calibration.and_then(|c| c.measurements),
            host_floor_us: None,
            timing_overhead_us: None,
        }
    })
}

/// Load a file as a library stack or a framework, by its `kind`.
fn check_one(name: &str) -> Result<String, mlsim_hw::HwError> {
    let (text, shown) = mlsim_hw::stack_text(name)?;
    if mlsim_hw::stack_kind(&text) == "framework" {
        mlsim_hw::parse_framework(&text, &shown).map(|f| format!("framework `{}`", f.name))
    } else {
        mlsim_hw::parse_stack(&text, &shown).map(|s| format!("stack `{}`", s.name))
    }
}

pub fn run(cmd: &StacksCommand) -> CmdResult {
    match cmd {
        StacksCommand::List { format } => {
            let entries = mlsim_hw::stack_presets()
                .map(|p| entry(&p))
                .collect::<Result<Vec<_>, _>>()?;
            match format.format {
                Format::Json => write_json(&entries)?,
                Format::Csv => {
                    let rows: Vec<Vec<String>> = entries
                        .iter()
                        .map(|e| {
                            vec![
                                e.name.clone(),
                                e.kind.clone(),
                                e.display_name.clone(),
                                e.generation.clone().unwrap_or_default(),
                                e.fitted_on.clone().unwrap_or_default(),
                                e.host_floor_us
                                    .map(crate::output::csv_num)
                                    .unwrap_or_default(),
                                e.timing_overhead_us
                                    .map(crate::output::csv_num)
                                    .unwrap_or_default(),
                            ]
                        })
                        .collect();
                    write_csv(
                        &[
                            "name",
                            "kind",
                            "display_name",
                            "generation",
                            "fitted_on",
                            "host_floor_us",
                            "timing_overhead_us",
                        ],
                        &rows,
                    )?;
                }
                Format::Table => {
                    let mut t =
                        Table::new(["name", "kind", "generation / host floor", "fitted on"]);
                    for e in &entries {
                        t.row([
                            e.name.clone(),
                            e.kind.clone(),
                            match (&e.generation, e.host_floor_us) {
                                (Some(g), _) => g.clone(),
                                (None, Some(us)) => format!("{} us per call", sig(us, 3)),
                                _ => "-".into(),
                            },
                            e.fitted_on.clone().unwrap_or_else(|| {
                                if e.kind == "library" {
                                    "(estimates)".into()
                                } else {
                                    "-".into()
                                }
                            }),
                        ]);
                    }
                    out!("{}", t.render());
                }
            }
            Ok(())
        }
        StacksCommand::Show { name } => {
            let (text, _) = mlsim_hw::stack_text(name)?;
            check_one(name)?;
            out!("{text}");
            Ok(())
        }
        StacksCommand::Schema => {
            out!("{}", mlsim_hw::stack_json_schema());
            Ok(())
        }
        StacksCommand::Check { files } => {
            let mut invalid = 0;
            for f in files {
                match check_one(f) {
                    Ok(what) => outln!("ok: {f} ({what})"),
                    Err(e) => {
                        invalid += 1;
                        eprintln!("error: {e}");
                    }
                }
            }
            if invalid > 0 {
                return Err(Failure {
                    code: 2,
                    error: anyhow::anyhow!("{invalid} of {} stack files invalid", files.len()),
                });
            }
            Ok(())
        }
    }
}
