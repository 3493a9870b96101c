#!/usr/bin/env python3
"""Ablation of the GPU model's terms: each row switches one term off and
re-runs `mlsim validate` on the measured files.

Columns (MAPE %, over every point of the files named):
- T4 (`t4` + `cublas-turing`, estimates): as given, and leave-one-size-out;
- RTX 4060 Ti (`rtx4060ti` + `cublaslt-ada`, estimates, back-to-back): as
  given, and leave-one-size-out;
- H100 (`h100-sxm5` + `cublas-hopper`, the stack fitted on the H200): as
  given (a transfer) on the square and LLM-shape files;
- Hopper leave-one-chip-out: the stack fitted on the other chip's files,
  H100 and H200, square and LLM shapes together.
Every per-call Hopper file gets its host floor read off its smallest size
(`--host-floor-from-smallest`, labelled so in docs/model/README.md).

A variant edits a copy of a stack, framework or chip file and passes it by
path (`--stack`, `--framework`, `--hw`), so the committed files are never
touched. Used for docs/model/*.md; needs a built `mlsim` (pass its path,
default target/release/mlsim) and Python 3.9+ (stdlib only).

    cargo build --release -p mlsim-cli && python3 experiments/ablation.py
"""
import csv
import io
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLSIM = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "mlsim")


def read(rel):
    with open(os.path.join(ROOT, rel)) as f:
        return f.read()


def edit(text, edits, what):
    for pattern, repl in edits:
        new = re.sub(pattern, repl, text, flags=re.M)
        if new == text:
            raise SystemExit(f"{what}: pattern {pattern!r} matched nothing")
        text = new
    return text


# Each variant: (label, {file: [(pattern, replacement)]}) where file is a
# stack or framework name (stacks/NAME.toml) or a chip (presets/NAME.toml).
STACKS = ["cublas-turing", "cublaslt-ada", "cublas-hopper"]
CHIPS = ["t4", "rtx4060ti", "h100-sxm5", "h200"]
VARIANTS = [
    ("all terms", {}),
    (
        "no kernel floor (`kernel.fixed_us = 0`)",
        {s: [(r"^fixed_us = .*$", "fixed_us = 0.0")] for s in STACKS},
    ),
    (
        "no split K",
        {s: [(r"^split_k = true.*$", "split_k = false")] for s in STACKS},
    ),
    (
        "per-call as host floor + kernel (`timing_overhead_us` = 1e6)",
        {"pytorch-eager": [(r"^timing_overhead_us = .*$", "timing_overhead_us = 1000000.0")],
         "cpp-direct": [(r"^timing_overhead_us = .*$", "timing_overhead_us = 1000000.0")]},
    ),
    (
        "per-call as max(host floor, kernel) (`timing_overhead_us = 0`)",
        {"pytorch-eager": [(r"^timing_overhead_us = .*$", "timing_overhead_us = 0.0")],
         "cpp-direct": [(r"^timing_overhead_us = .*$", "timing_overhead_us = 0.0")]},
    ),
    (
        "no power model: every path at boost (no `base_clock_ghz`)",
        {c: [(r"^base_clock_ghz = .*$", "")] for c in CHIPS},
    ),
    (
        "fp8 entry point as cheap as the others (no `dtype_floor_factor`)",
        {"pytorch-eager": [(r"^fp8_e4m3 = .*$", ""), (r"^fp8_e5m2 = .*$", "")]},
    ),
]


def materialise(tmp, i, edits):
    """Write the edited copies; return {name: path} for every file."""
    paths = {}
    for name in STACKS + ["pytorch-eager", "cpp-direct"] + CHIPS:
        rel = f"presets/{name}.toml" if name in CHIPS else f"stacks/{name}.toml"
        text = read(rel)
        if name in edits:
            text = edit(text, edits[name], f"{name}")
        path = os.path.join(tmp, f"v{i}-{name}.toml")
        with open(path, "w") as f:
            f.write(text)
        paths[name] = path
    return paths


def validate(args):
    out = subprocess.run(
        [MLSIM, "validate", "--format", "csv"] + args,
        capture_output=True, text=True, cwd=ROOT,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return list(csv.DictReader(io.StringIO(out.stdout)))


def mape(rows, col, file_part=None):
    v = [abs(float(r[col])) for r in rows
         if r[col] != "" and (file_part is None or file_part in r["measurements"])]
    return sum(v) / len(v) if v else float("nan")


def main():
    print("| variant | T4 as given | T4 LOSO | RTX 4060 Ti as given | RTX 4060 Ti LOSO "
          "| H100 square, as given (stack fitted on H200) | H100 LLM shapes, as given "
          "| Hopper LOCO: H100 square / H200 square / H100 LLM / H200 LLM |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, edits) in enumerate(VARIANTS):
            p = materialise(tmp, i, edits)
            t4 = validate(["--hw", p["t4"], "--stack", p["cublas-turing"],
                           "--framework", p["pytorch-eager"],
                           "--measurements", "results/t4-colab-matmul.csv"])
            rtx = validate(["--hw", p["rtx4060ti"], "--stack", p["cublaslt-ada"],
                            "--framework", p["cpp-direct"],
                            "--measurements", "results/rtx4060ti-cublaslt-square.csv"])
            hop = ["--stack", p["cublas-hopper"], "--framework", p["pytorch-eager"],
                   "--host-floor-from-smallest"]
            h100 = validate(["--cv", "none", "--hw", p["h100-sxm5"]] + hop + [
                "--measurements", "results/h100-torch-square.csv",
                "--measurements", "results/h100-torch-llm-shapes.csv"])
            loco = validate(["--cv", "chip"] + hop + [
                "--hw", p["h100-sxm5"], "--measurements", "results/h100-torch-square.csv",
                "--hw", p["h200"], "--measurements", "results/h200-torch-square.csv",
                "--hw", p["h100-sxm5"], "--measurements", "results/h100-torch-llm-shapes.csv",
                "--hw", p["h200"], "--measurements", "results/h200-torch-llm-shapes.csv"])
            lc = " / ".join(f"{mape(loco, 'loco_error_pct', f):.1f}" for f in
                            ["h100-torch-square", "h200-torch-square",
                             "h100-torch-llm", "h200-torch-llm"])
            print(f"| {label} | {mape(t4, 'error_pct'):.1f} | {mape(t4, 'cv_error_pct'):.1f} "
                  f"| {mape(rtx, 'error_pct'):.1f} | {mape(rtx, 'cv_error_pct'):.1f} "
                  f"| {mape(h100, 'error_pct', 'square'):.1f} | {mape(h100, 'error_pct', 'llm'):.1f} "
                  f"| {lc} |", flush=True)


if __name__ == "__main__":
    main()
