#!/usr/bin/env python3
"""Summarise repeated runs of the same GEMM set (experiments/repeatability.sh).

For every (size, dtype): the spread of the runtime over the runs, as
(max - min) / median. For every (size, dtype other than fp32): whether the
"faster than fp32" verdict is the same in every run. A deterministic model
cannot beat the run-to-run spread, and cannot get right a verdict that flips
between runs of the same benchmark.

Usage: python3 experiments/repeatability.py RUN1.csv RUN2.csv ...
"""
import csv
import statistics
import sys


def read(path):
    rows = {}
    with open(path) as f:
        lines = [l for l in f if not l.startswith("#")]
    for r in csv.DictReader(lines):
        rows[(int(r["m"]), r["dtype"])] = float(r["runtime_ms"])
    return rows


def main(paths):
    runs = [read(p) for p in paths]
    keys = sorted(set.intersection(*(set(r) for r in runs)))
    print(f"{len(runs)} runs; spread = (max - min) / median of the runtimes")
    print(f"{'N':>5} {'dtype':>6} {'median ms':>10} {'spread %':>9} {'faster than fp32 in runs':>26}")
    flips = total = 0
    for n, d in keys:
        t = [r[(n, d)] for r in runs]
        med = statistics.median(t)
        spread = 100 * (max(t) - min(t)) / med
        verdict = ""
        if d != "fp32" and all((n, "fp32") in r for r in runs):
            faster = [r[(n, d)] < r[(n, "fp32")] for r in runs]
            verdict = f"{sum(faster)} of {len(faster)}"
            total += 1
            flips += 0 < sum(faster) < len(faster)
        print(f"{n:>5} {d:>6} {med:>10.5f} {spread:>9.1f} {verdict:>26}")
    print(f"verdicts that differ between runs: {flips} of {total}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1:])
