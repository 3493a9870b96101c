#!/usr/bin/env python3
"""Summarise repeated runs of the same GEMM set (experiments/repeatability.sh).

For every point (shape, dtype, timing method): the median runtime over the
runs and the spread, (max - min) / median. For every point other than fp32:
whether the "faster than fp32" verdict is the same in every run. A
deterministic model cannot beat the run-to-run spread, and cannot get right
a verdict that flips between runs of the same benchmark.

With --out FILE, also writes the medians as a measurement file in mlsim's
format (results/README.md): one row per point with `runtime_ms` the median,
`spread_pct` and `repeats`, and the `timing`/`framework` columns of the
runs; `mlsim validate` then scores predictions against the medians and
counts a verdict only where the measured gap exceeds the spread.

Usage: python3 experiments/repeatability.py [--out FILE] RUN1.csv RUN2.csv ...
"""
import csv
import os
import statistics
import sys

# Columns of a run that say what a point is; rows agreeing on all of them
# are the same point in different runs.
KEY = ("op", "m", "n", "k", "dtype", "timing", "stack", "framework")


def read(path):
    """(comment lines, {key: row}) of one run."""
    with open(path) as f:
        lines = f.readlines()
    comments = [l.rstrip("\n") for l in lines if l.startswith("#")]
    rows = {}
    for r in csv.DictReader(l for l in lines if not l.startswith("#")):
        key = tuple(r.get(c, "") or "" for c in KEY)
        if key in rows:
            sys.exit(f"{path}: {key} appears twice")
        rows[key] = r
    return comments, rows


def main(argv):
    out = None
    if argv[:1] == ["--out"]:
        if len(argv) < 2:
            sys.exit(__doc__)
        out, argv = argv[1], argv[2:]
    if len(argv) < 2:
        sys.exit(__doc__)
    runs = [read(p) for p in argv]
    hardware = {r["hardware"] for _, rows in runs for r in rows.values()}
    if len(hardware) != 1:
        sys.exit(f"the runs name {len(hardware)} devices ({', '.join(sorted(hardware))}); one file, one device")
    keys = set.intersection(*(set(rows) for _, rows in runs))
    # Points in the order of the first run.
    keys = [k for k in runs[0][1] if k in keys]
    print(f"{len(runs)} runs; spread = (max - min) / median of the runtimes")
    print(f"{'N':>5} {'dtype':>8} {'timing':>12} {'median ms':>10} {'spread %':>9} {'faster than fp32 in runs':>26}")
    flips = total = 0
    medians = []
    for key in keys:
        _, m, n, k, dtype, timing, _, _ = key
        t = [float(rows[key]["runtime_ms"]) for _, rows in runs]
        med = statistics.median(t)
        if not med > 0:
            sys.exit(f"{key}: a median runtime of {med} ms")
        spread = 100 * (max(t) - min(t)) / med
        medians.append((key, med, spread))
        verdict = ""
        fp32 = key[:4] + ("fp32",) + key[5:]  # the same point in fp32
        if dtype != "fp32" and all(fp32 in rows for _, rows in runs):
            faster = [float(rows[key]["runtime_ms"]) < float(rows[fp32]["runtime_ms"]) for _, rows in runs]
            verdict = f"{sum(faster)} of {len(faster)}"
            total += 1
            flips += 0 < sum(faster) < len(faster)
        size = m if m == n == k else f"{m}x{n}x{k}"
        print(f"{size:>5} {dtype:>8} {timing or '-':>12} {med:>10.5f} {spread:>9.1f} {verdict:>26}")
    print(f"verdicts that differ between runs: {flips} of {total}")
    if out:
        write(out, argv, runs, medians, hardware.pop())


def write(out, paths, runs, medians, hardware):
    """The medians as a measurement file, with provenance."""
    first_comments = runs[0][0]
    with open(out, "w", newline="") as f:
        f.write("# repeatability.py: the median of each point over repeated runs, each run a\n")
        f.write("# fresh process (experiments/repeatability.sh); spread_pct = 100 (max - min) / median\n")
        f.write(f"# runs: {len(runs)}: {' '.join(paths)}\n")
        f.write(f"# command: python3 experiments/repeatability.py --out {out} {' '.join(paths)}\n")
        f.write("# the first run's provenance follows\n")
        for c in first_comments:
            f.write(c + "\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["hardware", "op", "m", "n", "k", "dtype", "runtime_ms", "spread_pct",
                    "repeats", "timing", "stack", "framework", "source"])
        for (op, m, n, k, dtype, timing, stack, framework), med, spread in medians:
            w.writerow([hardware, op, m, n, k, dtype, f"{med:.9g}", f"{spread:.3g}",
                        len(runs), timing, stack, framework, "experiments/repeatability.py"])


if __name__ == "__main__":
    main(sys.argv[1:])
