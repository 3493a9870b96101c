//! One module per subcommand.

pub mod calibrate;
mod clock_probe;
pub mod collective;
pub mod crossover;
pub mod hw;
pub mod hw_memory;
pub mod measure;
pub mod merge;
pub mod model;
#[cfg(feature = "parquet")]
mod parquet_columns;
#[cfg(feature = "parquet")]
mod parquet_names;
pub mod presets;
pub mod recommend;
pub mod run;
pub mod serve;
pub mod sim;
pub mod stacks;
pub mod stream_probe;
pub mod sweep;
#[cfg(feature = "parquet")]
pub mod sweep_parquet;
pub mod systems;
pub mod validate;
mod validate_json;
pub mod validate_serving;

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
        "model",
        "compute_ms",
        "memory_ms",
        "memory_ms_by_level",
        "launch_ms",
        "kernel_ms",
        "kernel_floor_ms",
        "conversion_ms",
        "dram_bytes",
        "compute_utilization",
        "achieved_tflops",
        "effective_tflops",
        "tiling_efficiency",
        "hit_rate",
        "serving_level",
        "bottleneck",
        // The model's own terms, empty where another model predicts.
        "compute_cycles",
        "memory_stall_cycles",
        "exposed_stall_cycles",
        "avg_latency_cycles",
        "waves",
        "split_k",
        "threads",
        "block_m",
        "block_n",
        "block_k",
        "passes",
        "rounds",
    ]
}

/// `L1:0.001 L2:0.02 ...`: memory time per level, ms, fastest first.
pub fn memory_by_level(chip: &mlsim_hw::Chip, p: &mlsim_engine::Prediction) -> String {
    chip.memory
        .iter()
        .zip(p.level_memory_ms.as_slice())
        .map(|(l, ms)| format!("{}:{}", l.name, crate::output::csv_num(*ms)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The model's own terms as (column, value) pairs, in
/// [`result_columns`]' order; the others are empty.
pub fn detail_values(p: &mlsim_engine::Prediction) -> Vec<String> {
    use crate::output::csv_num;
    use mlsim_engine::ModelDetail;
    let mut v = vec![String::new(); 12];
    match p.detail {
        ModelDetail::Original(o) => {
            v[0] = csv_num(o.compute_cycles);
            v[1] = csv_num(o.memory_stall_cycles);
            v[2] = csv_num(o.exposed_stall_cycles);
            v[3] = csv_num(o.avg_latency_cycles);
        }
        ModelDetail::GpuTiled(g) => {
            v[4] = csv_num(g.waves);
            v[5] = g.split_k.to_string();
        }
        ModelDetail::CpuBlocked(c) => {
            v[6] = c.threads.to_string();
            v[7] = c.block_m.to_string();
            v[8] = c.block_n.to_string();
            v[9] = c.block_k.to_string();
        }
        ModelDetail::Systolic(s) => {
            v[10] = csv_num(s.passes);
            v[11] = csv_num(s.rounds);
        }
    }
    v
}

/// Values of [`result_columns`] for one result on `chip`.
pub fn result_values(chip: &mlsim_hw::Chip, r: &mlsim_engine::SimResult) -> Vec<String> {
    use crate::output::csv_num;
    let p = &r.prediction;
    let mut row = vec![
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
        p.detail.model_name().to_string(),
        csv_num(p.compute_ms),
        csv_num(p.memory_ms),
        memory_by_level(chip, p),
        csv_num(p.launch_ms),
        csv_num(p.kernel_ms),
        csv_num(p.kernel_floor_ms),
        csv_num(p.conversion_ms),
        csv_num(p.dram_bytes),
        csv_num(p.compute_utilization),
        csv_num(p.achieved_tflops),
        csv_num(p.effective_tflops),
        csv_num(p.tiling_efficiency),
        csv_num(p.hit_rate),
        r.serving_level.clone().unwrap_or_default(),
        p.bottleneck.to_string(),
    ];
    row.extend(detail_values(p));
    row
}
