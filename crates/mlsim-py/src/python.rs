//! The pyo3 bindings: Python objects over [`crate::core`]. Every entry
//! point runs its Rust work under `catch_unwind` ([`run`]), so a bug
//! surfaces as `mlsim.InternalError`, never as a crash of the interpreter;
//! grids and batches are predicted with the GIL released.

use std::sync::Arc;

use mlsim_engine::SimResult;
use mlsim_hw::Setup;
use mlsim_quant::Dtype;
use mlsim_workload::Workload;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::core::{self, Error, SetupOptions};

pyo3::create_exception!(
    mlsim,
    ChipFileError,
    PyValueError,
    "A chip, stack or framework file (or name) that cannot be used; the message names file, line:column and field, as the CLI's."
);
pyo3::create_exception!(
    mlsim,
    SystemFileError,
    ChipFileError,
    "A system file (or name) that cannot be used, or the chip it names; the message names file, line:column and field, as the CLI's. A ChipFileError (and a ValueError)."
);
pyo3::create_exception!(
    mlsim,
    MeasurementError,
    PyValueError,
    "A measurement file or table that cannot be used; the message names file, line, row and column, as the CLI's."
);
pyo3::create_exception!(
    mlsim,
    InternalError,
    PyRuntimeError,
    "A bug in mlsim (a Rust panic caught before it reached the interpreter)."
);

fn to_py(e: Error) -> PyErr {
    match e {
        Error::ChipFile(m) => ChipFileError::new_err(m),
        Error::SystemFile(m) => SystemFileError::new_err(m),
        Error::Measurement(m) => MeasurementError::new_err(m),
        Error::Value(m) => PyValueError::new_err(m),
    }
}

/// Run `f` with panics caught: an error becomes its Python exception, a
/// panic `InternalError`.
fn run<T>(f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(to_py),
        Err(p) => Err(InternalError::new_err(core::panic_message(p.as_ref()))),
    }
}

/// [`run`] with the GIL released.
fn run_detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<T> {
    py.detach(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .map_err(|p| core::panic_message(p.as_ref()))
    })
    .map_err(InternalError::new_err)?
    .map_err(to_py)
}

/// A JSON value (what the CLI prints with `--format json`) as Python
/// objects: dicts, lists, str, int, float, bool, None.
fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn serialize<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(v)
        .map_err(|e| InternalError::new_err(format!("cannot serialise a result: {e}")))?;
    json_to_py(py, &value)
}

/// A stack argument: a name, a path or a `Stack`.
fn stack_source(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    let Some(obj) = obj else { return Ok(None) };
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(s) = obj.cast::<PyStack>() {
        return Ok(Some(s.get().source.clone()));
    }
    path_like(obj).map(Some)
}

/// A str or os.PathLike as a string.
fn path_like(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.extract::<String>() {
        return Ok(s);
    }
    let fspath = obj
        .py()
        .import("os")?
        .getattr("fspath")?
        .call1((obj,))
        .map_err(|_| PyValueError::new_err(format!("expected a name or a path, got {obj}")))?;
    fspath.extract::<String>()
}

fn dtype_arg(d: &str) -> PyResult<Dtype> {
    run(|| core::dtype(d))
}

/// A chip with the software stack, framework and timing its predictions
/// use. Made by `mlsim.chip(...)`.
#[pyclass(frozen, module = "mlsim", name = "Chip")]
struct PyChip {
    /// The chip as loaded (before a host floor replaced the launch
    /// overhead of a chip on the original's model).
    base: mlsim_hw::Chip,
    /// The name or path it was loaded from (a calibrated chip file's
    /// source).
    source: String,
    options: SetupOptions,
    setup: Arc<Setup>,
}

impl PyChip {
    fn new(base: mlsim_hw::Chip, source: String, options: SetupOptions) -> PyResult<Self> {
        let setup = run(|| options.setup(base.clone()))?;
        Ok(Self {
            base,
            source,
            options,
            setup: Arc::new(setup),
        })
    }
}

/// A chip argument: a `Chip`, or a preset name or path (default setup).
fn chip_arg(obj: &Bound<'_, PyAny>) -> PyResult<Arc<Setup>> {
    if let Ok(c) = obj.cast::<PyChip>() {
        return Ok(c.get().setup.clone());
    }
    let name = path_like(obj)?;
    let setup = run(|| core::load_setup(&name, &SetupOptions::default()))?;
    Ok(Arc::new(setup))
}

#[pymethods]
impl PyChip {
    /// The chip's name (`h100-sxm5`).
    #[getter]
    fn name(&self) -> &str {
        &self.setup.chip.name
    }

    /// The chip's display name.
    #[getter]
    fn display_name(&self) -> &str {
        &self.setup.chip.display_name
    }

    /// `cpu`, `gpu` or `npu`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.setup.chip.kind.as_str()
    }

    /// The model that predicts it: `original`, `gpu-tiled`, `cpu-blocked` or `systolic`.
    #[getter]
    fn model(&self) -> &'static str {
        self.setup.chip.model.as_str()
    }

    /// The kernel-library stack (`none` on the original's model).
    #[getter]
    fn stack(&self) -> String {
        core::setup_names(&self.setup).0
    }

    /// The framework on the host (`none` on the original's model).
    #[getter]
    fn framework(&self) -> String {
        core::setup_names(&self.setup).1
    }

    /// The timing method (`None` on the original's model, which ignores it).
    #[getter]
    fn timing(&self) -> Option<&'static str> {
        core::setup_names(&self.setup).2
    }

    /// Nominal peak per described dtype, TFLOP/s (TOP/s for integers).
    #[getter]
    fn peak_tflops<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in core::peak_tflops(&self.setup.chip) {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// Main-memory bandwidth, GB/s.
    #[getter]
    fn memory_bandwidth_gb_s(&self) -> f64 {
        self.setup.chip.main_memory().bandwidth_bytes_per_s / 1e9
    }

    /// Memory levels, fastest first: dicts with `name`, `size_bytes`, `bandwidth_gb_s`.
    #[getter]
    fn memory_levels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let levels = self
            .setup
            .chip
            .memory
            .iter()
            .map(|l| {
                let d = PyDict::new(py);
                d.set_item("name", &l.name)?;
                d.set_item("size_bytes", l.size_bytes)?;
                d.set_item("bandwidth_gb_s", l.bandwidth_bytes_per_s / 1e9)?;
                Ok(d)
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, levels)
    }

    /// The dtypes the chip describes.
    #[getter]
    fn dtypes(&self) -> Vec<&'static str> {
        self.setup
            .chip
            .described_dtypes()
            .into_iter()
            .map(Dtype::name)
            .collect()
    }

    /// The same chip with another stack, framework, timing or host floor
    /// (arguments left out keep their value).
    ///
    /// >>> t4 = mlsim.chip("t4").with_setup(timing="kernel")
    #[pyo3(signature = (*, stack=None, framework=None, timing=None, host_floor_us=None))]
    fn with_setup(
        &self,
        stack: Option<&Bound<'_, PyAny>>,
        framework: Option<&Bound<'_, PyAny>>,
        timing: Option<String>,
        host_floor_us: Option<f64>,
    ) -> PyResult<Self> {
        let mut o = self.options.clone();
        if let Some(s) = stack_source(stack)? {
            o.stack = Some(s);
        }
        if let Some(f) = stack_source(framework)? {
            o.framework = Some(f);
        }
        if timing.is_some() {
            o.timing = timing;
        }
        if host_floor_us.is_some() {
            o.host_floor_us = host_floor_us;
        }
        Self::new(self.base.clone(), self.source.clone(), o)
    }

    /// Predict one workload: every term `mlsim sim` prints.
    ///
    /// >>> p = mlsim.chip("t4").predict(mlsim.matmul(1024, 1024, 1024, "fp16"))
    /// >>> p.runtime_ms, p.bottleneck
    fn predict(&self, workload: &PyWorkload) -> PyResult<PyPrediction> {
        let setup = &self.setup;
        let w = &workload.workload;
        run(|| {
            core::check_runs(&setup.chip, w.dtype)?;
            Ok(PyPrediction {
                result: mlsim_engine::simulate(&setup.target(), w),
                setup: setup.clone(),
            })
        })
    }

    /// Predict many workloads in parallel with the GIL released; a list of
    /// predictions in the same order.
    fn predict_many(
        &self,
        py: Python<'_>,
        workloads: Vec<PyRef<'_, PyWorkload>>,
    ) -> PyResult<Vec<PyPrediction>> {
        let ws: Vec<Workload> = workloads.iter().map(|w| w.workload.clone()).collect();
        let setup = self.setup.clone();
        let results = run_detached(py, || {
            for w in &ws {
                core::check_runs(&setup.chip, w.dtype)?;
            }
            let t = setup.target();
            use rayon::prelude::*;
            Ok(ws
                .par_iter()
                .with_min_len(256)
                .map(|w| mlsim_engine::simulate(&t, w))
                .collect::<Vec<_>>())
        })?;
        Ok(results
            .into_iter()
            .map(|result| PyPrediction {
                result,
                setup: self.setup.clone(),
            })
            .collect())
    }

    fn __repr__(&self) -> String {
        let (stack, framework, timing) = core::setup_names(&self.setup);
        format!(
            "mlsim.Chip({:?}, model={:?}, stack={stack:?}, framework={framework:?}, timing={:?})",
            self.setup.chip.name,
            self.setup.chip.model.as_str(),
            timing.unwrap_or("-")
        )
    }
}

/// A software stack: a kernel library or a framework. Made by
/// `mlsim.stack(...)`; pass it to `mlsim.chip(..., stack=...)`.
#[pyclass(frozen, module = "mlsim", name = "Stack")]
struct PyStack {
    source: String,
    name: String,
    kind: &'static str,
}

#[pymethods]
impl PyStack {
    /// The stack's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// `library` or `framework`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// The name or path it was loaded from.
    #[getter]
    fn source(&self) -> &str {
        &self.source
    }

    fn __repr__(&self) -> String {
        format!("mlsim.Stack({:?}, kind={:?})", self.name, self.kind)
    }
}

/// A workload: an op with its shape and dtype. Made by `mlsim.matmul`,
/// `conv2d`, `attention`, `elementwise`.
#[pyclass(frozen, module = "mlsim", name = "Workload")]
struct PyWorkload {
    workload: Workload,
}

#[pymethods]
impl PyWorkload {
    /// Display name, as `mlsim sim` prints it (`MatMul 1024x1024x1024`).
    #[getter]
    fn name(&self) -> &str {
        &self.workload.name
    }

    /// `matmul`, `conv2d`, `attention` or `elementwise`.
    #[getter]
    fn op(&self) -> &'static str {
        self.workload.op.kind_name()
    }

    /// The dtype's name.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.workload.dtype.name()
    }

    /// FLOPs.
    #[getter]
    fn flops(&self) -> f64 {
        self.workload.flops()
    }

    /// Bytes moved (inputs and output, once).
    #[getter]
    fn bytes(&self) -> f64 {
        self.workload.bytes()
    }

    /// FLOPs per byte.
    #[getter]
    fn arithmetic_intensity(&self) -> f64 {
        self.workload.arithmetic_intensity()
    }

    /// The same workload in another dtype.
    fn with_dtype(&self, dtype: &str) -> PyResult<Self> {
        Ok(Self {
            workload: self.workload.with_dtype(dtype_arg(dtype)?),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "mlsim.Workload({:?}, dtype={:?})",
            self.workload.name,
            self.workload.dtype.name()
        )
    }
}

/// A prediction: every term `mlsim sim` prints, as attributes, and
/// `to_dict()` (the CLI's `--format json` object).
#[pyclass(frozen, module = "mlsim", name = "Prediction")]
struct PyPrediction {
    result: SimResult,
    setup: Arc<Setup>,
}

#[pymethods]
impl PyPrediction {
    /// FLOPs.
    #[getter]
    fn flops(&self) -> f64 {
        self.result.prediction.flops
    }

    /// Bytes (inputs and output, once).
    #[getter]
    fn bytes(&self) -> f64 {
        self.result.prediction.bytes
    }

    /// FLOPs per byte.
    #[getter]
    fn arithmetic_intensity(&self) -> f64 {
        self.result.prediction.arithmetic_intensity
    }

    /// Predicted runtime, ms.
    #[getter]
    fn runtime_ms(&self) -> f64 {
        self.result.prediction.runtime_ms
    }

    /// Compute time, ms.
    #[getter]
    fn compute_ms(&self) -> f64 {
        self.result.prediction.compute_ms
    }

    /// Memory time (the slowest level's), ms.
    #[getter]
    fn memory_ms(&self) -> f64 {
        self.result.prediction.memory_ms
    }

    /// Host time added to the kernels, ms.
    #[getter]
    fn launch_ms(&self) -> f64 {
        self.result.prediction.launch_ms
    }

    /// Kernel time, ms.
    #[getter]
    fn kernel_ms(&self) -> f64 {
        self.result.prediction.kernel_ms
    }

    /// Kernel floor, ms.
    #[getter]
    fn kernel_floor_ms(&self) -> f64 {
        self.result.prediction.kernel_floor_ms
    }

    /// Conversion time (dequantization), ms.
    #[getter]
    fn conversion_ms(&self) -> f64 {
        self.result.prediction.conversion_ms
    }

    /// Main-memory traffic, bytes.
    #[getter]
    fn dram_bytes(&self) -> f64 {
        self.result.prediction.dram_bytes
    }

    /// Share of peak used.
    #[getter]
    fn compute_utilization(&self) -> f64 {
        self.result.prediction.compute_utilization
    }

    /// FLOPs over runtime, TFLOP/s.
    #[getter]
    fn achieved_tflops(&self) -> f64 {
        self.result.prediction.achieved_tflops
    }

    /// The rate the kernel computes at, TFLOP/s.
    #[getter]
    fn effective_tflops(&self) -> f64 {
        self.result.prediction.effective_tflops
    }

    /// Tile efficiency.
    #[getter]
    fn tiling_efficiency(&self) -> f64 {
        self.result.prediction.tiling_efficiency
    }

    /// Cache hit rate.
    #[getter]
    fn hit_rate(&self) -> f64 {
        self.result.prediction.hit_rate
    }

    /// Workload display name.
    #[getter]
    fn workload(&self) -> &str {
        &self.result.workload
    }

    /// Op kind.
    #[getter]
    fn op(&self) -> &'static str {
        self.result.op
    }

    /// Chip name.
    #[getter]
    fn hardware(&self) -> &str {
        &self.result.hardware
    }

    /// Kernel-library stack (`none` on the original's model).
    #[getter]
    fn stack(&self) -> &str {
        &self.result.stack
    }

    /// Framework (`none` on the original's model).
    #[getter]
    fn framework(&self) -> &str {
        &self.result.framework
    }

    /// Timing method (`None` on the original's model).
    #[getter]
    fn timing(&self) -> Option<&'static str> {
        self.result.timing.map(|t| t.as_str())
    }

    /// Dtype name.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.result.dtype.name()
    }

    /// The model that predicted it.
    #[getter]
    fn model(&self) -> &'static str {
        self.result.prediction.detail.model_name()
    }

    /// Whether the dtype ran on its own hardware path.
    #[getter]
    fn native(&self) -> bool {
        self.result.prediction.native
    }

    /// `compute` or `memory`.
    #[getter]
    fn bottleneck(&self) -> &'static str {
        self.result.prediction.bottleneck.as_str()
    }

    /// The memory level that serves the working set.
    #[getter]
    fn serving_level(&self) -> Option<&str> {
        self.result.serving_level.as_deref()
    }

    /// Its index, fastest level 0.
    #[getter]
    fn serving_level_index(&self) -> Option<usize> {
        self.result.prediction.serving_level_index
    }

    /// Memory time per level, ms, fastest first: `{level name: ms}`.
    #[getter]
    fn memory_ms_by_level<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (l, ms) in self
            .setup
            .chip
            .memory
            .iter()
            .zip(self.result.prediction.level_memory_ms.as_slice())
        {
            d.set_item(&l.name, ms)?;
        }
        Ok(d)
    }

    /// The model's own terms (`waves`, `split_k` on `gpu-tiled`; `threads`,
    /// `block_m`... on `cpu-blocked`; `passes`, `rounds` on `systolic`;
    /// cycles on the original's), `{term: value}`.
    #[getter]
    fn model_terms<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (i, (name, v)) in core::DETAIL_TERMS
            .iter()
            .zip(core::detail_values(&self.result.prediction))
            .enumerate()
        {
            if let Some(v) = v {
                if core::detail_is_integer(i) {
                    d.set_item(name, v as u64)?;
                } else {
                    d.set_item(name, v)?;
                }
            }
        }
        Ok(d)
    }

    /// A model term by name (`p.waves`); AttributeError on another model.
    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let terms = self.model_terms(py)?;
        match terms.get_item(name)? {
            Some(v) => Ok(v),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "'Prediction' has no attribute '{name}' (model {})",
                self.model()
            ))),
        }
    }

    /// The CLI's JSON object (`mlsim sim ... --format json`) as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize(py, &self.result)
    }

    fn __repr__(&self) -> String {
        format!(
            "mlsim.Prediction({:?} on {:?} in {}: {} ms, {}-bound)",
            self.result.workload,
            self.result.hardware,
            self.result.dtype,
            self.result.prediction.runtime_ms,
            self.result.prediction.bottleneck.as_str()
        )
    }
}

/// Load a chip by preset name (`mlsim.chip_names()`) or TOML path, with the
/// software stack, framework, timing and host floor its predictions use
/// (by default: the chip's `default_stack`, `pytorch-eager`, `per-call`).
///
/// Raises `mlsim.ChipFileError` for a bad file (message: file:line:column,
/// field, what was expected; as `mlsim` prints it) and `ValueError` for a
/// bad argument.
///
/// >>> h100 = mlsim.chip("h100-sxm5")
/// >>> h100.predict(mlsim.matmul(4096, 4096, 4096, "fp8_e4m3")).runtime_ms
/// >>> mine = mlsim.chip("my-chip.toml", stack="cublas-hopper", timing="kernel")
#[pyfunction]
#[pyo3(signature = (name_or_path, *, stack=None, framework=None, timing=None, host_floor_us=None))]
fn chip(
    name_or_path: &Bound<'_, PyAny>,
    stack: Option<&Bound<'_, PyAny>>,
    framework: Option<&Bound<'_, PyAny>>,
    timing: Option<String>,
    host_floor_us: Option<f64>,
) -> PyResult<PyChip> {
    let name = path_like(name_or_path)?;
    let options = SetupOptions {
        stack: stack_source(stack)?,
        framework: stack_source(framework)?,
        timing,
        host_floor_us,
    };
    let base = run(|| Ok(mlsim_hw::load(&name)?))?;
    PyChip::new(base, name, options)
}

/// The embedded chip presets as `mlsim presets list --format json`
/// describes them: a list of dicts with `name`, `display_name`, `kind`,
/// `model`, `peak_tflops` (per described dtype), `memory_bandwidth_gb_s`,
/// `default_stack`, `calibrated` and `calibrated_in`. Only the names:
/// `mlsim.chip_names()`.
///
/// >>> [c["name"] for c in mlsim.chips() if c["kind"] == "npu"]
/// >>> next(c for c in mlsim.chips() if c["name"] == "t4")["peak_tflops"]["fp16"]
/// 65.0
#[pyfunction]
fn chips(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let entries = run(core::preset_entries)?;
    serialize(py, &entries)
}

/// The names of the embedded chip presets, in the order of `mlsim.chips()`.
///
/// >>> "t4" in mlsim.chip_names()
/// True
#[pyfunction]
fn chip_names() -> Vec<String> {
    mlsim_hw::presets().map(|p| p.name.to_string()).collect()
}

/// Load a software stack (kernel library or framework) by name
/// (`mlsim.stacks()`) or TOML path. Raises `mlsim.ChipFileError` for a
/// bad file.
///
/// >>> mlsim.stack("cublas-hopper").kind
/// 'library'
#[pyfunction]
fn stack(name_or_path: &Bound<'_, PyAny>) -> PyResult<PyStack> {
    let source = path_like(name_or_path)?;
    run(|| {
        let (text, _) = mlsim_hw::stack_text(&source)?;
        let kind = mlsim_hw::stack_kind(&text);
        let name = if kind == "framework" {
            mlsim_hw::load_framework(&source)?.name
        } else {
            mlsim_hw::load_stack(&source)?.name
        };
        Ok(PyStack {
            source: source.clone(),
            name,
            kind,
        })
    })
}

/// The names of the embedded stacks (kernel libraries and frameworks);
/// `mlsim.stack(name)` loads one.
///
/// >>> "cublas-hopper" in mlsim.stacks()
/// True
#[pyfunction]
fn stacks() -> Vec<String> {
    mlsim_hw::stack_presets()
        .map(|p| p.name.to_string())
        .collect()
}

/// C(M,N) = A(M,K) @ B(K,N) in `dtype`.
///
/// >>> mlsim.matmul(1024, 1024, 1024, "fp16").flops
/// 2147483648.0
#[pyfunction]
#[pyo3(signature = (m, n, k, dtype="fp32"))]
fn matmul(m: u64, n: u64, k: u64, dtype: &str) -> PyResult<PyWorkload> {
    let d = dtype_arg(dtype)?;
    run(|| core::matmul(m, n, k, d)).map(|workload| PyWorkload { workload })
}

/// A 2-D convolution (NCHW, square kernel), as `mlsim sim conv2d`.
///
/// >>> mlsim.conv2d(64, 56, 64, 3, padding=1)
#[pyfunction]
#[pyo3(signature = (c_in, h, c_out, kernel, *, batch=1, w=None, stride=1, padding=0, dtype="fp32"))]
#[allow(clippy::too_many_arguments, reason = "the CLI's flags, as keywords")]
fn conv2d(
    c_in: u64,
    h: u64,
    c_out: u64,
    kernel: u64,
    batch: u64,
    w: Option<u64>,
    stride: u64,
    padding: u64,
    dtype: &str,
) -> PyResult<PyWorkload> {
    let d = dtype_arg(dtype)?;
    let c = core::Conv {
        batch,
        c_in,
        h,
        w,
        c_out,
        kernel,
        stride,
        padding,
    };
    run(|| core::conv2d(c, d)).map(|workload| PyWorkload { workload })
}

/// Multi-head attention with its output projection, as `mlsim sim attention`.
///
/// >>> mlsim.attention(32, 2048, 128, causal=True, dtype="bf16")
#[pyfunction]
#[pyo3(signature = (heads, seq, head_dim, *, batch=1, causal=false, dtype="fp32"))]
fn attention(
    heads: u64,
    seq: u64,
    head_dim: u64,
    batch: u64,
    causal: bool,
    dtype: &str,
) -> PyResult<PyWorkload> {
    let d = dtype_arg(dtype)?;
    run(|| core::attention(batch, heads, seq, head_dim, causal, d))
        .map(|workload| PyWorkload { workload })
}

/// An elementwise op over `n` elements: relu, gelu, swish, add, mul, or
/// STREAM's copy, scale, stream-add, triad.
///
/// >>> mlsim.elementwise(1 << 20, "gelu", "fp16")
#[pyfunction]
#[pyo3(signature = (n, kind="gelu", dtype="fp32"))]
fn elementwise(n: u64, kind: &str, dtype: &str) -> PyResult<PyWorkload> {
    let d = dtype_arg(dtype)?;
    run(|| core::elementwise(n, kind, d)).map(|workload| PyWorkload { workload })
}

/// A sweep's shape argument: an int (square) or (m, n, k) or "MxNxK"
/// (told apart by type first, so a long list of shapes raises no
/// exception per item).
fn shape_arg(obj: &Bound<'_, PyAny>) -> PyResult<(u64, u64, u64)> {
    let bad = || {
        PyValueError::new_err(format!(
            "bad shape {obj}: expected a size N, a tuple (m, n, k) or a string \"MxNxK\""
        ))
    };
    if obj.is_instance_of::<PyInt>() {
        let n = obj.extract::<u64>().map_err(|_| bad())?;
        return Ok((n, n, n));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_cow()?;
        return run(|| core::parse_shape(&s));
    }
    if let Ok(t) = obj.extract::<(u64, u64, u64)>() {
        return Ok(t);
    }
    // Other integers (numpy's) by `__index__`.
    let n = obj.extract::<u64>().map_err(|_| bad())?;
    Ok((n, n, n))
}

/// The sweep's columns (`mlsim.sweep` builds a DataFrame from them); only
/// those named in `wanted` when given (each must be one of the sweep's, once).
#[pyfunction]
#[pyo3(signature = (chips, shapes, dtypes, arrays, wanted=None))]
fn _sweep_columns<'py>(
    py: Python<'py>,
    chips: Vec<Bound<'py, PyAny>>,
    shapes: Vec<Bound<'py, PyAny>>,
    dtypes: Vec<String>,
    arrays: bool,
    wanted: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    let setups: Vec<Setup> = chips
        .iter()
        .map(|c| chip_arg(c).map(|s| (*s).clone()))
        .collect::<PyResult<_>>()?;
    let shapes: Vec<(u64, u64, u64)> = shapes.iter().map(shape_arg).collect::<PyResult<_>>()?;
    let dtypes: Vec<Dtype> = dtypes
        .iter()
        .map(|d| dtype_arg(d))
        .collect::<PyResult<_>>()?;
    if setups.is_empty() {
        return Err(PyValueError::new_err("no chips given"));
    }
    let grid = run(|| core::Grid::new(setups, shapes, dtypes))?;
    let cols = run_detached(py, || Ok(grid.columns()))?;
    let (out, every) = columns(py, &grid, &cols, arrays, wanted.as_deref())?;
    if let Some(wanted) = &wanted {
        let listed = || every.join(", ");
        for (i, name) in wanted.iter().enumerate() {
            if !every.contains(name) {
                return Err(PyValueError::new_err(format!(
                    "columns: no column `{name}` in this sweep; its columns are {}",
                    listed()
                )));
            }
            if wanted[..i].contains(name) {
                return Err(PyValueError::new_err(format!(
                    "columns: `{name}` is named twice"
                )));
            }
        }
    }
    Ok(out)
}

/// Native-endian bytes of `values` as an `array.array` of `typecode`.
fn array_of<'py>(
    py: Python<'py>,
    typecode: &str,
    values: impl ExactSizeIterator<Item = [u8; 8]>,
) -> PyResult<Bound<'py, PyAny>> {
    const CHUNK: usize = 1 << 13;
    let a = py.import("array")?.getattr("array")?.call1((typecode,))?;
    let mut bytes = Vec::with_capacity(CHUNK * 8);
    let mut values = values.peekable();
    while values.peek().is_some() {
        bytes.clear();
        for b in values.by_ref().take(CHUNK) {
            bytes.extend_from_slice(&b);
        }
        a.call_method1("frombytes", (PyBytes::new(py, &bytes),))?;
    }
    Ok(a)
}

/// A list of Python floats; a value equal (bit for bit) to the one before
/// it shares its object, so a column that repeats (a dtype-independent
/// term, a constant) costs one object per run, not one per point.
fn float_list<'py>(
    py: Python<'py>,
    values: impl ExactSizeIterator<Item = Option<f64>>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut last: Option<(u64, Bound<'py, PyAny>)> = None;
    let none = py.None().into_bound(py);
    let items = values.map(|v| match v {
        None => none.clone(),
        Some(v) => match &last {
            Some((bits, obj)) if *bits == v.to_bits() => obj.clone(),
            _ => {
                let obj = PyFloat::new(py, v).into_any();
                last = Some((v.to_bits(), obj.clone()));
                obj
            }
        },
    });
    Ok(PyList::new(py, items)?.into_any())
}

/// A list of Python ints, runs sharing an object as in [`float_list`].
fn int_list<'py>(
    py: Python<'py>,
    values: impl ExactSizeIterator<Item = Option<i64>>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut last: Option<(i64, Bound<'py, PyAny>)> = None;
    let none = py.None().into_bound(py);
    let items = values.map(|v| -> PyResult<Bound<'py, PyAny>> {
        Ok(match v {
            None => none.clone(),
            Some(v) => match &last {
                Some((x, obj)) if *x == v => obj.clone(),
                _ => {
                    let obj = v.into_pyobject(py)?.into_any();
                    last = Some((v, obj.clone()));
                    obj
                }
            },
        })
    });
    let items = items.collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, items)?.into_any())
}

/// A complete float column: `array('d')` or a list. A list of mostly
/// distinct values is made by `array.tolist()` (CPython's own loop, the
/// fastest way to a list of floats), one of runs by [`float_list`].
fn floats<'py>(
    py: Python<'py>,
    values: impl ExactSizeIterator<Item = f64> + Clone,
    arrays: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let n = values.len();
    if arrays {
        return array_of(py, "d", values.map(f64::to_ne_bytes));
    }
    let mut runs = 0;
    let mut last = None;
    for v in values.clone() {
        if last != Some(v.to_bits()) {
            runs += 1;
            last = Some(v.to_bits());
        }
    }
    if runs * 2 > n {
        array_of(py, "d", values.map(f64::to_ne_bytes))?.call_method0("tolist")
    } else {
        float_list(py, values.map(Some))
    }
}

/// A complete integer column: `array('q')` or a list.
fn ints<'py>(
    py: Python<'py>,
    values: impl ExactSizeIterator<Item = i64>,
    arrays: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if arrays {
        array_of(py, "q", values.map(i64::to_ne_bytes))
    } else {
        int_list(py, values.map(Some))
    }
}

/// `pattern` repeated `times` times, as Python's `list * int`.
fn repeated<'py>(
    py: Python<'py>,
    pattern: &[Bound<'py, PyAny>],
    times: usize,
) -> PyResult<Bound<'py, PyAny>> {
    PyList::new(py, pattern)?.call_method1("__mul__", (times,))
}

/// A column of few distinct values: a list of shared objects.
fn shared<'py>(
    py: Python<'py>,
    pool: &[Bound<'py, PyAny>],
    idx: impl ExactSizeIterator<Item = usize>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyList::new(py, idx.map(|i| pool[i].clone()))?.into_any())
}

/// The columns of `mlsim sweep --format csv`, in its order, as a dict.
fn columns<'py>(
    py: Python<'py>,
    grid: &core::Grid,
    cols: &core::SweepColumns,
    arrays: bool,
    wanted: Option<&[String]>,
) -> PyResult<(Bound<'py, PyDict>, Vec<String>)> {
    let n = cols.len;
    let point = |i: usize| grid.point(i);
    let out = PyDict::new(py);
    let every = std::cell::RefCell::new(Vec::new());
    // Every column is named (the names check `wanted`); only the wanted
    // ones are made.
    let set = |k: &str, v: &dyn Fn() -> PyResult<Bound<'py, PyAny>>| -> PyResult<()> {
        every.borrow_mut().push(k.to_string());
        if wanted.is_none_or(|w| w.iter().any(|x| x == k)) {
            out.set_item(k, v()?)?;
        }
        Ok(())
    };
    let shape_col =
        |f: fn((u64, u64, u64)) -> u64| (0..n).map(move |i| f(grid.shapes[point(i).1]) as i64);
    set("m", &|| ints(py, shape_col(|s| s.0), arrays))?;
    set("n", &|| ints(py, shape_col(|s| s.1), arrays))?;
    set("k", &|| ints(py, shape_col(|s| s.2), arrays))?;
    set("workload", &|| {
        let names: Vec<Bound<'py, PyAny>> = grid
            .shapes
            .iter()
            .map(|(m, n, k)| PyString::new(py, &format!("MatMul {m}x{n}x{k}")).into_any())
            .collect();
        shared(py, &names, (0..n).map(|i| point(i).1))
    })?;
    set("op", &|| {
        repeated(py, &[PyString::new(py, "matmul").into_any()], n)
    })?;
    // A value per setup, each repeated over the setup's points (setup
    // outermost): lists repeated as Python repeats them.
    let per_setup = |f: &dyn Fn(&Setup) -> Bound<'py, PyAny>| -> PyResult<Bound<'py, PyAny>> {
        let per = n / grid.setups.len();
        let list = PyList::empty(py);
        for s in &grid.setups {
            list.call_method1("extend", (repeated(py, &[f(s)], per)?,))?;
        }
        Ok(list.into_any())
    };
    set("hardware", &|| {
        per_setup(&|s| PyString::new(py, &s.chip.name).into_any())
    })?;
    set("stack", &|| {
        per_setup(&|s| PyString::new(py, &core::setup_names(s).0).into_any())
    })?;
    set("framework", &|| {
        per_setup(&|s| PyString::new(py, &core::setup_names(s).1).into_any())
    })?;
    set("timing", &|| {
        per_setup(&|s| match core::setup_names(s).2 {
            Some(t) => PyString::new(py, t).into_any(),
            None => py.None().into_bound(py),
        })
    })?;
    // Dtype innermost: the dtypes, repeated once per setup and shape.
    let dt: Vec<Bound<'py, PyAny>> = grid
        .dtypes
        .iter()
        .map(|d| PyString::new(py, d.name()).into_any())
        .collect();
    set("dtype", &|| repeated(py, &dt, n / dt.len()))?;
    let bools = [
        PyBool::new(py, false).to_owned().into_any(),
        PyBool::new(py, true).to_owned().into_any(),
    ];
    set("native", &|| {
        shared(py, &bools, cols.native().map(usize::from))
    })?;
    let float_col = |name: &str| {
        let c = core::FLOAT_COLUMNS
            .iter()
            .position(|x| *x == name)
            .expect("a float column");
        floats(py, cols.floats(c), arrays)
    };
    for name in ["flops", "bytes", "arithmetic_intensity", "runtime_ms"] {
        set(name, &|| float_col(name))?;
    }
    let models = ["original", "gpu-tiled", "cpu-blocked", "systolic"]
        .map(|m| PyString::new(py, m).into_any());
    let model_index = |d: mlsim_engine::ModelDetail| match d {
        mlsim_engine::ModelDetail::Original(_) => 0,
        mlsim_engine::ModelDetail::GpuTiled(_) => 1,
        mlsim_engine::ModelDetail::CpuBlocked(_) => 2,
        mlsim_engine::ModelDetail::Systolic(_) => 3,
    };
    set("model", &|| {
        shared(py, &models, cols.detail().map(model_index))
    })?;
    for name in ["compute_ms", "memory_ms"] {
        set(name, &|| float_col(name))?;
    }
    // Memory time per level: one column per level name (in the order the
    // chips list them), None where a chip has no such level.
    for (li, name) in cols.levels.iter().enumerate() {
        let key = format!("memory_ms_{name}");
        let present = |s: usize| cols.level_index[s][li].is_some();
        if (0..grid.setups.len()).all(present) {
            set(&key, &|| floats(py, cols.level_ms(li), arrays))?;
        } else {
            let values = cols
                .level_ms(li)
                .enumerate()
                .map(|(i, v)| present(point(i).0).then_some(v));
            set(&key, &|| float_list(py, values.clone()))?;
        }
    }
    for name in &core::FLOAT_COLUMNS[6..] {
        set(name, &|| float_col(name))?;
    }
    // Serving level: a pool of every setup's level names, then None.
    let mut pool: Vec<Bound<'py, PyAny>> = Vec::new();
    let mut base = Vec::new();
    for s in &grid.setups {
        base.push(pool.len());
        pool.extend(
            s.chip
                .memory
                .iter()
                .map(|l| PyString::new(py, &l.name).into_any()),
        );
    }
    let none = pool.len();
    pool.push(py.None().into_bound(py));
    let serving = cols
        .serving_level()
        .enumerate()
        .map(|(i, l)| l.map_or(none, |j| base[point(i).0] + j));
    set("serving_level", &|| shared(py, &pool, serving.clone()))?;
    let bounds = ["compute", "memory"].map(|b| PyString::new(py, b).into_any());
    set("bottleneck", &|| {
        shared(py, &bounds, cols.memory_bound().map(usize::from))
    })?;
    // The model's own terms, for the models in the grid.
    let mut present = [false; 12];
    let mut complete = [true; 12];
    for d in cols.detail() {
        for (t, v) in core::detail_terms(&d).iter().enumerate() {
            present[t] |= v.is_some();
            complete[t] &= v.is_some();
        }
    }
    for (t, name) in core::DETAIL_TERMS.iter().enumerate() {
        if !present[t] {
            continue;
        }
        set(name, &|| {
            let values = cols.detail().map(move |d| core::detail_terms(&d)[t]);
            match (complete[t], core::detail_is_integer(t)) {
                (true, true) => ints(py, values.map(|v| v.unwrap_or(0.0) as i64), arrays),
                (true, false) => floats(py, values.map(|v| v.unwrap_or(0.0)), arrays),
                (false, true) => int_list(py, values.map(|v| v.map(|x| x as i64))),
                (false, false) => float_list(py, values),
            }
        })?;
    }
    Ok((out, every.into_inner()))
}

/// Measurements: a path, or CSV text with a name for messages.
fn measurement_set(
    measurements: &Bound<'_, PyAny>,
    csv_text: Option<String>,
) -> PyResult<mlsim_calibrate::measurements::MeasurementSet> {
    match csv_text {
        Some(text) => {
            let name = path_like(measurements).unwrap_or_else(|_| "<DataFrame>".into());
            run(|| {
                Ok(mlsim_calibrate::measurements::parse_measurements(
                    text.as_bytes(),
                    &name,
                )?)
            })
        }
        None => {
            let path = path_like(measurements)?;
            run(|| {
                Ok(mlsim_calibrate::measurements::read_measurements(
                    std::path::Path::new(&path),
                )?)
            })
        }
    }
}

/// The validation report (`mlsim validate --format json`): one file's
/// report, or `{"files": [...]}` for several, as the CLI prints them.
#[pyfunction]
#[pyo3(signature = (chips, measurements, csv_texts, cv, host_floor_from_smallest))]
fn _validate<'py>(
    py: Python<'py>,
    chips: Vec<Bound<'py, PyAny>>,
    measurements: Vec<Bound<'py, PyAny>>,
    csv_texts: Vec<Option<String>>,
    cv: &str,
    host_floor_from_smallest: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (fit, chip_cv) = match cv {
        "loso" => (true, false),
        "chip" => (true, true),
        "none" => (false, false),
        other => {
            return Err(PyValueError::new_err(format!(
                "cv must be \"loso\", \"chip\" or \"none\", got {other:?}"
            )));
        }
    };
    if measurements.is_empty() {
        return Err(PyValueError::new_err("no measurements given"));
    }
    if chips.len() != 1 && chips.len() != measurements.len() {
        return Err(PyValueError::new_err(format!(
            "{} chips for {} measurement files: give one chip for all files, or one per file in the same order",
            chips.len(),
            measurements.len()
        )));
    }
    let mut inputs = Vec::with_capacity(measurements.len());
    for (i, (m, text)) in measurements.iter().zip(csv_texts).enumerate() {
        let (base, options) = chip_parts(&chips[if chips.len() == 1 { 0 } else { i }])?;
        inputs.push((base, options, measurement_set(m, text)?));
    }
    let reports = run_detached(py, || {
        let cases = inputs
            .into_iter()
            .map(|(base, options, set)| {
                Ok(mlsim_calibrate::report::Case::new(
                    set,
                    base,
                    &options.spec()?,
                    host_floor_from_smallest,
                )?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut reports = cases
            .iter()
            .map(|c| Ok(c.validate(fit)?.0))
            .collect::<Result<Vec<_>, Error>>()?;
        if chip_cv {
            mlsim_calibrate::report::add_leave_one_chip_out(&cases, &mut reports)?;
        }
        Ok(reports)
    })?;
    match reports.as_slice() {
        [one] => serialize(py, one),
        _ => serialize(py, &serde_json::json!({ "files": reports })),
    }
}

/// The stem of a path to be written (its name inside), checked.
fn stem_of(path: &str, what: &str) -> PyResult<String> {
    let stem = std::path::Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_string();
    run(|| crate::calibrate::check_name(&stem, what))?;
    Ok(stem)
}

/// The fit of `mlsim calibrate` (`mlsim.calibrate` documents it).
#[pyfunction]
#[pyo3(signature = (chips, measurements, csv_texts, name, out, out_chip, force, params, host_floor_from_smallest))]
#[allow(clippy::too_many_arguments, reason = "the CLI's flags, as keywords")]
fn _calibrate<'py>(
    py: Python<'py>,
    chips: Vec<Bound<'py, PyAny>>,
    measurements: Vec<Bound<'py, PyAny>>,
    csv_texts: Vec<Option<String>>,
    name: Option<String>,
    out: Option<&Bound<'py, PyAny>>,
    out_chip: Option<&Bound<'py, PyAny>>,
    force: bool,
    params: Option<String>,
    host_floor_from_smallest: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if measurements.is_empty() {
        return Err(PyValueError::new_err("no measurements given"));
    }
    if chips.len() != 1 && chips.len() != measurements.len() {
        return Err(PyValueError::new_err(format!(
            "{} chips for {} measurement files: give one chip for all files, or one per file in the same order",
            chips.len(),
            measurements.len()
        )));
    }
    let out = out.filter(|o| !o.is_none()).map(path_like).transpose()?;
    let out_chip = out_chip
        .filter(|o| !o.is_none())
        .map(path_like)
        .transpose()?;
    let name = match (&out, name) {
        (Some(o), None) => stem_of(o, "out")?,
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err(
                "give name or out, not both: the written file's name is its file name",
            ));
        }
        (None, Some(n)) => {
            run(|| crate::calibrate::check_name(&n, "name"))?;
            n
        }
        (None, None) => "calibrated".to_string(),
    };
    let chip_name = out_chip
        .as_deref()
        .map(|p| stem_of(p, "out_chip"))
        .transpose()?;
    // Refuse before fitting, not after.
    if let Some(o) = &out {
        run(|| crate::calibrate::check_new(o, force, "calibrated file"))?;
    }
    if let Some(o) = &out_chip {
        run(|| crate::calibrate::check_new(o, force, "chip file"))?;
    }
    let chip_source = match chips[0].cast::<PyChip>() {
        Ok(c) => c.get().source.clone(),
        Err(_) => path_like(&chips[0])?,
    };
    let mut inputs = Vec::with_capacity(measurements.len());
    let mut files = Vec::with_capacity(measurements.len());
    for (i, (m, text)) in measurements.iter().zip(csv_texts).enumerate() {
        let (base, options) = chip_parts(&chips[if chips.len() == 1 { 0 } else { i }])?;
        let set = measurement_set(m, text)?;
        files.push(set.file.clone());
        inputs.push((base, options, set));
    }
    let calibration = run_detached(py, || {
        let cases = inputs
            .into_iter()
            .map(|(base, options, set)| {
                Ok(mlsim_calibrate::report::Case::new(
                    set,
                    base,
                    &options.spec()?,
                    host_floor_from_smallest,
                )?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        crate::calibrate::calibrate(&crate::calibrate::Request {
            cases,
            chip_source,
            files,
            params,
            name,
            chip_name,
            date: crate::calibrate::today(),
        })
    })?;
    let mut written: Vec<String> = Vec::new();
    let chip_path = if calibration.gpu {
        out_chip.as_ref()
    } else {
        out.as_ref()
    };
    if let (Some(text), Some(path)) = (&calibration.chip_toml, chip_path) {
        run(|| crate::calibrate::write_new(path, text, force, "chip file"))?;
        written.push(path.clone());
    }
    if let (Some(text), Some(path)) = (&calibration.stack_toml, &out) {
        run(|| crate::calibrate::write_new(path, text, force, "stack file"))?;
        written.push(path.clone());
    }
    let mut report = calibration.report;
    report["stack_toml"] = serde_json::json!(calibration.stack_toml);
    report["chip_toml"] = serde_json::json!(calibration.chip_toml);
    report["written"] = serde_json::json!(written);
    json_to_py(py, &report)
}

/// A chip argument as the chip file and the options of its setup.
fn chip_parts(obj: &Bound<'_, PyAny>) -> PyResult<(mlsim_hw::Chip, SetupOptions)> {
    if let Ok(c) = obj.cast::<PyChip>() {
        let c = c.get();
        return Ok((c.base.clone(), c.options.clone()));
    }
    let name = path_like(obj)?;
    let base = run(|| Ok(mlsim_hw::load(&name)?))?;
    Ok((base, SetupOptions::default()))
}

/// The crossover analysis (`mlsim crossover --format json`).
#[pyfunction]
#[pyo3(signature = (chip, workload, measurements, csv_text, family, fixed_n, fixed_k, from_size, to_size))]
#[allow(clippy::too_many_arguments, reason = "the CLI's flags, as keywords")]
fn _crossover<'py>(
    py: Python<'py>,
    chip: &Bound<'py, PyAny>,
    workload: Option<PyRef<'py, PyWorkload>>,
    measurements: Option<Bound<'py, PyAny>>,
    csv_text: Option<String>,
    family: &str,
    fixed_n: u64,
    fixed_k: u64,
    from_size: u64,
    to_size: u64,
) -> PyResult<Bound<'py, PyAny>> {
    use mlsim_engine::crossover::Family;
    let (base, options) = chip_parts(chip)?;
    let setup = run(|| options.setup(base))?;
    if from_size == 0 || to_size < from_size {
        return Err(PyValueError::new_err(format!(
            "from_size {from_size}, to_size {to_size}: expected 1 <= from_size <= to_size"
        )));
    }
    let family = match family {
        "square" => Family::Square,
        "m" => Family::M {
            n: fixed_n.max(1),
            k: fixed_k.max(1),
        },
        other => {
            return Err(PyValueError::new_err(format!(
                "family must be \"square\" or \"m\", got {other:?}"
            )));
        }
    };
    let (m, n, k) = family.shape(to_size);
    if 2.0 * m as f64 * n as f64 * k as f64 >= 9_007_199_254_740_992.0 {
        return Err(PyValueError::new_err(format!(
            "to_size {to_size}: a {m}x{n}x{k} GEMM is more than 2^53 FLOPs, beyond exact arithmetic"
        )));
    }
    let set = match &measurements {
        Some(m) if !m.is_none() => Some(measurement_set(m, csv_text)?),
        _ => None,
    };
    let w = workload.map(|w| w.workload.with_dtype(Dtype::Fp32));
    let (crossovers, formula, rows) = run_detached(py, || {
        let target = setup.target();
        let chip = &setup.chip;
        let measured = match set {
            Some(set) => {
                set.check_runs_on(chip)?;
                let rows = mlsim_calibrate::targets::RowTargets::new(
                    chip.clone(),
                    &options.spec()?,
                    &set.rows,
                )?;
                let pts = mlsim_calibrate::validate::points(&rows, &set.rows);
                mlsim_calibrate::validate::crossovers(&pts)
            }
            None => Vec::new(),
        };
        let crossovers = mlsim_calibrate::report::dtype_crossovers(
            &target, family, from_size, to_size, &measured,
        );
        let workloads = match w {
            Some(w) => vec![w],
            None => mlsim_engine::quant::standard_workloads(),
        };
        let rows: Vec<_> = workloads
            .iter()
            .flat_map(|w| mlsim_engine::quant::analyse(&target, w))
            .collect();
        let formula: Vec<serde_json::Value> = chip
            .quantization
            .iter()
            .map(|(d, c)| serde_json::json!({"dtype": d, "original_crossover_ai": mlsim_quant::seed::crossover_ai(d, c)}))
            .collect();
        Ok((crossovers, formula, rows))
    })?;
    let value = serde_json::json!({
        "hardware": setup.chip.name,
        "family": family,
        "crossovers": crossovers,
        "original_formula": formula,
        "analysis": rows,
    });
    json_to_py(py, &value)
}

fn phase(name: &str, batch: u64, seq: u64) -> PyResult<mlsim_workload::transformer::Phase> {
    use mlsim_workload::transformer::Phase;
    match name {
        "prefill" => Ok(Phase::Prefill { batch, prompt: seq }),
        "decode" => Ok(Phase::Decode {
            batch,
            context: seq,
        }),
        other => Err(PyValueError::new_err(format!(
            "phase must be \"prefill\" or \"decode\", got {other:?}"
        ))),
    }
}

fn scheme(name: &str) -> PyResult<mlsim_workload::transformer::Scheme> {
    name.parse().map_err(PyValueError::new_err)
}

fn load_model(name: &str) -> PyResult<mlsim_workload::transformer::ModelConfig> {
    run(|| mlsim_workload::transformer::load_model(name).map_err(|e| Error::Value(core::chain(&e))))
}

/// One transformer inference step, op by op (`mlsim model --format json`).
///
/// >>> step = mlsim.model("h100-sxm5", "llama-3-8b", "decode", seq=2048, scheme="w4a16")
/// >>> step["tokens_per_s"]
#[pyfunction]
#[pyo3(signature = (chip, model, phase, *, seq, batch=1, scheme="w16a16"))]
fn model<'py>(
    py: Python<'py>,
    chip: &Bound<'py, PyAny>,
    model: &str,
    phase: &str,
    seq: u64,
    batch: u64,
    scheme: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let setup = chip_arg(chip)?;
    let cfg = load_model(model)?;
    if batch == 0 || seq == 0 || batch > 1 << 20 || seq > 1 << 24 {
        return Err(PyValueError::new_err(
            "batch and seq must be at least 1 (batch up to 2^20, seq up to 2^24)",
        ));
    }
    let ph = self::phase(phase, batch, seq)?;
    let sc = self::scheme(scheme)?;
    let step = run_detached(py, || {
        Ok(mlsim_engine::model::predict_step(
            &setup.target(),
            &cfg,
            ph,
            &sc,
        ))
    })?;
    serialize(py, &step)
}

/// The fastest precision scheme per op and for the whole model by batch
/// size (`mlsim recommend --format json`); the first scheme is the
/// baseline. With `suite` ("llm", "vision", "scaling" or "all") instead
/// of a model: the fastest scheme per workload of the original's suites
/// (`mlsim recommend --suite`), a list (phase, seq, batch and max_batch
/// do not apply).
///
/// >>> rec = mlsim.recommend("t4", "mistral-7b", seq=1024)
/// >>> rec["switches"]
/// >>> [(c["op"], c["scheme"]) for c in mlsim.recommend("h100-sxm5", suite="llm")]
#[pyfunction]
#[pyo3(signature = (chip, model=None, *, suite=None, phase="decode", seq=1, batch=1, schemes=None, max_batch=1024, usd_per_hour=None))]
#[allow(clippy::too_many_arguments, reason = "the CLI's flags, as keywords")]
fn recommend<'py>(
    py: Python<'py>,
    chip: &Bound<'py, PyAny>,
    model: Option<&str>,
    suite: Option<&str>,
    phase: &str,
    seq: u64,
    batch: u64,
    schemes: Option<Vec<String>>,
    max_batch: u64,
    usd_per_hour: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    if let Some(v) = usd_per_hour
        && !(v.is_finite() && v >= 0.0)
    {
        return Err(PyValueError::new_err(format!(
            "usd_per_hour must be a price of at least 0, got {v}"
        )));
    }
    let setup = chip_arg(chip)?;
    let names = schemes.unwrap_or_else(|| {
        "w16a16,fp32,bf16,w8a8,w8a16,w4a16,fp8,fp8kv,mxfp6,mxfp4,nvfp4,w4a8"
            .split(',')
            .map(String::from)
            .collect()
    });
    if names.is_empty() {
        return Err(PyValueError::new_err(
            "schemes must name at least one scheme",
        ));
    }
    let schemes = names
        .iter()
        .map(|s| self::scheme(s))
        .collect::<PyResult<Vec<_>>>()?;
    let model = match (model, suite) {
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err("give a model or a suite, not both"));
        }
        (None, None) => return Err(PyValueError::new_err("give a model or a suite")),
        (None, Some(suite)) => {
            let suites = run(|| core::suites(suite))?;
            let choices = run_detached(py, || {
                core::suite_recommendation(&setup.target(), &suites, &schemes)
            })?;
            return serialize(py, &choices);
        }
        (Some(model), None) => model,
    };
    let cfg = load_model(model)?;
    if batch == 0 || seq == 0 || max_batch == 0 || max_batch > 1 << 16 || seq > 1 << 24 {
        return Err(PyValueError::new_err(
            "batch, seq and max_batch must be at least 1 (max_batch up to 65536)",
        ));
    }
    let ph = self::phase(phase, batch, seq)?;
    let rec = run_detached(py, || {
        Ok(mlsim_engine::model::recommend(
            &setup.target(),
            &cfg,
            ph,
            &schemes,
            max_batch,
            usd_per_hour,
        ))
    })?;
    serialize(py, &rec)
}

/// Chips in nodes, their links and network: a system file (`systems/`).
/// Made by `mlsim.system(...)`; pass it (or its name) to
/// `mlsim.collective` and `mlsim.serve`.
#[pyclass(frozen, module = "mlsim", name = "System")]
struct PySystem {
    system: Arc<mlsim_hw::System>,
}

/// A system argument: a `System`, or an embedded name or path.
fn system_arg(obj: &Bound<'_, PyAny>) -> PyResult<Arc<mlsim_hw::System>> {
    if let Ok(s) = obj.cast::<PySystem>() {
        return Ok(s.get().system.clone());
    }
    let name = path_like(obj)?;
    run(|| crate::systems::load_system(&name)).map(Arc::new)
}

#[pymethods]
impl PySystem {
    /// The system's name (`hgx-h100-8`).
    #[getter]
    fn name(&self) -> &str {
        &self.system.name
    }

    /// Its display name.
    #[getter]
    fn display_name(&self) -> &str {
        &self.system.display_name
    }

    /// The chip of every slot, as `mlsim.chip(name)` gives it (default
    /// stack, framework and timing); `chip.name` is its name.
    #[getter]
    fn chip(&self) -> PyResult<PyChip> {
        PyChip::new(
            self.system.chip.clone(),
            self.system.chip.name.clone(),
            SetupOptions::default(),
        )
    }

    /// Chips in one node.
    #[getter]
    fn chips_per_node(&self) -> u32 {
        self.system.chips_per_node
    }

    /// Nodes.
    #[getter]
    fn nodes(&self) -> u32 {
        self.system.nodes
    }

    /// Chips in the whole system (nodes x chips_per_node).
    #[getter]
    fn chips(&self) -> u32 {
        self.system.chips()
    }

    /// The name of the link the chips of a node share (`NVLink 4`).
    #[getter]
    fn scale_up(&self) -> &str {
        &self.system.scale_up.name
    }

    /// Its bandwidth in one direction, GB/s.
    #[getter]
    fn scale_up_gb_s(&self) -> f64 {
        self.system.scale_up.bandwidth_bytes_per_s / 1e9
    }

    /// Its start-up time per collective step, microseconds.
    #[getter]
    fn scale_up_latency_us(&self) -> f64 {
        self.system.scale_up.latency_s * 1e6
    }

    /// Its number of links, where the chip file states it.
    #[getter]
    fn scale_up_links(&self) -> Option<u32> {
        self.system.scale_up.links
    }

    /// How the chips of a node are wired: `switch`, `fully-connected`,
    /// `torus` or `host`.
    #[getter]
    fn topology(&self) -> &'static str {
        self.system.topology.as_str()
    }

    /// The network between nodes (None without one): a dict with `name`,
    /// `nics_per_node`, `gbit_s_per_nic`, `latency_us` and `gb_s_per_chip`
    /// (a chip's share, one direction).
    #[getter]
    fn network<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(n) = &self.system.network else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("name", &n.name)?;
        d.set_item("nics_per_node", n.nics_per_node)?;
        d.set_item(
            "gbit_s_per_nic",
            n.bandwidth_per_nic_bytes_per_s * 8.0 / 1e9,
        )?;
        d.set_item("latency_us", n.latency_s * 1e6)?;
        d.set_item(
            "gb_s_per_chip",
            self.system.network_bandwidth_per_chip().map(|b| b / 1e9),
        )?;
        Ok(Some(d))
    }

    /// Where the numbers come from.
    #[getter]
    fn sources(&self) -> Vec<String> {
        self.system.sources.clone()
    }

    /// The system as `mlsim systems list --format json` describes it (the
    /// network in words), a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize(py, &crate::systems::SystemEntry::new(&self.system))
    }

    fn __repr__(&self) -> String {
        format!(
            "mlsim.System({:?}, chip={:?}, chips={} x {}, scale_up={:?})",
            self.system.name,
            self.system.chip.name,
            self.system.nodes,
            self.system.chips_per_node,
            self.system.scale_up.name
        )
    }
}

/// The embedded systems as `mlsim systems list --format json` describes
/// them: a list of dicts with `name`, `display_name`, `chip`,
/// `chips_per_node`, `nodes`, `scale_up` (the link's name),
/// `scale_up_gb_s` (one direction), `topology` and `network` (in words,
/// or None).
///
/// >>> [(s["name"], s["scale_up_gb_s"]) for s in mlsim.systems()][:2]
/// [('hgx-b200-8', 900.0), ('hgx-h100-8', 450.0)]
#[pyfunction]
fn systems(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let entries = run(crate::systems::system_entries)?;
    serialize(py, &entries)
}

/// Load a system (chips in nodes, their link and network) by embedded
/// name (`mlsim.systems()`) or TOML path; a relative chip path in the
/// file is taken from the file's folder.
///
/// Raises `mlsim.SystemFileError` (a `ChipFileError`) for a bad file or a
/// chip it names that does not load, with the CLI's file:line:column,
/// field message.
///
/// >>> s = mlsim.system("hgx-h100-8")
/// >>> s.chip.name, s.chips, s.scale_up, s.scale_up_gb_s, s.topology
/// ('h100-sxm5', 8, 'NVLink 4', 450.0, 'switch')
#[pyfunction]
fn system(name_or_path: &Bound<'_, PyAny>) -> PyResult<PySystem> {
    let name = path_like(name_or_path)?;
    let system = run(|| crate::systems::load_system(&name))?;
    Ok(PySystem {
        system: Arc::new(system),
    })
}

/// One byte count: a number, or a string with a suffix (`"16KiB"`).
fn byte_count(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    if obj.cast::<PyString>().is_ok() {
        let s: String = obj.extract()?;
        return run(|| crate::systems::parse_bytes(&s));
    }
    if obj.cast::<PyFloat>().is_ok() || obj.cast::<PyInt>().is_ok() {
        let v: f64 = obj.extract()?;
        return run(|| crate::systems::check_bytes(v, &v.to_string()));
    }
    Err(PyValueError::new_err(format!(
        "expected a byte count (a number, or a string such as \"16KiB\"), got {obj}"
    )))
}

/// What a collective costs between the chips of a system (alpha-beta:
/// steps x latency + bytes / link bandwidth; ring or tree, the faster),
/// as `mlsim collective --format json`: `{"system", "fabric", "costs"}`
/// with one dict per size in `costs` (`algorithm`, `steps`, `latency_s`,
/// `transfer_s`, `time_s`, `algbw_bytes_per_s`, `busbw_bytes_per_s`...).
///
/// `op`: `all-reduce`, `all-gather`, `reduce-scatter` or `all-to-all`;
/// `bytes`: one size or a list, each a number or a string with a suffix
/// (KB, MB, GB in powers of 1000; KiB, MiB, GiB in powers of 1024);
/// `ranks`: the chips taking part (default: all of the system's).
///
/// >>> r = mlsim.collective("hgx-h100-8", "all-reduce", ["16KiB", "1GB"])
/// >>> [(c["algorithm"], round(c["time_s"] * 1e6, 1)) for c in r["costs"]]
/// [('tree', 6.1), ('ring', 3902.9)]
#[pyfunction]
#[pyo3(signature = (system, op, bytes, ranks=None))]
fn collective<'py>(
    py: Python<'py>,
    system: &Bound<'py, PyAny>,
    op: &str,
    bytes: &Bound<'py, PyAny>,
    ranks: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let system = system_arg(system)?;
    let sizes = if bytes.cast::<PyString>().is_ok()
        || bytes.cast::<PyFloat>().is_ok()
        || bytes.cast::<PyInt>().is_ok()
    {
        vec![byte_count(bytes)?]
    } else {
        let items = bytes.try_iter().map_err(|_| {
            PyValueError::new_err(format!(
                "bytes must be a byte count or a list of them, got {bytes}"
            ))
        })?;
        items
            .map(|b| byte_count(&b?))
            .collect::<PyResult<Vec<_>>>()?
    };
    let value = run(|| crate::systems::collective(&system, op, &sizes, ranks))?;
    json_to_py(py, &value)
}

/// The best way to serve a model on a system under latency limits
/// (`mlsim serve --format json`): precision scheme, tensor and pipeline
/// parallelism and batch, with TTFT, TPOT, end-to-end latency, tokens/s
/// (and per chip), KV capacity, joules per output token (chips with
/// `[power]`) and, given `usd_per_hour` (a chip-hour's price), dollars per
/// million output tokens. Returns `{"model", "system", "framework",
/// "limits", "best", "per_scheme"}` (`best`: None when nothing fits and
/// meets the limits).
///
/// Defaults are the CLI's: schemes bf16, fp8, w8a16, w4a16; 1024 prompt
/// and 256 output tokens; no latency limits; batches up to 1024; the
/// chips run a CUDA-graph engine (`cuda-graph`, `back-to-back`) unless
/// `framework` or `timing` is given. `model`: a name (models/) or a file;
/// `system`: a `System`, a name or a path.
///
/// >>> r = mlsim.serve("llama-3-70b", "hgx-h100-8", ttft_ms=500, tpot_ms=50, usd_per_hour=2.5)
/// >>> b = r["best"]; b["scheme"], b["parallelism"], b["batch"]
/// ('fp8', {'pp': 1, 'tp': 8}, 16)
#[pyfunction]
#[pyo3(signature = (model, system, *, schemes=None, prompt=1024, output=256, ttft_ms=None, tpot_ms=None, max_batch=1024, usd_per_hour=None, moe_imbalance=None, stack=None, framework=None, timing=None, host_floor_us=None))]
#[allow(clippy::too_many_arguments, reason = "the CLI's flags, as keywords")]
fn serve<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    system: &Bound<'py, PyAny>,
    schemes: Option<Vec<String>>,
    prompt: i64,
    output: i64,
    ttft_ms: Option<f64>,
    tpot_ms: Option<f64>,
    max_batch: i64,
    usd_per_hour: Option<f64>,
    moe_imbalance: Option<f64>,
    stack: Option<&Bound<'py, PyAny>>,
    framework: Option<&Bound<'py, PyAny>>,
    timing: Option<String>,
    host_floor_us: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let names = schemes.unwrap_or_else(|| {
        crate::systems::SERVE_SCHEMES
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    let options = crate::systems::ServeOptions {
        schemes: names
            .iter()
            .map(|s| self::scheme(s))
            .collect::<PyResult<Vec<_>>>()?,
        prompt,
        output,
        ttft_ms,
        tpot_ms,
        max_batch,
        usd_per_hour,
        setup: SetupOptions {
            stack: stack_source(stack)?,
            framework: stack_source(framework)?,
            timing,
            host_floor_us,
        },
    };
    run(|| crate::systems::check_serve_options(&options))?;
    let mut cfg = load_model(&path_like(model)?)?;
    if let Some(v) = moe_imbalance {
        cfg = cfg
            .with_moe_imbalance(v)
            .map_err(|e| PyValueError::new_err(format!("moe_imbalance: {e}")))?;
    }
    let system = system_arg(system)?;
    let value = run_detached(py, || crate::systems::serve(&cfg, &system, &options))?;
    json_to_py(py, &value)
}

/// The serving report (`mlsim validate-serving --format json`) of a path,
/// or of CSV text with the name it is shown by.
#[pyfunction]
#[pyo3(signature = (measurements, csv_text))]
fn _validate_serving<'py>(
    py: Python<'py>,
    measurements: &Bound<'py, PyAny>,
    csv_text: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let (shown, rows) = match csv_text {
        Some(text) => {
            let name = path_like(measurements).unwrap_or_else(|_| "<DataFrame>".into());
            let rows = run(|| {
                Ok(mlsim_calibrate::serving::parse_serving(
                    text.as_bytes(),
                    &name,
                )?)
            })?;
            (name, rows)
        }
        None => {
            let path = path_like(measurements)?;
            let rows = run(|| {
                Ok(mlsim_calibrate::serving::read_serving(
                    std::path::Path::new(&path),
                )?)
            })?;
            (path, rows)
        }
    };
    let value = run_detached(py, || crate::commands::serving_report(&rows, &shown))?;
    json_to_py(py, &value)
}

/// Suites on chips (`mlsim run SUITE --format json`): `{"suites": [{"suite",
/// "baseline", "results", "summaries"}, ...]}`, one entry per suite, each
/// with a result per chip and workload (chip outermost) and a summary per
/// chip; the first chip is the baseline.
///
/// `suite`: `llm`, `vision`, `scaling` or `all`. `chips`: Chips, preset
/// names or paths (default, as the CLI: xeon-sapphire-rapids, tpu-v5e,
/// apple-m2); `original=True` runs the original program's three chips
/// (cpu-avx512-desktop, npu-systolic, mobile-neon) on its model, as
/// `mlsim run --original` (not with `chips`).
///
/// >>> r = mlsim.run("llm", ["t4", "h100-sxm5"])
/// >>> [(s["hardware"], s["workloads"]) for s in r["suites"][0]["summaries"]]
/// [('t4', 6), ('h100-sxm5', 6)]
#[pyfunction(name = "run")]
#[pyo3(signature = (suite, chips=None, *, original=false))]
fn run_suite<'py>(
    py: Python<'py>,
    suite: &str,
    chips: Option<&Bound<'py, PyAny>>,
    original: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let chips = chips.filter(|c| !c.is_none());
    if original && chips.is_some() {
        return Err(PyValueError::new_err(
            "original=True runs the original's three chips: give no chips with it",
        ));
    }
    let setups: Vec<Setup> = match chips {
        None => {
            let names = if original {
                crate::commands::ORIGINAL_CHIPS
            } else {
                crate::commands::RUN_CHIPS
            };
            names
                .iter()
                .map(|n| run(|| core::load_setup(n, &SetupOptions::default())))
                .collect::<PyResult<_>>()?
        }
        Some(c) if c.cast::<PyChip>().is_ok() || c.cast::<PyString>().is_ok() => {
            vec![(*chip_arg(c)?).clone()]
        }
        Some(c) => {
            let items = c.try_iter().map_err(|_| {
                PyValueError::new_err(format!("chips must be a chip or a list of them, got {c}"))
            })?;
            items
                .map(|x| chip_arg(&x?).map(|s| (*s).clone()))
                .collect::<PyResult<_>>()?
        }
    };
    let value = run_detached(py, || crate::commands::run_suites(&setups, suite))?;
    json_to_py(py, &value)
}

/// Check a chip file (or preset) as `mlsim presets check FILE` does: load
/// it with its default setup and run the conformance suite (finite
/// positive runtimes, more work never faster, more bandwidth never slower,
/// no prediction above its roofline).
///
/// Returns `{"file", "name", "display_name", "predictions", "ok",
/// "violations": [{"law", "detail"}], "exempt": [{"law", "reason"}]}`
/// (`ok` False where a law is broken: the CLI's exit code 1). Raises
/// `mlsim.ChipFileError` with the CLI's file:line:column, field message for
/// an invalid file (its exit code 2).
///
/// >>> r = mlsim.check_chip("t4")
/// >>> r["ok"], r["name"]
/// (True, 't4')
#[pyfunction]
fn check_chip<'py>(py: Python<'py>, path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let file = path_like(path)?;
    let value = run_detached(py, || crate::commands::check_chip(&file))?;
    json_to_py(py, &value)
}

/// Check a stack or framework file (or name) as `mlsim stacks check FILE`
/// does: `{"file", "kind": "stack" | "framework", "name"}`; raises
/// `mlsim.ChipFileError` with the CLI's message for an invalid file.
///
/// >>> mlsim.check_stack("cuda-graph")
/// {'file': 'cuda-graph', 'kind': 'framework', 'name': 'cuda-graph'}
#[pyfunction]
fn check_stack<'py>(py: Python<'py>, path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let file = path_like(path)?;
    let value = run(|| crate::commands::check_stack(&file))?;
    json_to_py(py, &value)
}

/// Check a system file (or name) as `mlsim systems check FILE` does:
/// `{"file", "name", "chips"}`; raises `mlsim.SystemFileError` with the
/// CLI's message for an invalid file.
///
/// >>> mlsim.check_system("hgx-h100-8")
/// {'file': 'hgx-h100-8', 'name': 'hgx-h100-8', 'chips': 8}
#[pyfunction]
fn check_system<'py>(py: Python<'py>, path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let file = path_like(path)?;
    let value = run(|| crate::commands::check_system(&file))?;
    json_to_py(py, &value)
}

/// The JSON Schema of the chip-file format, as text (`mlsim presets
/// schema`, presets/chip.schema.json).
///
/// >>> json.loads(mlsim.chip_schema())["title"]
/// 'RawChip'
#[pyfunction]
fn chip_schema() -> PyResult<String> {
    run(|| Ok(crate::commands::chip_schema()))
}

/// The JSON Schema of the stack-file formats (kernel library or
/// framework), as text (`mlsim stacks schema`, stacks/stack.schema.json).
///
/// >>> json.loads(mlsim.stack_schema())["title"]
/// 'StackFile'
#[pyfunction]
fn stack_schema() -> PyResult<String> {
    run(|| Ok(crate::commands::stack_schema()))
}

/// Put the parts of a sharded sweep back together, as `mlsim merge OUT
/// PARTS...` does: the parts (written by `mlsim sweep --shard K/N --format
/// csv`) must be the N slices of one grid, each once, in any order. Writes
/// `out`, byte for byte the unsharded sweep's CSV, never over an existing
/// file unless `force=True`, and returns the number of rows. A missing,
/// repeated, foreign or truncated part raises `MeasurementError` with the
/// CLI's message, and nothing is written.
///
/// >>> mlsim.merge("sweep.csv", ["part-1.csv", "part-0.csv"])
/// 24
#[pyfunction]
#[pyo3(signature = (out, parts, force = false))]
fn merge(
    py: Python<'_>,
    out: std::path::PathBuf,
    parts: Vec<std::path::PathBuf>,
    force: bool,
) -> PyResult<u64> {
    run_detached(py, || {
        let shown = out.display().to_string();
        crate::calibrate::check_new(&shown, force, "results file")?;
        let checked = mlsim_calibrate::shards::check_parts(&parts).map_err(Error::Measurement)?;
        let mut bytes = Vec::new();
        mlsim_calibrate::shards::write_merged(&checked, &mut bytes)
            .map_err(|e| Error::Measurement(e.to_string()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Measurement("the parts are not UTF-8 text".into()))?;
        let rows = text.lines().count().saturating_sub(1) as u64;
        crate::calibrate::write_new(&shown, &text, force, "results file")?;
        Ok(rows)
    })
}

#[pymodule]
fn _mlsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ChipFileError", py.get_type::<ChipFileError>())?;
    m.add("SystemFileError", py.get_type::<SystemFileError>())?;
    m.add("MeasurementError", py.get_type::<MeasurementError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add_class::<PyChip>()?;
    m.add_class::<PyStack>()?;
    m.add_class::<PyWorkload>()?;
    m.add_class::<PyPrediction>()?;
    m.add_class::<PySystem>()?;
    m.add_function(wrap_pyfunction!(chip, m)?)?;
    m.add_function(wrap_pyfunction!(chips, m)?)?;
    m.add_function(wrap_pyfunction!(chip_names, m)?)?;
    m.add_function(wrap_pyfunction!(stack, m)?)?;
    m.add_function(wrap_pyfunction!(stacks, m)?)?;
    m.add_function(wrap_pyfunction!(matmul, m)?)?;
    m.add_function(wrap_pyfunction!(conv2d, m)?)?;
    m.add_function(wrap_pyfunction!(attention, m)?)?;
    m.add_function(wrap_pyfunction!(elementwise, m)?)?;
    m.add_function(wrap_pyfunction!(_sweep_columns, m)?)?;
    m.add_function(wrap_pyfunction!(_validate, m)?)?;
    m.add_function(wrap_pyfunction!(_crossover, m)?)?;
    m.add_function(wrap_pyfunction!(model, m)?)?;
    m.add_function(wrap_pyfunction!(recommend, m)?)?;
    m.add_function(wrap_pyfunction!(systems, m)?)?;
    m.add_function(wrap_pyfunction!(system, m)?)?;
    m.add_function(wrap_pyfunction!(collective, m)?)?;
    m.add_function(wrap_pyfunction!(serve, m)?)?;
    m.add_function(wrap_pyfunction!(_validate_serving, m)?)?;
    m.add_function(wrap_pyfunction!(_calibrate, m)?)?;
    m.add_function(wrap_pyfunction!(run_suite, m)?)?;
    m.add_function(wrap_pyfunction!(check_chip, m)?)?;
    m.add_function(wrap_pyfunction!(check_stack, m)?)?;
    m.add_function(wrap_pyfunction!(check_system, m)?)?;
    m.add_function(wrap_pyfunction!(chip_schema, m)?)?;
    m.add_function(wrap_pyfunction!(stack_schema, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    Ok(())
}
