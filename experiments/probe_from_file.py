#!/usr/bin/env python3
"""Score a CPU chip file whose memory bandwidths come from a measured
file's own STREAM points, as `mlsim hw memory` would write them, without
running the probe again.

The guest this project develops on is too noisy to compare two ways of
reading the probe through fresh runs (the same build's STREAM error moved
13-113% over an hour), so this takes each level's four kernel rates from
the STREAM rows of a measured file (results/*.csv) at the probe's sizes
(arrays filling half of each cache, and 8x the last cache for main
memory), writes the preset with those bandwidths, and runs `mlsim
validate` on a file (the same one, or another day's: out of sample).

--rule says how a cache after the first reads the rates:
  measured  decide it per level as `mlsim hw memory` does (the reading,
            plain stores read their lines or not, whose one bandwidth
            predicts the four rates best), writing
            plain_store_reads_line = false where they do not;
  always    plain stores read their lines at every such cache (the model
            of commit 28bbfb3);
  never     they read nothing (the model before it, 09176a6: the same
            predictions for every STREAM row).

Standard library only. Example (docs/model/cpu-blocked.md, "The read as
a chip fact that mlsim hw memory measures"):

  python3 experiments/probe_from_file.py --hw dev-epyc-genoa-2vcpu \\
      --probe results/host-amd-epyc-zen4-2vcpu.csv \\
      --validate results/host-amd-epyc-zen4-2vcpu-run2.csv --rule measured
"""

import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile

# The share of a kernel's counted bytes its plain stores write (one array
# of its two or three; copy is a memcpy): ElementwiseKind::allocating_store_share.
SHARE = {"copy": 0.0, "scale": 0.5, "add": 1.0 / 3.0, "triad": 1.0 / 3.0}
ARRAYS = {"copy": 2, "scale": 2, "add": 3, "triad": 3}


def stream_rates(path):
    """{n: {kernel: GB/s as STREAM counts}} from a results file."""
    lines = [l for l in open(path) if not l.startswith("#")]
    out = {}
    for row in csv.DictReader(lines):
        if row["op"] in SHARE:
            n = int(row["n"])
            seconds = float(row["runtime_ms"]) * 1e-3
            out.setdefault(n, {})[row["op"]] = ARRAYS[row["op"]] * 4 * n / seconds / 1e9
    return out


def median(values):
    v = sorted(values)
    mid = len(v) // 2
    return (v[mid - 1] + v[mid]) / 2 if len(v) % 2 == 0 else v[mid]


def reading(rates, reads):
    """(sum of |ln(predicted / measured)|, bandwidth) under one reading."""
    factor = {k: (1 + SHARE[k]) if reads else 1.0 for k in rates}
    bandwidth = median(r * factor[k] for k, r in rates.items())
    error = sum(abs(math.log(bandwidth / factor[k] / r)) for k, r in rates.items())
    return error, bandwidth


def nearest(rates, n):
    """The measured size nearest to n elements a array (in log)."""
    return rates[min(rates, key=lambda m: abs(math.log(m / n)))]


def chip_text(preset_text, rates, rule):
    """The preset with each level's bandwidth from the rates (per core for
    a per_core level), never above the level before, and the read flag."""
    blocks = preset_text.split("[[memory]]")
    head, levels = blocks[0], blocks[1:]
    cores = float(next(l.split("=")[1].split("#")[0] for l in head.splitlines()
                       if l.strip().startswith("units")))
    sizes, per_core = [], []
    for block in levels:
        kib = float(next(l.split("=")[1].split("#")[0] for l in block.splitlines()
                         if l.startswith("size_kib")))
        private = any(l.startswith("per_core = true") for l in block.splitlines())
        sizes.append(kib * 1024 * (cores if private else 1))
        per_core.append(private)
    out, above = [head], float("inf")
    for i, block in enumerate(levels):
        last = i == len(levels) - 1
        probe_bytes = 8 * sizes[-2] if last else sizes[i] / 2
        r = nearest(rates, probe_bytes / 12)
        flag = None
        if 0 < i < len(levels) - 1:
            reads = {"always": True, "never": False}.get(rule)
            if reads is None:
                reads = reading(r, True)[0] <= reading(r, False)[0]
            bandwidth = reading(r, reads)[1]
            flag = None if reads else False
        else:
            bandwidth = median(r.values())
        bandwidth = min(bandwidth, above)
        above = bandwidth
        value = bandwidth / (cores if per_core[i] else 1)
        lines = []
        for l in block.splitlines():
            if l.startswith("bandwidth_gb_s"):
                l = f"bandwidth_gb_s = {value:.1f}"
                if flag is False:
                    l += "\nplain_store_reads_line = false"
            elif l.startswith("plain_store_reads_line"):
                continue
            lines.append(l)
        out.append("\n".join(lines))
    return "[[memory]]".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hw", required=True, help="a preset name (presets/NAME.toml)")
    p.add_argument("--probe", required=True, help="the results file whose STREAM rows stand for the probe")
    p.add_argument("--validate", required=True, help="the results file to score")
    p.add_argument("--rule", choices=["measured", "always", "never"], default="measured")
    p.add_argument("--mlsim", default="target/release/mlsim", help="the mlsim binary")
    a = p.parse_args()
    text = open(os.path.join("presets", a.hw + ".toml")).read()
    chip = chip_text(text, stream_rates(a.probe), a.rule)
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(chip)
    try:
        run = subprocess.run([a.mlsim, "validate", "--hw", f.name, "--measurements",
                              a.validate, "--format", "csv"], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    if run.returncode != 0:
        sys.exit(run.stderr)
    rows = list(csv.DictReader(run.stdout.splitlines()))
    def mape(keep):
        v = [abs(float(r["error_pct"])) for r in rows if keep(r)]
        return sum(v) / len(v) if v else float("nan")
    flags = chip.count("plain_store_reads_line = false")
    print(f"{a.rule}: {flags} cache(s) without the read; MAPE % all {mape(lambda r: True):.1f}, "
          f"GEMMs {mape(lambda r: r['op'] == 'gemm'):.1f}, STREAM {mape(lambda r: r['op'] != 'gemm'):.1f}")


if __name__ == "__main__":
    main()
