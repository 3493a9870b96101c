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
``mlsim.SystemFileError``, a ``ChipFileError``. Measured serving runs
are scored with ``mlsim.validate_serving``, suites run with
``mlsim.run``, and files checked with ``mlsim.check_chip``,
``check_stack`` and ``check_system``.
"""

from __future__ import annotations

import io
import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union

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
    _calibrate,
    _crossover,
    _sweep_columns,
    _validate,
    _validate_serving,
    attention,
    check_chip,
    check_stack,
    check_system,
    chip,
    chip_names,
    chip_schema,
    chips,
    collective,
    conv2d,
    elementwise,
    matmul,
    merge,
    model,
    recommend,
    run,
    serve,
    stack,
    stack_schema,
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
    "calibrate",
    "check_chip",
    "check_stack",
    "check_system",
    "chip",
    "chip_names",
    "chip_schema",
    "merge",
    "chips",
    "collective",
    "conv2d",
    "crossover",
    "elementwise",
    "matmul",
    "model",
    "recommend",
    "run",
    "serve",
    "stack",
    "stack_schema",
    "stacks",
    "sweep",
    "system",
    "systems",
    "validate",
    "validate_serving",
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
    shard: Optional[Tuple[int, int]] = None,
    columns: Optional[Sequence[str]] = None,
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

    ``shard=(k, n)`` keeps the k-th (from 0) of n contiguous slices of the
    grid, the rows ``mlsim sweep --shard K/N --format csv`` writes (points
    ``k * total // n`` up to ``(k + 1) * total // n``). The whole grid is
    predicted and then cut: from Python a shard saves no prediction time,
    it gives an array job the same rows as the CLI's part file.

    ``columns=["hardware", "m", "runtime_ms", ...]`` keeps only those
    columns, in that order (as ``mlsim sweep --columns``; the names are the
    ones above, those of ``--format parquet``), and makes no other: a name
    the sweep does not have, or a name given twice, is a ValueError that
    lists the sweep's columns.

    >>> cols = mlsim.sweep("t4", [256, 4096], ["fp32", "fp16"], output="dict")
    >>> cols["runtime_ms"][:2]
    >>> part = mlsim.sweep("t4", [256, 4096], ["fp32", "fp16"], output="dict", shard=(1, 3))
    >>> part["m"], part["dtype"]
    ([256], ['fp16'])
    >>> mlsim.sweep("t4", [256], ["fp16"], output="dict", columns=["dtype", "runtime_ms"]).keys()
    dict_keys(['dtype', 'runtime_ms'])
    """
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(_OUTPUTS)}, got {output!r}")
    if shard is not None:
        try:
            k, n = shard
            ok = isinstance(k, int) and isinstance(n, int) and 0 <= k < n
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"shard must be (k, n) with 0 <= k < n, such as (0, 4), got {shard!r}")
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
    if columns is not None:
        columns = [columns] if isinstance(columns, str) else list(columns)
        if not columns:
            raise ValueError("columns: name at least one column, such as ['hardware', 'm', 'runtime_ms']")
    arrays = output in ("arrays", "pandas", "polars")
    cols = _sweep_columns(chips_, list(shapes), list(dtypes), arrays, columns)
    if columns is not None:
        cols = {name: cols[name] for name in columns}
    if shard is not None:
        total = len(next(iter(cols.values())))
        start, end = shard[0] * total // shard[1], (shard[0] + 1) * total // shard[1]
        cols = {key: v[start:end] for key, v in cols.items()}
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


_SERVING_COLUMNS = (
    "model", "hardware", "num_gpus", "precision", "tp", "pp", "engine", "engine_version",
    "batch_or_concurrency", "input_len", "output_len", "metric", "value", "unit",
)


def _serving_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """CSV text of serving rows given as dicts (missing keys are empty)."""
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_SERVING_COLUMNS)
    for r in rows:
        if not isinstance(r, Mapping):
            raise ValueError(f"serving rows must be dicts with the columns {', '.join(_SERVING_COLUMNS)}, "
                             f"got {type(r).__name__}")
        w.writerow(["" if r.get(c) is None else r.get(c) for c in _SERVING_COLUMNS])
    return buf.getvalue()


def validate_serving(measurements: Any) -> dict:
    """Score measured LLM serving runs against ``mlsim.serve``'s predictions
    (``mlsim validate-serving --format json``).

    ``measurements`` is a path to a serving CSV (results/README.md,
    "Serving measurements": ``model, hardware, num_gpus, precision, tp, pp,
    engine, engine_version, batch_or_concurrency, input_len, output_len,
    metric, value, unit``), a pandas or polars DataFrame with those columns,
    or a list of dicts, one per row (a row's line is then its place in
    that table, counted from 2 as if the header were line 1).

    Returns ``{"measurements", "cases", "by_metric"}``: per row its
    ``row``, ``predicted``, ``error_pct`` and, for a row the model cannot
    represent, ``unrepresented`` (the reason; the row is listed, never
    dropped); per metric the points, MAPE and bias over the predicted rows.

    Raises ``mlsim.MeasurementError`` with the CLI's file:line: row, column
    message for a bad file.

    >>> rows = [dict(model="llama-3-70b", hardware="h100-sxm5", num_gpus=8, precision="fp8", tp=8, pp=1,
    ...              engine="vLLM", batch_or_concurrency=16, input_len=1024, output_len=256,
    ...              metric="tpot_ms", value=8.0, unit="ms")]  # synthetic, not a measurement
    >>> r = mlsim.validate_serving(rows)
    >>> r["cases"][0]["predicted"], r["by_metric"][0]["metric"]
    """
    if isinstance(measurements, (list, tuple)):
        return _validate_serving("<rows>", _serving_csv(measurements))
    return _validate_serving(measurements, _csv_of(measurements))


def calibrate(
    chip: Union[Chip, str, Sequence[Union[Chip, str]]],
    measurements: Any,
    *,
    name: Optional[str] = None,
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    out_chip: Optional[Union[str, "os.PathLike[str]"]] = None,
    force: bool = False,
    params: Optional[Union[str, Sequence[str]]] = None,
    host_floor_from_smallest: bool = False,
) -> dict:
    """Fit a software stack's free parameters (a chip's, on the original's model) to measurements,
    as ``mlsim calibrate`` does.

    ``chip`` and ``measurements`` are as in ``mlsim.validate`` (one chip for all files or one per
    file; paths or DataFrames in the results format). ``params`` is the CLI's ``--params`` (a
    comma-separated string or a list: ``efficiency``, ``efficiency.<dtype>``, ``launch``,
    ``overhead``, ``fixed``, ``memory``, ``clock.<dtype>``, ``launch.<dtype>``); by default each
    measured dtype's efficiency, its kernel tiles and split K and the host terms the CLI fits.

    Returns ``{"parameters": [{"parameter", "before", "fitted"}], "tiles", "split_k",
    "in_sample": {"points", "mape_pct", "median_ape_pct"}, "cv" (leave-one-size-out, or
    leave-one-chip-out over several chips; None when not computed), "notes", "stack_toml",
    "chip_toml", "written"}``: ``stack_toml`` is the calibrated stack file the CLI writes to
    ``--out`` (a GPU chip; None when the fit changes nothing in it), ``chip_toml`` the chip file
    (``--out`` on the original's model, ``--out-chip`` for chip-level values on a GPU chip).

    Nothing is written unless ``out`` (and ``out_chip``) is given; an existing file is not
    replaced unless ``force=True`` (checked before fitting). The file's name inside is its file
    name (``out="my-fit.toml"``: ``my-fit``), or ``name`` when nothing is written (default
    ``calibrated``). The recorded date is today's, or ``SOURCE_DATE_EPOCH``'s.

    Raises ``mlsim.MeasurementError`` for a bad table or a fit the files cannot support,
    ``mlsim.ChipFileError`` for a bad chip and ``ValueError`` for bad arguments or an existing
    file.

    >>> r = mlsim.calibrate("t4-seed", "results/t4-colab-matmul.csv")
    >>> [(p["parameter"], p["fitted"]) for p in r["parameters"]][:2]
    >>> r["in_sample"]["mape_pct"] < r["cv"]["mape_pct"]
    >>> r = mlsim.calibrate("h200", "results/h200-torch-square.csv", host_floor_from_smallest=True,
    ...                     out="my-hopper.toml")
    >>> r["written"]
    ['my-hopper.toml']
    """
    files = list(measurements) if isinstance(measurements, (list, tuple)) else [measurements]
    chips_ = [chip] if isinstance(chip, (Chip, str, os.PathLike)) else list(chip)
    if params is not None and not isinstance(params, str):
        params = ",".join(params)
    return _calibrate(chips_, files, [_csv_of(m) for m in files], name, out, out_chip, force, params,
                      host_floor_from_smallest)
