//! Energy of an inference step: each op's time at the board's power for
//! its activity (docs/model/energy.md).
//!
//! ```text
//! activity  compute = FLOPs / (peak of the compute dtype x time)
//!           memory  = bytes / (main-memory bandwidth x time)
//! power     = idle + (limit - idle) x min(1, compute + memory_share x memory)
//! energy    = sum over ops of power x time
//! ```

use mlsim_hw::Chip;

use crate::model::StepPrediction;

/// Joules one chip spends running `step`, where the chip file describes
/// its power (`[power]`).
pub fn step_joules(chip: &Chip, step: &StepPrediction) -> Option<f64> {
    let power = chip.power?;
    let peak = chip.peak_flops(step.scheme.activations);
    let bandwidth = chip.main_memory().bandwidth_bytes_per_s;
    Some(
        step.ops
            .iter()
            .map(|o| {
                let seconds = o.time_ms / 1e3;
                if seconds <= 0.0 {
                    return 0.0;
                }
                let runs = o.op.count as f64;
                let compute = o.op.flops * runs / (peak * seconds);
                let memory = o.op.bytes() * runs / (bandwidth * seconds);
                power.watts(compute, memory) * seconds
            })
            .sum(),
    )
}
