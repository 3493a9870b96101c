#!/usr/bin/env python3
"""gemm_bench.py - measure GEMM runtimes per dtype with PyTorch, on CUDA or CPU.

Method
------
This is the method of the original paper's Colab notebook (torch.mm /
torch._int_mm timed with CUDA events, 20 warm-up + 100 timed iterations, mean),
made general:

* Problem: C(m, n) = A(m, k) @ B(k, n).  Square sizes (``--sizes N``: m = n = k
  = N) and/or arbitrary shapes (``--shapes MxNxK``).
* Kernels per dtype:
    fp32      torch.mm on float32 with TF32 disabled
              (torch.backends.cuda.matmul.allow_tf32 = False)
    tf32      torch.mm on float32 with allow_tf32 = True (CUDA, cc >= 8.0);
              the flag is set per point and restored afterwards
    fp16      torch.mm on float16
    bf16      torch.mm on bfloat16
    int8      torch._int_mm, int8 inputs, int32 output (on CUDA: m > 16 and
              k, n multiples of 8)
    fp8_e4m3  torch._scaled_mm on float8_e4m3fn inputs, B column-major,
              tensor-wise float32 scales of 1.0, bf16 output (CUDA: compute
              capability >= 8.9, m, n, k multiples of 16)
  A dtype that the device or the torch build cannot run is skipped with a
  one-line reason on stderr; so is every (shape, dtype) point that fails (an
  out-of-memory error, an unsupported shape, ...).  The run goes on and exits 0.
* Before the first point of each dtype, a 32x32x32 probe checks that the
  kernel runs (trying B row-major, then column-major; for fp8 a few scale
  shapes, as torch versions differ), and measures its relative error against
  a float64 GEMM of the same inputs (written as a "# probe:" line; a warning
  if it is implausibly large, or if tf32 gives exactly the fp32 result).
* Inputs are random, never zeros: torch.randn cast to the dtype for floats,
  torch.randint(-128, 128) for int8, from a generator seeded with ``--seed``.
* Timing: per point, two untimed calls (the first pays one-time costs, the
  second estimates the cost of one call), ``--warmup`` warm-up calls, then
  ``--reps`` timed calls.  On CUDA each timed
  call sits between its own pair of CUDA events (record start, op, record end);
  the device is synchronised once after the loop and elapsed_time is read for
  every iteration.  On CPU each call is timed with time.perf_counter_ns.
  Mean, median and sample standard deviation are reported in milliseconds.
* ``--max-seconds-per-point`` (default 10): when one call is so slow that the
  warm-up and timed calls would take longer, the numbers of warm-up calls and
  timed calls are lowered (at least 5 timed calls) and the method column
  says so.  A point whose single call, extrapolated by FLOPs from the largest
  point of the same dtype measured so far, would take over 10x the limit is
  skipped (this keeps CPU sweeps of big sizes from running for hours).
* ``--cold-l2``: the operands rotate over enough distinct (A, B) buffer sets
  that their total size exceeds twice the L2 cache (CUDA:
  device properties' L2_cache_size, else 50 MiB; CPU: the largest cache in
  /sys, else 50 MiB), so each timed call reads operands that are not in cache.
  The sets are capped to about 25% of the free memory.

Output
------
A human table on stdout as the run goes, and with ``--out FILE`` a CSV in the
mlsim measurement format (see results/README.md): provenance comment lines
starting with "# " (device, driver, torch, CUDA, cuDNN, compute capability,
clocks before and after the run, CPU, date, command, python, method, probe
errors, skipped points), then the header

  hardware,op,m,n,k,dtype,runtime_ms,tflops,method,source,notes,median_ms,mean_ms,stdev_ms,warmup,reps,timing,framework

and one row per measured point.  runtime_ms is the statistic chosen with
``--stat`` (mean by default, as the original); tflops = 2*m*n*k / runtime (for
int8 these are tera integer operations per second).  No field contains a comma,
so no field is quoted.  Rows are appended to FILE.partial as they are measured;
the complete FILE is written at the end and FILE.partial removed, so a run that
dies part-way still leaves its rows behind.

Only torch and the standard library are needed; Python 3.9 or newer.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

SOURCE = "experiments/gemm_bench.py"
DTYPES = ("fp32", "tf32", "fp16", "bf16", "int8", "fp8_e4m3")
DTYPE_ALIASES = {
    "float32": "fp32",
    "float": "fp32",
    "float16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "fp8": "fp8_e4m3",
    "e4m3": "fp8_e4m3",
    "float8_e4m3fn": "fp8_e4m3",
    "fp8_e4m3fn": "fp8_e4m3",
}
DEFAULT_SIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
CSV_COLUMNS = (
    "hardware", "op", "m", "n", "k", "dtype", "runtime_ms", "tflops", "method",
    "source", "notes", "median_ms", "mean_ms", "stdev_ms", "warmup", "reps",
    "timing", "framework",
)
# Every call is timed on its own (a pair of CUDA events, or perf_counter on
# the CPU) from Python through PyTorch: mlsim's `per-call` timing with the
# `pytorch-eager` framework (results/README.md).
TIMING = "per-call"
FRAMEWORK = "pytorch-eager"
DEFAULT_CACHE_BYTES = 50 * 1024 * 1024
PROBE_SHAPE = (32, 32, 32)  # satisfies the int8 and fp8 shape rules on CUDA
MIB = 1024.0 * 1024.0
GIB = 1024.0 * MIB

torch = None  # imported in main(), after argument parsing, so --help needs no torch


# ----------------------------------------------------------------- arguments

def parse_dtype_list(text):
    """'fp16' or 'fp16,BF16' -> ['fp16', 'bf16']; '-' may stand for '_'."""
    out = []
    for part in text.split(","):
        key = part.strip().lower().replace("-", "_")
        if not key:
            continue
        key = DTYPE_ALIASES.get(key, key)
        if key not in DTYPES:
            raise argparse.ArgumentTypeError(
                "unknown dtype %r (choose from %s)" % (part, ", ".join(DTYPES)))
        out.append(key)
    if not out:
        raise argparse.ArgumentTypeError("empty dtype %r" % text)
    return out


def parse_size(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("size %r is not an integer" % text)
    if value <= 0:
        raise argparse.ArgumentTypeError("size %r must be positive" % text)
    return value


_SHAPE_RE = re.compile(r"^\s*(\d+)\s*[xX*]\s*(\d+)\s*[xX*]\s*(\d+)\s*$")


def parse_shape(text):
    """'MxNxK' -> (m, n, k): C(m,n) = A(m,k) @ B(k,n)."""
    match = _SHAPE_RE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            "shape %r is not MxNxK (e.g. 4096x1x4096)" % text)
    m, n, k = (int(g) for g in match.groups())
    if min(m, n, k) <= 0:
        raise argparse.ArgumentTypeError("shape %r: m, n, k must be positive" % text)
    return (m, n, k)


def parse_nonneg_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % text)
    if value < 0:
        raise argparse.ArgumentTypeError("%r must be >= 0" % text)
    return value


def parse_pos_int(text):
    value = parse_nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("%r must be >= 1" % text)
    return value


def parse_seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("%r must be a number >= 0" % text)
    return value


def parse_device(text):
    key = text.strip().lower()
    if not re.match(r"^(cpu|cuda(:\d+)?)$", key):
        raise argparse.ArgumentTypeError(
            "device %r is not cpu, cuda or cuda:N" % text)
    return key


EPILOG = """\
examples:
  # full default sweep (sizes 32..8192, all dtypes) on the GPU, CSV for mlsim
  python3 gemm_bench.py --out results/my-gpu-square.csv

  # the same with cold L2 (operands rotate over buffers > 2x L2)
  python3 gemm_bench.py --cold-l2 --out results/my-gpu-square-coldl2.csv

  # LLM-style shapes (MxNxK; C(m,n) = A(m,k) @ B(k,n)) in fp16 and bf16
  python3 gemm_bench.py --shapes 4096x1x4096 512x4096x11008 --dtypes fp16 bf16

  # a quick CPU run with small sizes and fewer iterations
  python3 gemm_bench.py --device cpu --sizes 64 128 256 --dtypes fp32 bf16 \\
      --warmup 2 --reps 10 --out /tmp/cpu.csv

dtypes: fp32, tf32, fp16, bf16, int8, fp8_e4m3 (case-insensitive, '-' may be
written for '_', comma-separated lists accepted; aliases: float32, float16,
half, bfloat16, fp8, e4m3, float8_e4m3fn).  A dtype the device or torch build
cannot run, and a shape a kernel does not accept, is skipped with a one-line
reason on stderr; a summary of skipped points is printed at the end.

exit status: 0 when the run finished (even with skipped points), 1 when torch
cannot be imported, 2 on bad arguments (including --device cuda without a
usable CUDA device), 130 on Ctrl-C (the rows measured so far are written).
"""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gemm_bench.py",
        description=("Benchmark GEMM (C = A @ B) runtimes per dtype with PyTorch "
                     "(torch.mm / torch._int_mm / torch._scaled_mm), timed with "
                     "CUDA events (or perf_counter on CPU), and write them in "
                     "mlsim's measurement CSV format."),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes", nargs="+", type=parse_size, metavar="N",
        help=("square sizes, m = n = k = N (default when --shapes is not given: "
              + " ".join(str(s) for s in DEFAULT_SIZES) + ")"))
    parser.add_argument(
        "--shapes", nargs="+", type=parse_shape, metavar="MxNxK",
        help="arbitrary shapes MxNxK, C(m,n) = A(m,k) @ B(k,n), e.g. 4096x1x4096")
    parser.add_argument(
        "--dtypes", nargs="+", type=parse_dtype_list, metavar="DTYPE",
        help="dtypes to measure (default: all of %s)" % " ".join(DTYPES))
    parser.add_argument(
        "--device", type=parse_device, default=None, metavar="cuda|cpu",
        help="cuda, cuda:N or cpu (default: cuda if torch sees one, else cpu)")
    parser.add_argument(
        "--warmup", type=parse_nonneg_int, default=20, metavar="W",
        help="untimed warm-up calls per point (default 20)")
    parser.add_argument(
        "--reps", type=parse_pos_int, default=100, metavar="R",
        help="timed calls per point (default 100)")
    parser.add_argument(
        "--stat", choices=("mean", "median"), default="mean",
        help="statistic written as runtime_ms (default mean, as the original)")
    parser.add_argument(
        "--cold-l2", action="store_true",
        help=("rotate over enough distinct operand buffer sets (> 2x the L2 "
              "cache, capped at ~25%% of free memory) that every call reads "
              "cold operands (default: warm L2, same buffers every call)"))
    parser.add_argument(
        "--max-seconds-per-point", type=parse_seconds, default=10.0, metavar="S",
        help=("if warm-up + timed calls of one point would take longer than S "
              "seconds, use fewer of them (at least 5 timed calls) and say so; "
              "a point whose single call, extrapolated by FLOPs from the largest "
              "measured point of the same dtype, would exceed 10*S is skipped; "
              "0 disables the guard (default 10)"))
    parser.add_argument(
        "--seed", type=int, default=0,
        help="seed of the random input generator (default 0)")
    parser.add_argument(
        "--out", metavar="FILE", default=None,
        help=("write the CSV here (parent folders are created); without it "
              "only the table on stdout is printed"))
    return parser


# ----------------------------------------------------------------- utilities

def warn(msg):
    print(msg, file=sys.stderr, flush=True)


def short_error(exc):
    """First line of an exception, without commas-related surprises, <= 200 chars."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    out = "%s: %s" % (type(exc).__name__, first)
    return out if len(out) <= 200 else out[:197] + "..."


def clean_field(value):
    """CSV fields never contain commas, quotes or newlines."""
    text = str(value)
    for bad, good in ((",", ";"), ("\"", "'"), ("\n", " "), ("\r", " ")):
        text = text.replace(bad, good)
    return text


def fmt_float(value, digits=9):
    return "%.*g" % (digits, value)


def cpu_model():
    try:
        with open("/proc/cpuinfo", "r", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    if name:
                        return name
    except OSError:
        pass
    name = platform.processor() or platform.machine() or "unknown CPU"
    return name


def cpu_cache_bytes():
    """Largest CPU cache of cpu0 from sysfs, or None."""
    best = None
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = os.listdir(base)
    except OSError:
        return None
    for entry in entries:
        path = os.path.join(base, entry, "size")
        try:
            with open(path) as fh:
                text = fh.read().strip().upper()
        except OSError:
            continue
        match = re.match(r"^(\d+)\s*([KMG]?)", text)
        if not match:
            continue
        mult = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[match.group(2)]
        size = int(match.group(1)) * mult
        if best is None or size > best:
            best = size
    return best


def host_available_bytes():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def nvidia_smi_target(index):
    """The -i argument for nvidia-smi that names torch's cuda:index."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        parts = [p.strip() for p in visible.split(",") if p.strip()]
        if index < len(parts):
            part = parts[index]
            if part.isdigit() or part.startswith("GPU-") or part.startswith("MIG-"):
                return part
    return str(index)


def nvidia_smi_query(index):
    """Dict of driver/clock/power fields from nvidia-smi, or None."""
    fields = ("driver_version", "clocks.sm", "clocks.max.sm", "clocks.mem",
              "power.limit")
    try:
        proc = subprocess.run(
            ["nvidia-smi", "-i", nvidia_smi_target(index),
             "--query-gpu=" + ",".join(fields), "--format=csv,noheader"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=15)
    except Exception:  # not installed, timed out, ...
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    values = [v.strip() for v in proc.stdout.strip().splitlines()[0].split(",")]
    if len(values) != len(fields):
        return {"raw": proc.stdout.strip().splitlines()[0]}
    return dict(zip(fields, values))


def describe_clocks(query):
    if not query:
        return "n/a"
    if "raw" in query:
        return query["raw"]
    return "sm %s; max sm %s; mem %s; power limit %s" % (
        query["clocks.sm"], query["clocks.max.sm"], query["clocks.mem"],
        query["power.limit"])


def smi_driver(query):
    if not query:
        return "n/a (nvidia-smi not available)"
    return query.get("driver_version") or query.get("raw") or "n/a"


def nvidia_smi_present():
    try:
        proc = subprocess.run(["nvidia-smi", "-L"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=15)
        return proc.returncode == 0 and "GPU" in proc.stdout
    except Exception:
        return False


# ----------------------------------------------------------------- dtype logic

class DtypeSpec(object):
    def __init__(self, name, in_dtype, out_bytes, elem_bytes, note):
        self.name = name
        self.in_dtype = in_dtype      # torch dtype of A and B
        self.elem_bytes = elem_bytes  # bytes per input element
        self.out_bytes = out_bytes    # bytes per output element
        self.note = note              # kernel description for the notes column
        # candidate ways to call the kernel, tried in order by the probe:
        # (extra note or "", B column-major?, callable(a, b) -> tensor)
        self.variants = []
        self.b_colmajor = False       # chosen by the probe
        self.op = None                # chosen by the probe
        self.probe_err = None         # relative error of the probe GEMM


def _scaled_mm_op(scale_shape, device):
    scale_a = torch.ones(scale_shape, dtype=torch.float32, device=device)
    scale_b = torch.ones(scale_shape, dtype=torch.float32, device=device)
    scaled_mm = torch._scaled_mm
    bf16 = torch.bfloat16

    def op(a, b):
        result = scaled_mm(a, b, scale_a=scale_a, scale_b=scale_b, out_dtype=bf16)
        # torch < 2.4 returned (out, amax)
        return result[0] if isinstance(result, tuple) else result
    return op


def make_spec(name, device):
    t = torch
    if name in ("fp32", "tf32"):
        note = ("torch.mm fp32 (allow_tf32=False)" if name == "fp32" else
                "torch.mm tf32 (fp32 storage; allow_tf32=True)")
        spec = DtypeSpec(name, t.float32, 4, 4, note)
    elif name in ("fp16", "bf16"):
        spec = DtypeSpec(name, t.float16 if name == "fp16" else t.bfloat16, 2, 2,
                         "torch.mm " + name)
    elif name == "int8":
        spec = DtypeSpec(name, t.int8, 4, 1, "torch._int_mm int8->int32")
    elif name == "fp8_e4m3":
        spec = DtypeSpec(name, t.float8_e4m3fn, 2, 1,
                         "torch._scaled_mm fp8_e4m3 -> bf16 (tensor-wise scales 1.0;"
                         " use_fast_accum=False)")
        # B must be column-major (cuBLASLt fp8); the scale shape that torch
        # accepts for tensor-wise scaling has varied between versions.
        for shape in ((), (1,), (1, 1)):
            spec.variants.append(("" if shape == () else "scale shape %s" % (shape,),
                                  True, _scaled_mm_op(shape, device)))
        return spec
    else:  # pragma: no cover - parse_dtype_list rejects others
        raise ValueError(name)
    fn = t._int_mm if name == "int8" else t.mm
    spec.variants = [("", False, fn), ("B column-major", True, fn)]
    return spec


def dtype_skip_reason(name, env):
    """Why this device / torch build cannot run the dtype at all, or None."""
    t = torch
    cc = env["cc"]
    where = env["where"]
    if name == "tf32":
        if not env["cuda"]:
            return "skip tf32 on %s: TF32 is a CUDA tensor-core mode (allow_tf32 has no effect on torch.mm on cpu)" % where
        if env["hip"] is None and cc is not None and cc < (8, 0):
            return ("skip tf32: needs compute capability >= 8.0, device has %d.%d "
                    "(allow_tf32 would have no effect)" % cc)
    if name == "int8" and not hasattr(t, "_int_mm"):
        return "skip int8 on %s: torch._int_mm not available in torch %s" % (
            where, t.__version__)
    if name == "fp8_e4m3":
        if not hasattr(t, "float8_e4m3fn"):
            return "skip fp8_e4m3 on %s: torch %s has no float8_e4m3fn dtype" % (
                where, t.__version__)
        if not hasattr(t, "_scaled_mm"):
            return "skip fp8_e4m3 on %s: torch._scaled_mm not available in torch %s" % (
                where, t.__version__)
        if env["cuda"] and env["hip"] is None and cc is not None and cc < (8, 9):
            return ("skip fp8_e4m3: needs compute capability >= 8.9, device has %d.%d"
                    % cc)
    return None


def shape_skip_reason(name, m, n, k, env):
    """Why the kernel does not accept this shape, or None."""
    if not env["cuda"]:
        return None
    if name == "int8" and not (m > 16 and k % 8 == 0 and n % 8 == 0):
        return ("torch._int_mm on CUDA needs m > 16 and k and n multiples of 8 "
                "(m=%d n=%d k=%d)" % (m, n, k))
    if name == "fp8_e4m3" and (m % 16 or n % 16 or k % 16):
        return ("torch._scaled_mm fp8 on CUDA needs m n k multiples of 16 "
                "(m=%d n=%d k=%d)" % (m, n, k))
    return None


def _set_tf32(enabled):
    """Set cuBLAS TF32 for fp32 matmuls. Prefers the legacy allow_tf32 flag:
    recent torch raises when the legacy and the new fp32_precision APIs are
    mixed, and the legacy setter keeps both in step.  Falls back to the new
    API (and then to torch.set_float32_matmul_precision) if the flag is gone."""
    matmul = torch.backends.cuda.matmul
    try:
        matmul.allow_tf32 = bool(enabled)
        return
    except Exception:
        pass
    try:
        matmul.fp32_precision = "tf32" if enabled else "ieee"
        return
    except Exception:
        pass
    torch.set_float32_matmul_precision("high" if enabled else "highest")


@contextlib.contextmanager
def matmul_precision(name, env):
    """fp32: TF32 off; tf32: TF32 on; restored afterwards. Other dtypes: untouched."""
    if not env["cuda"] or name not in ("fp32", "tf32"):
        yield
        return
    try:
        previous = bool(torch.backends.cuda.matmul.allow_tf32)
    except Exception:
        previous = False
    _set_tf32(name == "tf32")
    try:
        yield
    finally:
        try:
            _set_tf32(previous)
        except Exception:
            pass


# ----------------------------------------------------------------- buffers

def fill_random(tensor, spec, gen):
    """Fill tensor with random, non-zero-distributed values, in chunks."""
    flat = tensor.view(-1)
    total = flat.numel()
    chunk = 1 << 24
    device = tensor.device
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        if spec.name == "int8":
            part = torch.randint(-128, 128, (count,), dtype=torch.int8,
                                 generator=gen, device=device)
        else:
            part = torch.randn((count,), dtype=torch.float32, generator=gen,
                               device=device)
            if spec.in_dtype != torch.float32:
                part = part.to(spec.in_dtype)
        flat[start:start + count].copy_(part)
        del part


class OperandPool(object):
    """nsets (A, B) operand pairs in two flat buffers.

    Each set starts at a 256-byte aligned offset, so every set gets the same
    pointer alignment (and so the same kernel choice) as a fresh allocation.
    Views are made on demand: a cold-L2 pool of small matrices may hold tens of
    thousands of sets of which only a few hundred are used.
    """

    def __init__(self, spec, m, n, k, nsets, device, gen):
        self.m, self.n, self.k = m, n, k
        self.nsets = nsets
        self.b_colmajor = spec.b_colmajor
        align = max(1, 256 // spec.elem_bytes)
        self.a_stride = -(-(m * k) // align) * align
        self.b_stride = -(-(k * n) // align) * align
        self.a_flat = torch.empty(nsets * self.a_stride, dtype=spec.in_dtype, device=device)
        fill_random(self.a_flat, spec, gen)
        self.b_flat = torch.empty(nsets * self.b_stride, dtype=spec.in_dtype, device=device)
        fill_random(self.b_flat, spec, gen)

    def pair(self, i):
        m, n, k = self.m, self.n, self.k
        a = self.a_flat[i * self.a_stride:i * self.a_stride + m * k].view(m, k)
        b = self.b_flat[i * self.b_stride:i * self.b_stride + k * n]
        if self.b_colmajor:
            b = b.view(n, k).t()  # (k, n), column-major
        else:
            b = b.view(k, n)
        return a, b

    @staticmethod
    def bytes_needed(spec, m, n, k, nsets):
        align = max(1, 256 // spec.elem_bytes)
        per_set = (-(-(m * k) // align) * align + -(-(k * n) // align) * align)
        return nsets * per_set * spec.elem_bytes


def sync(env):
    if env["cuda"]:
        torch.cuda.synchronize()


def free_memory():
    gc.collect()
    if torch is not None and torch.cuda.is_available():
        try:
            torch.cuda.empty_cache()
        except Exception:
            pass


# ||out - ref|| / ||ref|| above which the probe warns (ref: float64 GEMM of the
# same, already rounded, inputs)
PROBE_TOLERANCE = {"fp32": 1e-4, "tf32": 1e-2, "fp16": 1e-2, "bf16": 5e-2,
                   "int8": 1e-9, "fp8_e4m3": 5e-2}


def relative_error(out, a, b):
    """||out - A@B|| / ||A@B|| with A@B in float64, or None if it cannot be had."""
    try:
        f64 = torch.float64
        ref = torch.mm(a.to(f64), b.to(f64))
        norm = float(ref.norm())
        if norm == 0.0:
            return None
        return float((out.to(f64) - ref).norm()) / norm
    except Exception:
        return None


def probe_dtype(spec, env, gen):
    """Run one small GEMM per variant; keep the first variant that works.

    Returns None, or the reason to skip the dtype.  For tf32 a warning is
    printed when the result equals the fp32 one (TF32 apparently not in effect).
    """
    m, n, k = PROBE_SHAPE
    errors = []
    for extra, colmajor, fn in spec.variants:
        spec.b_colmajor = colmajor
        try:
            with matmul_precision(spec.name, env):
                pool = OperandPool(spec, m, n, k, 1, env["device"], gen)
                a, b = pool.pair(0)
                out = fn(a, b)
                sync(env)
            if tuple(out.shape) != (m, n):
                raise RuntimeError("result has shape %s, expected (%d, %d)"
                                   % (tuple(out.shape), m, n))
            spec.probe_err = relative_error(out, a, b)
            limit = PROBE_TOLERANCE.get(spec.name)
            if spec.probe_err is not None and limit is not None \
                    and spec.probe_err > limit:
                warn("warning: %s probe: relative error %.3g against a float64 "
                     "reference is above %g; its results may be wrong"
                     % (spec.name, spec.probe_err, limit))
                extra = (extra + "; " if extra else "") + \
                    "probe relative error %.3g above %g" % (spec.probe_err, limit)
            if spec.name == "tf32" and env["cuda"]:
                with matmul_precision("fp32", env):
                    ref = fn(a, b)
                    sync(env)
                if torch.equal(out, ref):
                    warn("warning: tf32 probe result equals the fp32 one; TF32 may "
                         "not be in effect (allow_tf32 ignored?)")
                    extra = (extra + "; " if extra else "") + \
                        "probe result equal to fp32: TF32 may not be in effect"
                del ref
            del out, a, b, pool
        except Exception as exc:  # noqa: BLE001 - any failure means unsupported
            errors.append(short_error(exc))
            continue
        spec.op = fn
        if extra:
            spec.note += "; " + extra
        return None
    return "skip %s on %s: a %dx%dx%d probe failed: %s" % (
        spec.name, env["where"], m, n, k, errors[-1] if errors else "no variant")


# ----------------------------------------------------------------- timing

def call_once_timed(op, a, b, env):
    start = time.perf_counter()
    out = op(a, b)
    sync(env)
    elapsed = time.perf_counter() - start
    del out
    return elapsed


class SkipPoint(Exception):
    """A point skipped on purpose (the reason is the message)."""


def run_point(spec, m, n, k, env, args, gen, predicted_s=None):
    """Measure one (shape, dtype). Returns a dict of results (raises on failure)."""
    device = env["device"]
    limit = args.max_seconds_per_point
    if limit > 0 and predicted_s is not None and predicted_s > 10 * limit:
        raise SkipPoint(
            "one call would take about %.0f s (extrapolated by FLOPs from the "
            "previous %s point); over 10x --max-seconds-per-point %g" % (
                predicted_s, spec.name, limit))
    per_set = OperandPool.bytes_needed(spec, m, n, k, 1)
    c_bytes = m * n * spec.out_bytes
    free = env["free_bytes"]()

    nsets = 1
    cold_note = "warm L2"
    if args.cold_l2:
        cache = env["cache_bytes"]
        need = max(2, int(math.ceil(2.0 * cache / per_set)) + 1)
        cap = need
        if free is not None:
            cap = max(1, int((0.25 * free - 2 * c_bytes) // per_set))
        nsets = min(need, cap)
        cold_note = "cold %s (rotating %d buffer sets%s)" % (
            env["cache_name"], nsets,
            "; capped by memory: %d wanted" % need if nsets < need else "")

    needed = nsets * per_set + 3 * c_bytes + 64 * 1024 * 1024
    if free is not None and needed > 0.9 * free:
        raise SkipPoint("needs about %.2f GiB; %.2f GiB free" % (
            needed / GIB, free / GIB))

    with matmul_precision(spec.name, env):
        pool = OperandPool(spec, m, n, k, nsets, device, gen)
        sync(env)
        op = spec.op
        idx = [0]

        def next_pair():
            i = idx[0]
            idx[0] = (i + 1) % nsets
            return pool.pair(i)

        # Untimed calls: the first pays one-time costs (heuristics, lazy init);
        # a second one estimates the cost of one call for the time guard
        # (unless the first alone already ran past the limit).
        a, b = next_pair()
        estimate = call_once_timed(op, a, b, env)
        untimed = 1
        if not (limit > 0 and estimate > limit):
            a, b = next_pair()
            estimate = call_once_timed(op, a, b, env)
            untimed = 2

        warmup, reps = args.warmup, args.reps
        reduced = ""
        if limit > 0 and estimate * (warmup + reps) > limit:
            allowed = int(limit // max(estimate, 1e-9))
            # the untimed calls above already warmed up
            new_warmup = min(warmup, allowed // 5)
            new_reps = max(5, min(reps, allowed - new_warmup))
            if (new_warmup, new_reps) != (warmup, reps):
                reduced = ("reduced from %d warm-up + %d timed: one call ~%.3g s; "
                           "--max-seconds-per-point %g" % (
                               warmup, reps, estimate, limit))
                warmup, reps = new_warmup, new_reps

        for _ in range(warmup):
            a, b = next_pair()
            op(a, b)
        sync(env)

        times_ms = []
        if env["cuda"]:
            Event = torch.cuda.Event
            starts = [Event(enable_timing=True) for _ in range(reps)]
            ends = [Event(enable_timing=True) for _ in range(reps)]
            pairs = [next_pair() for _ in range(reps)]
            for i in range(reps):
                a, b = pairs[i]
                starts[i].record()
                op(a, b)
                ends[i].record()
            torch.cuda.synchronize()
            times_ms = [s.elapsed_time(e) for s, e in zip(starts, ends)]
            del starts, ends, pairs
        else:
            clock = time.perf_counter_ns
            for _ in range(reps):
                a, b = next_pair()
                t0 = clock()
                out = op(a, b)  # noqa: F841 - freed after t1, outside the timing
                t1 = clock()
                del out
                times_ms.append((t1 - t0) / 1e6)
        a = b = pool = None  # release the operands before the next point

    mean = statistics.fmean(times_ms)
    median = statistics.median(times_ms)
    stdev = statistics.stdev(times_ms) if len(times_ms) >= 2 else 0.0
    runtime = mean if args.stat == "mean" else median
    if not (runtime > 0 and math.isfinite(runtime)):
        raise RuntimeError("measured runtime %r ms is not positive (timer resolution?)"
                           % runtime)
    method = "%s %s of %d after %d warm-up; %s" % (
        "cuda-events" if env["cuda"] else "perf_counter", args.stat, reps,
        warmup, cold_note)
    if reduced:
        method += "; " + reduced
    notes = spec.note
    if spec.name == "bf16" and env["cuda"] and env["hip"] is None \
            and env["cc"] is not None and env["cc"] < (8, 0):
        notes += "; no bf16 tensor cores below cc 8.0"
    return {
        "runtime": runtime, "mean": mean, "median": median, "stdev": stdev,
        "tflops": 2.0 * m * n * k / (runtime * 1e-3) / 1e12,
        "method": method, "notes": notes, "warmup": warmup, "reps": reps,
        "reduced": bool(reduced), "estimate_s": estimate, "untimed": untimed,
    }


def cuda_context_alive(env):
    try:
        x = torch.ones(4, device=env["device"])
        x.add_(1)
        torch.cuda.synchronize()
        return True
    except Exception:
        return False


# ----------------------------------------------------------------- output

class CsvWriter(object):
    """Rows go to FILE.partial as measured; FILE is written complete at the end."""

    def __init__(self, path):
        self.path = path
        self.partial = path + ".partial"
        self.rows = []
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self.fh = open(self.partial, "w")

    def start(self, header_lines):
        for line in header_lines:
            self.fh.write(line + "\n")
        self.fh.write(",".join(CSV_COLUMNS) + "\n")
        self.fh.flush()

    def add(self, row):
        line = ",".join(clean_field(v) for v in row)
        self.rows.append(line)
        self.fh.write(line + "\n")
        self.fh.flush()

    def finish(self, header_lines):
        self.fh.close()
        tmp = self.path + ".tmp"
        with open(tmp, "w") as fh:
            for line in header_lines:
                fh.write(line + "\n")
            fh.write(",".join(CSV_COLUMNS) + "\n")
            for line in self.rows:
                fh.write(line + "\n")
        os.replace(tmp, self.path)
        try:
            os.remove(self.partial)
        except OSError:
            pass


def comment(key, value):
    text = str(value).replace("\n", " ").replace("\r", " ")
    return "# %s: %s" % (key, text)


# ----------------------------------------------------------------- main

def main(argv=None):
    global torch
    parser = build_parser()
    args = parser.parse_args(argv)

    dtypes = []
    for group in (args.dtypes or [list(DTYPES)]):
        for name in group:
            if name not in dtypes:
                dtypes.append(name)
    shapes = []
    sizes = args.sizes
    if sizes is None and not args.shapes:
        sizes = list(DEFAULT_SIZES)
    for s in sizes or []:
        if (s, s, s) not in shapes:
            shapes.append((s, s, s))
    for shape in args.shapes or []:
        if shape not in shapes:
            shapes.append(shape)

    try:
        import torch as _torch
    except Exception as exc:  # ImportError, or a broken install
        warn("error: cannot import torch (%s); install PyTorch first" % short_error(exc))
        return 1
    torch = _torch

    # ---- device
    cuda_ok = False
    try:
        cuda_ok = torch.cuda.is_available()
    except Exception:
        cuda_ok = False
    device_name = args.device
    if device_name is None:
        device_name = "cuda" if cuda_ok else "cpu"
        if not cuda_ok and nvidia_smi_present():
            warn("warning: nvidia-smi lists a GPU but torch %s (CUDA %s) cannot use it "
                 "(driver too old for this torch build?); measuring the CPU. Pass "
                 "--device cuda to make this an error." % (
                     torch.__version__, torch.version.cuda))
    if device_name.startswith("cuda"):
        if not cuda_ok:
            parser.error("--device %s: torch %s (built for CUDA %s) sees no usable "
                         "CUDA device" % (device_name, torch.__version__,
                                          torch.version.cuda))
        index = int(device_name.split(":")[1]) if ":" in device_name else 0
        if index >= torch.cuda.device_count():
            parser.error("--device %s: only %d CUDA device(s)" % (
                device_name, torch.cuda.device_count()))
        torch.cuda.set_device(index)
        device = torch.device("cuda", index)
    else:
        index = None
        device = torch.device("cpu")

    # ---- output file (fail early, before a long run)
    writer = None
    if args.out:
        try:
            writer = CsvWriter(args.out)
        except OSError as exc:
            parser.error("--out %s: %s" % (args.out, exc))

    # ---- environment
    env = {"device": device, "cuda": device.type == "cuda", "cc": None,
           "hip": getattr(torch.version, "hip", None)}
    cpu = cpu_model()
    smi_before = None
    if env["cuda"]:
        props = torch.cuda.get_device_properties(index)
        hardware = torch.cuda.get_device_name(index)
        env["cc"] = (props.major, props.minor)
        l2 = getattr(props, "L2_cache_size", None) or getattr(props, "l2_cache_size", None)
        env["cache_bytes"] = int(l2) if l2 else DEFAULT_CACHE_BYTES
        env["cache_name"] = "L2"
        env["where"] = "cuda"

        def free_bytes():
            try:
                return torch.cuda.mem_get_info(index)[0]
            except Exception:
                return None
        env["free_bytes"] = free_bytes
        smi_before = nvidia_smi_query(index)
        device_desc = "%s (cuda:%d; %d SMs; %.1f GiB; L2 %s%s)" % (
            hardware, index, props.multi_processor_count, props.total_memory / GIB,
            "%.1f MiB" % (l2 / MIB) if l2 else "unknown",
            "" if l2 else " - cold-l2 assumes 50 MiB")
    else:
        hardware = cpu
        cache = cpu_cache_bytes()
        env["cache_bytes"] = cache or DEFAULT_CACHE_BYTES
        env["cache_name"] = "cache"
        env["where"] = "cpu"
        env["free_bytes"] = host_available_bytes
        device_desc = "%s (cpu; largest cache %s)" % (
            cpu, "%.1f MiB" % (cache / MIB) if cache else "unknown; cold-l2 assumes 50 MiB")

    start_time = datetime.datetime.now(datetime.timezone.utc)
    command = " ".join(shlex.quote(a) for a in
                       [os.path.basename(sys.executable) or "python3"] + sys.argv)
    try:
        cudnn = torch.backends.cudnn.version()
    except Exception:
        cudnn = None
    method = ("1 or 2 untimed calls (one-time costs and a cost estimate) + "
              "%d warm-up + %d timed calls per point; %s; runtime_ms = %s; "
              "inputs torch.randn (floats) / torch.randint(-128,128) (int8) seed %d; %s" % (
                  args.warmup, args.reps,
                  "one pair of CUDA events per call" if env["cuda"]
                  else "time.perf_counter_ns per call",
                  args.stat, args.seed,
                  "cold %s: operands rotate over buffer sets > 2x %.1f MiB" % (
                      env["cache_name"], env["cache_bytes"] / MIB)
                  if args.cold_l2 else "warm L2 (same operands every call)"))

    def provenance(smi_after=None, extra=()):
        lines = [
            "# gemm_bench.py: GEMM runtimes C(m,n) = A(m,k) @ B(k,n) measured with PyTorch",
            comment("device", device_desc),
            comment("driver", smi_driver(smi_before) if env["cuda"] else "n/a (cpu)"),
            comment("torch", torch.__version__),
            comment("cuda", "%s%s" % (torch.version.cuda,
                                      "" if env["cuda"] else " (torch build; cpu run)")
                    if not env["hip"]
                    else "n/a (ROCm/HIP %s)" % env["hip"]),
            comment("cudnn", cudnn if cudnn is not None else "n/a"),
            comment("compute_capability", "%d.%d" % env["cc"] if env["cc"] else "n/a (cpu)"),
            comment("clocks", "before run: %s | after run: %s" % (
                describe_clocks(smi_before),
                describe_clocks(smi_after) if smi_after is not None else "n/a (run not finished)")
                    if env["cuda"] else "n/a (cpu)"),
            comment("cpu", "%s; %s logical cores; torch threads %d" % (
                cpu, os.cpu_count(), torch.get_num_threads())),
            comment("date", start_time.isoformat(timespec="seconds").replace("+00:00", "Z")),
            comment("command", command),
            comment("python", platform.python_version()),
            comment("method", method),
            comment("probe", "relative error of a %dx%dx%d GEMM against float64: %s" % (
                PROBE_SHAPE + ("; ".join(
                    "%s %s" % (sp.name, "%.3g" % sp.probe_err
                               if sp.probe_err is not None else "n/a")
                    for sp in specs) or "none",))),
        ]
        lines.extend(extra)
        return lines

    print("gemm_bench: %s; torch %s; %d shape(s) x %d dtype(s); %s" % (
        device_desc, torch.__version__, len(shapes), len(dtypes),
        "cold L2" if args.cold_l2 else "warm L2"), flush=True)

    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed)
    torch.manual_seed(args.seed)

    # ---- which dtypes can run at all
    skipped = []  # (label, reason)
    specs = []
    for name in dtypes:
        reason = dtype_skip_reason(name, env)
        spec = None
        if reason is None:
            try:
                spec = make_spec(name, device)
            except Exception as exc:
                reason = "skip %s on %s: %s" % (name, env["where"], short_error(exc))
        if reason is None:
            reason = probe_dtype(spec, env, gen)
        if reason is not None:
            warn(reason)
            prefix = "skip %s on %s: " % (name, env["where"])
            if reason.startswith(prefix):
                reason = reason[len(prefix):]
            elif reason.startswith("skip %s: " % name):
                reason = reason[len("skip %s: " % name):]
            skipped.append(("%s (all shapes)" % name, reason))
            free_memory()
            continue
        specs.append(spec)
    free_memory()

    if writer:
        writer.start(provenance())

    header = "%-22s %-9s %12s %12s %10s  %s" % (
        "m x n x k", "dtype", "median_ms", "mean_ms", "TFLOPS", "")
    print(header, flush=True)
    print("-" * len(header), flush=True)

    measured = 0
    reference = {}  # dtype -> (flops, seconds per call) of its largest measured point
    interrupted = False
    context_dead = False
    try:
        for (m, n, k) in shapes:
            label_shape = "%dx%dx%d" % (m, n, k)
            for spec in specs:
                label = "%s %s" % (label_shape, spec.name)
                if context_dead:
                    skipped.append((label, "CUDA context unusable after an earlier error"))
                    continue
                reason = shape_skip_reason(spec.name, m, n, k, env)
                if reason is not None:
                    warn("skip %s: %s" % (label, reason))
                    skipped.append((label, reason))
                    continue
                flops = 2.0 * m * n * k
                predicted = None
                ref = reference.get(spec.name)
                if ref is not None and flops > ref[0]:
                    predicted = ref[1] * flops / ref[0]
                result = None
                error = None
                deliberate = False
                try:
                    result = run_point(spec, m, n, k, env, args, gen, predicted)
                except KeyboardInterrupt:
                    raise
                except SkipPoint as exc:
                    error = str(exc)
                    deliberate = True
                except Exception as exc:  # noqa: BLE001 - report and go on
                    error = short_error(exc)
                free_memory()
                if error is not None:
                    warn("skip %s: %s" % (label, error))
                    skipped.append((label, error))
                    if env["cuda"] and not deliberate and not cuda_context_alive(env):
                        warn("error: the CUDA context no longer works; skipping the "
                             "remaining points")
                        context_dead = True
                    continue
                measured += 1
                if ref is None or flops > ref[0]:
                    reference[spec.name] = (flops, result["median"] / 1e3)
                print("%-22s %-9s %12.5g %12.5g %10.4g  %s" % (
                    label_shape, spec.name, result["median"], result["mean"],
                    result["tflops"],
                    "(reps reduced to %d)" % result["reps"] if result["reduced"] else ""),
                    flush=True)
                if writer:
                    writer.add([
                        hardware, "gemm", m, n, k, spec.name,
                        fmt_float(result["runtime"]), fmt_float(result["tflops"], 6),
                        result["method"], SOURCE, result["notes"],
                        fmt_float(result["median"]), fmt_float(result["mean"]),
                        fmt_float(result["stdev"]), result["warmup"], result["reps"],
                        TIMING, FRAMEWORK,
                    ])
    except KeyboardInterrupt:
        interrupted = True
        warn("interrupted: writing the %d point(s) measured so far" % measured)

    smi_after = nvidia_smi_query(index) if env["cuda"] else None
    end_time = datetime.datetime.now(datetime.timezone.utc)
    extra = [comment("duration_s", "%.1f" % (end_time - start_time).total_seconds()),
             comment("points", "%d measured; %d skipped%s" % (
                 measured, len(skipped), "; interrupted" if interrupted else ""))]
    for label, reason in skipped:
        extra.append(comment("skipped", "%s: %s" % (label, reason)))
    if writer:
        try:
            writer.finish(provenance(smi_after if smi_after is not None else {}, extra))
        except OSError as exc:
            warn("error: could not write %s (%s); rows are in %s" % (
                args.out, exc, writer.partial))

    print("-" * len(header), flush=True)
    print("%d point(s) measured, %d skipped%s" % (
        measured, len(skipped), (" -> " + args.out) if args.out else ""), flush=True)
    if skipped:
        warn("skipped points:")
        for label, reason in skipped:
            warn("  %s: %s" % (label, reason))
    if interrupted:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
