#!/usr/bin/env python3
"""Ablation of the tiled GPU model's terms on the T4 measurements.

For each variant of presets/t4.toml (datasheet only) with one term switched
off, runs `mlsim validate` (chip as given, fitted in sample, and fitted
leave-one-size-out) on results/t4-colab-matmul.csv and prints a Markdown
table. Used for docs/model/README.md; needs a built `mlsim` (pass its path,
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
MEAS = os.path.join(ROOT, "results", "t4-colab-matmul.csv")
BASE = open(os.path.join(ROOT, "presets", "t4.toml")).read()


def variant(name, edits):
    text = BASE.replace('name = "t4"', f'name = "{name}"', 1)
    for pattern, repl in edits:
        new = re.sub(pattern, repl, text, flags=re.M)
        if new == text:
            raise SystemExit(f"{name}: pattern {pattern!r} matched nothing")
        text = new
    return text


VARIANTS = [
    ("all terms (t4)", []),
    ("no launch overhead", [(r"^launch_overhead_us = .*$", "launch_overhead_us = 0.0")]),
    (
        "one fixed 128x128 tile per path (no tile choice)",
        [(r"^tiles = \[\[.*$", "tiles = [[128, 128]]")],
    ),
    (
        "boost clock on every path (no power cap)",
        [(r"^sustained_clock_ghz = .*$", "sustained_clock_ghz = 1.59")],
    ),
    (
        "bf16 as if native at fp16 rate",
        [(r'^emulated_by = "fp32"$', 'peak_tflops = 65.0\nsustained_clock_ghz = 0.585\ntiles = [[256, 128], [128, 128], [128, 64], [64, 64]]'),
         (r"^convert_flops_per_element = 1.0$", "")],
    ),
    (
        "ideal DRAM traffic (L2 as large as memory)",
        [(r"^size_kib = 4096 ", "size_kib = 16777216 ")],
    ),
]


def run(path, cv):
    out = subprocess.run(
        [MLSIM, "validate", "--hw", path, "--measurements", MEAS, "--format", "json", "--cv", cv],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)


def main():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, edits) in enumerate(VARIANTS):
            path = os.path.join(tmp, f"t4-ablation-{i}.toml")
            with open(path, "w") as f:
                f.write(variant(f"t4-ablation-{i}", edits))
            v = run(path, "loso")
            rows.append((label, v))
    print("| variant of `t4` | as given MAPE / median % | fitted in sample | fitted leave-one-size-out | verdicts | fastest |")
    print("|---|---|---|---|---|---|")
    for label, v in rows:
        print(
            f"| {label} | {v['mape_pct']:.1f} / {v['median_ape_pct']:.1f} "
            f"| {v['fit_mape_pct']:.1f} / {v['fit_median_ape_pct']:.1f} "
            f"| {v['cv_mape_pct']:.1f} / {v['cv_median_ape_pct']:.1f} "
            f"| {v['verdicts_correct']}/{v['verdicts_total']} | {v['fastest_correct']}/{v['fastest_total']} |"
        )
    seed = run("t4-seed", "loso")
    print(
        f"| the original (`t4-seed`, hand-tuned in sample) | {seed['mape_pct']:.1f} / {seed['median_ape_pct']:.1f} "
        f"| {seed['fit_mape_pct']:.1f} / {seed['fit_median_ape_pct']:.1f} "
        f"| {seed['cv_mape_pct']:.1f} / {seed['cv_median_ape_pct']:.1f} "
        f"| {seed['verdicts_correct']}/{seed['verdicts_total']} | {seed['fastest_correct']}/{seed['fastest_total']} |"
    )


if __name__ == "__main__":
    main()
