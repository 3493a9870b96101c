"""mlsim: predict how fast ML kernels run on a chip, per dtype, from its datasheet.

The Rust engine of the ``mlsim`` command-line tool, with the same numbers::

    import mlsim
    t4 = mlsim.chip("t4")
    p = t4.predict(mlsim.matmul(4096, 4096, 4096, "fp16"))
    print(p.runtime_ms, p.bottleneck, p.to_dict()["achieved_tflops"])
    df = mlsim.sweep(t4, [256, 1024, 4096], ["fp32", "fp16", "int8"])

Chips are preset names (``mlsim.chip_names()``; ``mlsim.chips()``
describes each) or TOML files; errors in them
raise ``mlsim.ChipFileError`` naming file, line:column and field, as the
CLI does. Systems (chips in nodes, their links: ``mlsim.systems()``,
``mlsim.system(name)``) price collectives (``mlsim.collective``) and
serving (``mlsim.serve``); a bad system file raises
``mlsim.SystemFileError``, a ``ChipFileError``.
"""

from __future__ import annotations

import io
import os
from typing import Any, Iterable, Optional, Sequence, Union

from ._mlsim import (  # noqa: F401
    Chip,
    ChipFileError,
    InternalError,
    MeasurementError,
    Prediction,
    Stack,
    System,
    SystemFileError,
    Workload,
    _crossover,
    _sweep_columns,
    _validate,
    attention,
    chip,
    chip_names,
    chips,
    collective,
    conv2d,
    elementwise,
    matmul,
    model,
    recommend,
    serve,
    stack,
    stacks,
    system,
    systems,
)

__all__ = [
    "Chip",
    "ChipFileError",
    "InternalError",
    "MeasurementError",
    "Prediction",
    "Stack",
    "System",
    "SystemFileError",
    "Workload",
    "attention",
    "chip",
    "chip_names",
    "chips",
    "collective",
    "conv2d",
    "crossover",
    "elementwise",
    "matmul",
    "model",
    "recommend",
    "serve",
    "stack",
    "stacks",
    "sweep",
    "system",
    "systems",
    "validate",
]

_OUTPUTS = ("auto", "dict", "arrays", "pandas", "polars")


def _import(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        return None


def sweep(
    chip: Union[Chip, str, Sequence[Union[Chip, str]]],
    shapes: Iterable[Union[int, str, Sequence[int]]],
    dtypes: Iterable[str] = ("fp32", "fp16", "bf16", "int8"),
    *,
    output: str = "auto",
) -> Any:
    """Predict a grid of GEMMs: chips x shapes x dtypes, chip outermost (``mlsim sweep``).

    ``chip`` is a Chip, a preset name or path, or a list of them; ``shapes``
    are sizes ``N`` (N x N x N), tuples ``(m, n, k)`` or strings ``"MxNxK"``.
    The grid is predicted in parallel with the GIL released.

    Returns the columns of ``mlsim sweep --format csv`` (``m, n, k,
    workload, ..., runtime_ms, ..., bottleneck`` and the model's own terms),
    with memory time per level as one column per level
    (``memory_ms_L2``, ...; None where a chip has no such level):

    - ``output="auto"`` (default): a polars DataFrame if polars is
      installed, else a pandas DataFrame if pandas is, else a dict of lists;
    - ``"dict"``: a dict of lists; ``"arrays"``: a dict whose numeric
      columns are ``array.array`` (fastest, no per-value objects);
    - ``"pandas"`` / ``"polars"``: that DataFrame (ImportError without it).

    >>> cols = mlsim.sweep("t4", [256, 4096], ["fp32", "fp16"], output="dict")
    >>> cols["runtime_ms"][:2]
    """
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(_OUTPUTS)}, got {output!r}")
    chips_ = [chip] if isinstance(chip, (Chip, str, os.PathLike)) else list(chip)
    if isinstance(dtypes, str):
        dtypes = [dtypes]
    if isinstance(shapes, (int, str)):
        shapes = [shapes]
    if output == "auto":
        if _import("polars") is not None:
            output = "polars"
        elif _import("pandas") is not None:
            output = "pandas"
        else:
            output = "dict"
    arrays = output in ("arrays", "pandas", "polars")
    cols = _sweep_columns(chips_, list(shapes), list(dtypes), arrays)
    if output in ("dict", "arrays"):
        return cols
    np = _import("numpy")
    if np is not None:
        cols = {
            k: (np.frombuffer(v, dtype=np.float64 if v.typecode == "d" else np.int64)
                if hasattr(v, "typecode") else v)
            for k, v in cols.items()
        }
    if output == "pandas":
        import pandas

        return pandas.DataFrame(cols)
    import polars

    return polars.DataFrame(cols)


def _csv_of(measurements: Any) -> Optional[str]:
    """A DataFrame's CSV text (None for a path)."""
    if isinstance(measurements, (str, os.PathLike)):
        return None
    if hasattr(measurements, "write_csv"):  # polars
        return measurements.write_csv()
    if hasattr(measurements, "to_csv"):  # pandas
        buf = io.StringIO()
        measurements.to_csv(buf, index=False)
        return buf.getvalue()
    raise ValueError(
        "measurements must be a path or a pandas or polars DataFrame in the results format "
        f"(results/README.md), got {type(measurements).__name__}"
    )


def validate(
    chip: Union[Chip, str, Sequence[Union[Chip, str]]],
    measurements: Any,
    *,
    cv: str = "loso",
    host_floor_from_smallest: bool = False,
) -> dict:
    """Compare a chip's predictions with measurements (``mlsim validate --format json``).

    ``measurements`` is a path to a CSV file in the results format
    (results/README.md), a pandas or polars DataFrame with its columns, or
    a list of them; ``chip`` is one chip for all files, or a list with one
    per file in the same order (the CLI's repeated ``--hw`` and
    ``--measurements``). Each file is predicted with its chip's stack,
    framework, timing and host floor (``mlsim.chip(..., stack=...)``).

    ``cv="loso"`` (the CLI's default) also fits the stack leaving one size
    out; ``"chip"`` also fits it on every chip but one and predicts that one
    (files of two or more chips on one stack); ``"none"`` scores the chips
    as given only. With ``host_floor_from_smallest`` a file without a
    measured host floor gets one read off its smallest size.

    Returns the report of one file, or ``{"files": [report, ...]}`` for
    several, as the CLI prints them.

    Raises ``mlsim.MeasurementError`` (file:line: row, column, as the CLI)
    for a bad table or an analysis the files cannot support, and
    ``mlsim.ChipFileError`` for a bad chip.

    >>> r = mlsim.validate("t4-seed", "results/t4-colab-matmul.csv", cv="none")
    >>> r["mape_pct"], r["verdicts_correct"], r["verdicts_total"]
    >>> hopper = [mlsim.chip(c, stack="cublas-hopper") for c in ("h100-sxm5", "h200")]
    >>> r = mlsim.validate(hopper, ["results/h100-torch-square.csv", "results/h200-torch-square.csv"],
    ...                    cv="chip", host_floor_from_smallest=True)
    >>> [(f["hardware"], f["loco_mape_pct"]) for f in r["files"]]
    """
    files = list(measurements) if isinstance(measurements, (list, tuple)) else [measurements]
    chips_ = [chip] if isinstance(chip, (Chip, str, os.PathLike)) else list(chip)
    return _validate(chips_, files, [_csv_of(m) for m in files], cv, host_floor_from_smallest)


def crossover(
    chip: Union[Chip, str],
    workload: Optional[Workload] = None,
    *,
    measurements: Any = None,
    family: str = "square",
    fixed_n: int = 4096,
    fixed_k: int = 4096,
    from_size: int = 16,
    to_size: int = 16384,
) -> dict:
    """Where each dtype starts to beat fp32 (``mlsim crossover --format json``).

    Returns ``{"hardware", "family", "crossovers", "original_formula",
    "analysis"}``: per dtype the original's formula, the roofline closed form
    and the model's search over sizes ``from_size..to_size`` of ``family``
    (``"square"`` N x N x N, or ``"m"``: M x fixed_n x fixed_k), with the
    measured crossover when ``measurements`` are given; and each dtype's
    adjusted runtime against fp32 for ``workload`` (default: the original's
    six workloads).

    >>> x = mlsim.crossover("t4-seed")
    >>> [(r["dtype"], r["speedup_vs_fp32"]) for r in x["analysis"]][:3]
    """
    csv = None if measurements is None else _csv_of(measurements)
    return _crossover(chip, workload, measurements, csv, family, fixed_n, fixed_k, from_size, to_size)
