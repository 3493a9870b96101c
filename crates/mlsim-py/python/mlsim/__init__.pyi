"""Type stubs of the mlsim package (the Rust engine of the ``mlsim`` CLI)."""

import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

_Path = Union[str, "os.PathLike[str]"]
_Shape = Union[int, str, Tuple[int, int, int]]

class ChipFileError(ValueError):
    """A bad chip, stack or framework file or name (file:line:column, field)."""

class SystemFileError(ChipFileError):
    """A bad system file or name, or the chip it names (file:line:column, field)."""

class MeasurementError(ValueError):
    """A bad measurement file or table (file:line, row, column)."""

class InternalError(RuntimeError):
    """A bug in mlsim (a caught Rust panic)."""

class Stack:
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def source(self) -> str: ...

class Workload:
    @property
    def name(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def flops(self) -> float: ...
    @property
    def bytes(self) -> float: ...
    @property
    def arithmetic_intensity(self) -> float: ...
    def with_dtype(self, dtype: str) -> Workload: ...

class Prediction:
    workload: str
    op: str
    hardware: str
    stack: str
    framework: str
    timing: Optional[str]
    dtype: str
    model: str
    native: bool
    bottleneck: str
    serving_level: Optional[str]
    serving_level_index: Optional[int]
    flops: float
    bytes: float
    arithmetic_intensity: float
    runtime_ms: float
    compute_ms: float
    memory_ms: float
    launch_ms: float
    kernel_ms: float
    kernel_floor_ms: float
    conversion_ms: float
    dram_bytes: float
    compute_utilization: float
    achieved_tflops: float
    effective_tflops: float
    tiling_efficiency: float
    hit_rate: float
    memory_ms_by_level: Dict[str, float]
    model_terms: Dict[str, Union[int, float]]
    def __getattr__(self, name: str) -> Union[int, float]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class Chip:
    name: str
    display_name: str
    kind: str
    model: str
    stack: str
    framework: str
    timing: Optional[str]
    peak_tflops: Dict[str, float]
    memory_bandwidth_gb_s: float
    memory_levels: List[Dict[str, Any]]
    dtypes: List[str]
    def with_setup(
        self,
        *,
        stack: Union[None, str, Stack] = None,
        framework: Union[None, str, Stack] = None,
        timing: Optional[str] = None,
        host_floor_us: Optional[float] = None,
    ) -> Chip: ...
    def predict(self, workload: Workload) -> Prediction: ...
    def predict_many(self, workloads: Sequence[Workload]) -> List[Prediction]: ...

class System:
    name: str
    display_name: str
    chip: Chip
    chips_per_node: int
    nodes: int
    chips: int
    scale_up: str
    scale_up_gb_s: float
    scale_up_latency_us: float
    scale_up_links: Optional[int]
    topology: str
    network: Optional[Dict[str, Any]]
    sources: List[str]
    def to_dict(self) -> Dict[str, Any]: ...

def chip(
    name_or_path: _Path,
    *,
    stack: Union[None, _Path, Stack] = None,
    framework: Union[None, _Path, Stack] = None,
    timing: Optional[str] = None,
    host_floor_us: Optional[float] = None,
) -> Chip: ...
def chips() -> List[Dict[str, Any]]: ...
def chip_names() -> List[str]: ...
def stack(name_or_path: _Path) -> Stack: ...
def stacks() -> List[str]: ...
def matmul(m: int, n: int, k: int, dtype: str = "fp32") -> Workload: ...
def conv2d(
    c_in: int,
    h: int,
    c_out: int,
    kernel: int,
    *,
    batch: int = 1,
    w: Optional[int] = None,
    stride: int = 1,
    padding: int = 0,
    dtype: str = "fp32",
) -> Workload: ...
def attention(
    heads: int, seq: int, head_dim: int, *, batch: int = 1, causal: bool = False, dtype: str = "fp32"
) -> Workload: ...
def elementwise(n: int, kind: str = "gelu", dtype: str = "fp32") -> Workload: ...
def sweep(
    chip: Union[Chip, _Path, Sequence[Union[Chip, _Path]]],
    shapes: Iterable[_Shape],
    dtypes: Iterable[str] = ...,
    *,
    output: str = "auto",
    shard: Optional[Tuple[int, int]] = None,
    columns: Optional[Sequence[str]] = None,
) -> Any: ...
def validate(
    chip: Union[Chip, _Path, Sequence[Union[Chip, _Path]]],
    measurements: Any,
    *,
    cv: str = "loso",
    host_floor_from_smallest: bool = False,
) -> Dict[str, Any]: ...
def crossover(
    chip: Union[Chip, _Path],
    workload: Optional[Workload] = None,
    *,
    measurements: Any = None,
    family: str = "square",
    fixed_n: int = 4096,
    fixed_k: int = 4096,
    from_size: int = 16,
    to_size: int = 16384,
) -> Dict[str, Any]: ...
def model(
    chip: Union[Chip, _Path], model: str, phase: str, *, seq: int, batch: int = 1, scheme: str = "w16a16"
) -> Dict[str, Any]: ...
def recommend(
    chip: Union[Chip, _Path],
    model: Optional[str] = None,
    *,
    suite: Optional[str] = None,
    phase: str = "decode",
    seq: int = 1,
    batch: int = 1,
    schemes: Optional[Sequence[str]] = None,
    max_batch: int = 1024,
    usd_per_hour: Optional[float] = None,
) -> Union[Dict[str, Any], List[Dict[str, Any]]]: ...
def systems() -> List[Dict[str, Any]]: ...
def system(name_or_path: _Path) -> System: ...
def collective(
    system: Union[System, _Path],
    op: str,
    bytes: Union[int, float, str, Sequence[Union[int, float, str]]],
    ranks: Optional[int] = None,
) -> Dict[str, Any]: ...
def serve(
    model: _Path,
    system: Union[System, _Path],
    *,
    schemes: Optional[Sequence[str]] = None,
    prompt: int = 1024,
    output: int = 256,
    ttft_ms: Optional[float] = None,
    tpot_ms: Optional[float] = None,
    max_batch: int = 1024,
    usd_per_hour: Optional[float] = None,
    moe_imbalance: Optional[float] = None,
    stack: Union[None, _Path, Stack] = None,
    framework: Union[None, _Path, Stack] = None,
    timing: Optional[str] = None,
    host_floor_us: Optional[float] = None,
) -> Dict[str, Any]: ...
def validate_serving(measurements: Union[_Path, Any, Sequence[Dict[str, Any]]]) -> Dict[str, Any]: ...
def run(
    suite: str,
    chips: Union[None, Chip, _Path, Sequence[Union[Chip, _Path]]] = None,
    *,
    original: bool = False,
) -> Dict[str, Any]: ...
def check_chip(path: _Path) -> Dict[str, Any]: ...
def check_stack(path: _Path) -> Dict[str, Any]: ...
def check_system(path: _Path) -> Dict[str, Any]: ...
def chip_schema() -> str: ...
def stack_schema() -> str: ...
def merge(out: _Path, parts: Sequence[_Path], force: bool = False) -> int: ...
def calibrate(
    chip: Union[Chip, _Path, Sequence[Union[Chip, _Path]]],
    measurements: Any,
    *,
    name: Optional[str] = None,
    out: Optional[_Path] = None,
    out_chip: Optional[_Path] = None,
    force: bool = False,
    params: Union[None, str, Sequence[str]] = None,
    host_floor_from_smallest: bool = False,
) -> Dict[str, Any]: ...
