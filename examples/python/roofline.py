"""A roofline of a chip with predicted GEMMs on it (matplotlib if installed).

    python examples/python/roofline.py [chip] [out.png]
"""

import sys

import mlsim

name = sys.argv[1] if len(sys.argv) > 1 else "h100-sxm5"
out = sys.argv[2] if len(sys.argv) > 2 else f"roofline-{name}.png"
chip = mlsim.chip(name)
bw = chip.memory_bandwidth_gb_s * 1e9  # bytes/s
sizes = [2**i for i in range(4, 15)]
dtypes = [d for d in ("fp32", "bf16", "fp8_e4m3", "int8") if d in chip.dtypes]
cols = mlsim.sweep(chip, sizes, dtypes, output="dict")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed; the points instead (AI FLOP/B, achieved TFLOP/s):")
    for d, ai, tf in zip(cols["dtype"], cols["arithmetic_intensity"], cols["achieved_tflops"]):
        print(f"  {d:<9} {ai:10.1f} {tf:9.2f}")
    sys.exit(0)

fig, ax = plt.subplots(figsize=(7, 5))
ais = [2.0**e for e in range(-2, 13)]
for d in dtypes:
    peak = chip.peak_tflops[d] * 1e12
    ax.plot(ais, [min(peak, bw * a) / 1e12 for a in ais], label=f"{d} roof ({chip.peak_tflops[d]:g} TFLOP/s)")
    pts = [(a, t) for dd, a, t in zip(cols["dtype"], cols["arithmetic_intensity"], cols["achieved_tflops"]) if dd == d]
    ax.scatter(*zip(*pts), s=14)
ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOP/byte)", ylabel="TFLOP/s",
       title=f"{chip.display_name}: square GEMMs {sizes[0]} to {sizes[-1]}, predicted")
ax.legend(fontsize=8)
fig.savefig(out, dpi=120, bbox_inches="tight")
print(f"wrote {out}")
