#!/usr/bin/env python3
"""Ablation of the GPU model's terms: each row switches one term off and
re-runs `mlsim validate` on the measured files.

Columns (MAPE %, over every point of the files named):
- T4 (`t4` + `cublas-turing`, estimates): as given (datasheet only), the
  stack fitted in sample, and leave-one-size-out (LOSO);
- RTX 4060 Ti (`rtx4060ti` + `cublaslt-ada`, estimates, back-to-back): the
  same three;
- Hopper as given, with the committed `cublas-hopper-h200` (fitted on the
  H200's two files): a transfer for the H100 files, in sample for the H200
  files;
- Hopper leave-one-chip-out: `cublas-hopper` (the estimates) fitted on the
  other chip's two files (square and LLM shapes together) predicts each
  file.
Every per-call Hopper file gets its host floor read off its smallest size
(`--host-floor-from-smallest`, labelled so in docs/model/README.md).

A variant edits a copy of a stack, framework or chip file and passes it by
path (`--stack`, `--framework`, `--hw`), so the committed files are never
touched. Used for docs/model/*.md; needs a built `mlsim` (pass its path,
default target/release/mlsim) and Python 3.9+ (stdlib only).

    cargo build --release -p mlsim-cli && python3 experiments/ablation.py
"""
import json
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
# Variants that set the per-call timing overhead are scored as given only
# on the T4: the T4's fits (no host floor in its file) refit that overhead,
# so their fitted cells would not test the variant (OVERHEAD_VARIANTS).
STACKS = ["cublas-turing", "cublaslt-ada", "cublas-hopper", "cublas-hopper-h200"]
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
    """The per-file summaries of `mlsim validate --format json`."""
    out = subprocess.run(
        [MLSIM, "validate", "--format", "json"] + args,
        capture_output=True, text=True, cwd=ROOT,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    doc = json.loads(out.stdout)
    # One file: its summary; several: {"files": [...]}.
    return doc["files"] if "files" in doc else [doc]


def by_file(files, key, parts):
    """`key` of the files whose path contains each of `parts`, joined by ' / '."""
    return " / ".join(
        f"{next(f[key] for f in files if part in f['measurements']):.1f}" for part in parts)


HOPPER = ["h100-torch-square", "h200-torch-square", "h100-torch-llm", "h200-torch-llm"]
HOPPER_FILES = [
    ("h100-sxm5", "results/h100-torch-square.csv"),
    ("h200", "results/h200-torch-square.csv"),
    ("h100-sxm5", "results/h100-torch-llm-shapes.csv"),
    ("h200", "results/h200-torch-llm-shapes.csv"),
]
OVERHEAD_VARIANTS = {label for label, _ in VARIANTS if "timing_overhead_us" in label}


def main():
    print("| variant | T4: as given / fitted in sample / LOSO "
          "| RTX 4060 Ti: as given / fitted in sample / LOSO "
          "| Hopper as given, `cublas-hopper-h200`: H100 square / H200 square / H100 LLM / H200 LLM "
          "| Hopper leave-one-chip-out from `cublas-hopper`: same order |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, edits) in enumerate(VARIANTS):
            p = materialise(tmp, i, edits)
            t4 = validate(["--hw", p["t4"], "--stack", p["cublas-turing"],
                           "--framework", p["pytorch-eager"],
                           "--measurements", "results/t4-colab-matmul.csv"])[0]
            rtx = validate(["--hw", p["rtx4060ti"], "--stack", p["cublaslt-ada"],
                            "--framework", p["cpp-direct"],
                            "--measurements", "results/rtx4060ti-cublaslt-square.csv"])[0]
            pairs = [a for chip, f in HOPPER_FILES for a in ("--hw", p[chip], "--measurements", f)]
            common = ["--framework", p["pytorch-eager"], "--host-floor-from-smallest"]
            given = validate(["--cv", "none", "--stack", p["cublas-hopper-h200"]] + common + pairs)
            loco = validate(["--cv", "chip", "--stack", p["cublas-hopper"]] + common + pairs)
            t4_cells = ("mape_pct",) if label in OVERHEAD_VARIANTS else (
                "mape_pct", "fit_mape_pct", "cv_mape_pct")
            cells = [
                " / ".join([f"{t4[k]:.1f}" for k in t4_cells] + ["-"] * (3 - len(t4_cells))),
                " / ".join(f"{rtx[k]:.1f}" for k in ("mape_pct", "fit_mape_pct", "cv_mape_pct")),
                by_file(given, "mape_pct", HOPPER),
                by_file(loco, "loco_mape_pct", HOPPER),
            ]
            print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
