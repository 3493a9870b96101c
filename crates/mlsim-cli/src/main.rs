//! `mlsim`: predict how fast ML workloads run on a chip, per dtype.
//!
//! Exit codes: 0 ok, 1 a check failed, 2 bad usage or input.

/// `println!` that returns an error instead of panicking when stdout is
/// closed (`mlsim ... | head`); main turns a broken pipe into success.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `print!` counterpart of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod commands;
mod files;
mod output;
mod shapes;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::Format;

const EXAMPLES: &str = "\
Examples:
  mlsim run all
  mlsim run llm --hw t4-seed --hw npu-systolic
  mlsim sim matmul --hw t4-seed --m 1024 --n 1024 --k 1024 --dtype fp16
  mlsim crossover --hw t4-seed
  mlsim validate --hw t4-seed --measurements results/t4-colab-matmul.csv
  mlsim calibrate --hw t4-seed --measurements results/t4-colab-matmul.csv --out t4-fit.toml
  mlsim presets list
  mlsim presets check my-chip.toml

Chips are named by preset (`mlsim presets list`) or by a path to a TOML file.";

/// Predict ML workload runtimes per dtype from a chip's specifications.
#[derive(Debug, Parser)]
#[command(name = "mlsim", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a workload suite on one or more chips (the original's main job).
    Run(commands::run::RunArgs),
    /// Simulate one workload and show every term of the prediction.
    Sim(commands::sim::SimArgs),
    /// Predict a grid of chips, stacks, GEMM shapes and dtypes (or one slice of it).
    Sweep(commands::sweep::SweepArgs),
    /// Put the parts of a sharded sweep back together, checked.
    Merge(commands::merge::MergeArgs),
    /// Quantization analysis: the original's crossover AI per dtype and
    /// each dtype's adjusted runtime against fp32.
    Crossover(commands::crossover::CrossoverArgs),
    /// Compare a chip's predictions with measurements, in and out of sample.
    Validate(commands::validate::ValidateArgs),
    /// Compare measured LLM serving runs (TTFT, TPOT, throughput) with mlsim serve's predictions.
    ValidateServing(commands::validate_serving::ValidateServingArgs),
    /// Fit a software stack's free parameters to measurements; write a stack file.
    Calibrate(commands::calibrate::CalibrateArgs),
    /// List, show and check chip descriptions.
    #[command(subcommand)]
    Presets(commands::presets::PresetsCommand),
    /// List, show and check software stacks (kernel libraries, frameworks).
    #[command(subcommand)]
    Stacks(commands::stacks::StacksCommand),
    /// List, show and check systems (chips in nodes, their links and network).
    #[command(subcommand)]
    Systems(commands::systems::SystemsCommand),
    /// What a collective (all-reduce, all-gather, ...) costs on a system, by message size.
    Collective(commands::collective::CollectiveArgs),
    /// One transformer inference step (prefill or decode), op by op.
    Model(commands::model::ModelArgs),
    /// The best precision scheme, tensor/pipeline split and batch to serve a model on a system.
    Serve(commands::serve::ServeArgs),
    /// The fastest precision scheme per op and per model, and where it changes with the batch.
    Recommend(commands::recommend::RecommendArgs),
    /// Describe this machine's CPU as a chip file.
    #[command(subcommand)]
    Hw(commands::hw::HwCommand),
    /// Measure real GEMMs on this machine, in the results format.
    #[command(subcommand)]
    Measure(commands::measure::MeasureCommand),
}

/// An error to report with an exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 2,
            error: e.into(),
        }
    }
}

pub type CmdResult = Result<(), Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => commands::run::run(&args),
        Command::Sim(args) => commands::sim::run(&args),
        Command::Sweep(args) => commands::sweep::run(&args),
        Command::Merge(args) => commands::merge::run(&args),
        Command::Crossover(args) => commands::crossover::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
        Command::Calibrate(args) => commands::calibrate::run(&args),
        Command::Presets(cmd) => commands::presets::run(&cmd),
        Command::Stacks(cmd) => commands::stacks::run(&cmd),
        Command::Systems(cmd) => commands::systems::run(&cmd),
        Command::Collective(args) => commands::collective::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::ValidateServing(args) => commands::validate_serving::run(&args),
        Command::Measure(cmd) => commands::measure::run(&cmd),
        Command::Hw(cmd) => commands::hw::run(&cmd),
        Command::Model(args) => commands::model::run(&args),
        Command::Recommend(args) => commands::recommend::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, error }) => {
            // A closed pipe (`mlsim ... | head`) is not an error worth a message.
            // The io error may sit under a context or inside the csv or
            // serde_json writer's error.
            let is_broken = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
            let broken_pipe = error.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(is_broken)
                    || c.downcast_ref::<serde_json::Error>()
                        .and_then(serde_json::Error::io_error_kind)
                        == Some(std::io::ErrorKind::BrokenPipe)
                    || c.downcast_ref::<csv::Error>()
                        .is_some_and(|e| match e.kind() {
                            csv::ErrorKind::Io(io) => is_broken(io),
                            _ => false,
                        })
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {error:#}");
            let missing = error.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound)
            });
            if missing {
                eprintln!(
                    "  hint: check the path (relative to the current directory); presets are named without .toml: `mlsim presets list`"
                );
            }
            ExitCode::from(code)
        }
    }
}

/// Load a chip by preset name or path, for any command.
pub fn load_chip(name: &str) -> Result<mlsim_hw::Chip, Failure> {
    mlsim_hw::load(name).map_err(Failure::from)
}

/// Parse `--timing`.
fn parse_timing(s: &str) -> Result<mlsim_hw::Timing, String> {
    s.parse::<mlsim_hw::Timing>().map_err(|e| e.to_string())
}

/// Shared flags: what a prediction is of besides the chip (the software
/// stack, the framework and the timing method), and the host floor.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SetupArgs {
    /// Kernel-library stack (`mlsim stacks list`, or a TOML file); default:
    /// the chip's `default_stack`, or the one a measurement file names.
    #[arg(long, value_name = "NAME|FILE", global = true)]
    pub stack: Option<String>,
    /// Framework on the host: pytorch-eager (default), cpp-direct,
    /// cuda-graph, or a TOML file.
    #[arg(long, value_name = "NAME|FILE", global = true)]
    pub framework: Option<String>,
    /// How runtimes are timed: kernel (the GPU kernel alone), back-to-back
    /// (calls queued without synchronisation), per-call (each call timed on
    /// its own; default).
    #[arg(long, value_name = "METHOD", value_parser = parse_timing, global = true)]
    pub timing: Option<mlsim_hw::Timing>,
    /// The host's per-call floor in microseconds, replacing the framework's
    /// (and a measurement file's); e.g. an empty op timed per call.
    #[arg(long = "host-floor-us", value_name = "US", global = true)]
    pub host_floor_us: Option<f64>,
    /// Per-call launch and dispatch cost in microseconds. On a GPU chip the
    /// same as --host-floor-us; on the original's model it replaces the
    /// chip file's launch overhead.
    #[arg(
        long = "launch-us",
        value_name = "US",
        conflicts_with = "host_floor_us",
        global = true
    )]
    pub launch_us: Option<f64>,
}

impl SetupArgs {
    /// The host floor given, checked, in seconds.
    fn host_floor_s(&self) -> Result<Option<f64>, Failure> {
        let (flag, v) = match (self.host_floor_us, self.launch_us) {
            (Some(v), _) => ("--host-floor-us", v),
            (None, Some(v)) => ("--launch-us", v),
            (None, None) => return Ok(None),
        };
        if !(v.is_finite() && (0.0..1e6).contains(&v)) {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!("{flag} must be a number from 0 to 1e6, got {v}"),
            });
        }
        Ok(Some(v / 1e6))
    }

    /// The setup spec these flags give.
    pub fn spec(&self) -> Result<mlsim_hw::SetupSpec<'_>, Failure> {
        Ok(mlsim_hw::SetupSpec {
            stack: self.stack.as_deref(),
            framework: self.framework.as_deref(),
            timing: self.timing,
            host_floor_s: self.host_floor_s()?,
        })
    }

    /// Load a chip with these flags' stack, framework and timing.
    pub fn load(&self, chip: &str) -> Result<mlsim_hw::Setup, Failure> {
        self.with_chip(load_chip(chip)?)
    }

    /// The same for a loaded chip. On the original's model a host floor
    /// replaces the chip's launch overhead (it has no framework).
    pub fn with_chip(&self, mut chip: mlsim_hw::Chip) -> Result<mlsim_hw::Setup, Failure> {
        let mut spec = self.spec()?;
        if !chip.model.uses_stack()
            && let Some(s) = spec.host_floor_s.take()
        {
            chip.launch_overhead_s = s;
        }
        Ok(mlsim_hw::Setup::with_chip(chip, &spec)?)
    }
}

/// Shared `--format` flag.
#[derive(Debug, Clone, clap::Args)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    pub format: Format,
}
