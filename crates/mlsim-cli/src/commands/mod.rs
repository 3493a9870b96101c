//! One module per subcommand.

pub mod calibrate;
pub mod crossover;
pub mod hw;
pub mod measure;
pub mod model;
pub mod presets;
pub mod recommend;
pub mod run;
pub mod sim;
pub mod stacks;
pub mod stream_probe;
pub mod sweep;
pub mod validate;

/// The CSV/JSON representation of a simulation result, shared by `run` and
/// `sim`: column names and values in a fixed order.
pub fn result_columns() -> &'static [&'static str] {
    &[
        "workload",
        "op",
        "hardware",
        "stack",
        "framework",
        "timing",
        "dtype",
        "native",
        "flops",
        "bytes",
        "arithmetic_intensity",
        "runtime_ms",
        "compute_cycles",
        "memory_stall_cycles",
        "exposed_stall_cycles",
        "launch_ms",
        "kernel_ms",
        "kernel_floor_ms",
        "split_k",
        "memory_ms",
        "conversion_ms",
        "dram_bytes",
        "waves",
        "compute_utilization",
        "achieved_tflops",
        "effective_tflops",
        "tiling_efficiency",
        "hit_rate",
        "serving_level",
        "avg_latency_cycles",
        "bottleneck",
    ]
}

/// Values of [`result_columns`] for one result.
pub fn result_values(r: &mlsim_engine::SimResult) -> Vec<String> {
    use crate::output::csv_num;
    let p = &r.prediction;
    vec![
        r.workload.clone(),
        r.op.to_string(),
        r.hardware.clone(),
        r.stack.clone(),
        r.framework.clone(),
        r.timing.map(|t| t.to_string()).unwrap_or_default(),
        r.dtype.to_string(),
        p.native.to_string(),
        csv_num(p.flops),
        csv_num(p.bytes),
        csv_num(p.arithmetic_intensity),
        csv_num(p.runtime_ms),
        csv_num(p.compute_cycles),
        csv_num(p.memory_stall_cycles),
        csv_num(p.exposed_stall_cycles),
        csv_num(p.launch_ms),
        csv_num(p.kernel_ms),
        csv_num(p.kernel_floor_ms),
        p.split_k.to_string(),
        csv_num(p.memory_ms),
        csv_num(p.conversion_ms),
        csv_num(p.dram_bytes),
        csv_num(p.waves),
        csv_num(p.compute_utilization),
        csv_num(p.achieved_tflops),
        csv_num(p.effective_tflops),
        csv_num(p.tiling_efficiency),
        csv_num(p.hit_rate),
        r.serving_level.clone().unwrap_or_default(),
        csv_num(p.avg_latency_cycles),
        p.bottleneck.to_string(),
    ]
}
