"""Serving Llama-3-70B on an HGX H100 node (`mlsim serve`) and what its
all-reduces cost (`mlsim collective`), from Python.

    pip install ./crates/mlsim-py && python examples/python/serving.py
"""

import mlsim

node = mlsim.system("hgx-h100-8")
print(f"{node.display_name}: {node.chips} x {node.chip.name}, {node.scale_up} "
      f"{node.scale_up_gb_s:g} GB/s a direction, {node.topology}")
for c in mlsim.collective(node, "all-reduce", ["16KiB", "1MiB", "1GB"])["costs"]:
    print(f"  all-reduce {c['bytes']:>12.0f} B: {c['algorithm']:<4} {c['time_s'] * 1e6:9.1f} us, "
          f"busbw {c['busbw_bytes_per_s'] / 1e9:6.1f} GB/s")
print()
r = mlsim.serve("llama-3-70b", node, ttft_ms=500, tpot_ms=50, usd_per_hour=2.5)
print(f"{r['model']} on {r['system']} ({r['framework']}), 1024 prompt + 256 output tokens, "
      f"TTFT <= {r['limits']['ttft_ms']:g} ms, TPOT <= {r['limits']['tpot_ms']:g} ms")
print(f"{'scheme':<7} {'tp':>3} {'pp':>3} {'batch':>5} {'TTFT ms':>8} {'TPOT ms':>8} {'tok/s/chip':>10} "
      f"{'J/token':>8} {'$/M tok':>8}")
for s in r["per_scheme"]:
    b = s["best"]
    if b is None:
        print(f"{s['scheme']:<7} no configuration fits and meets the limits")
        continue
    joules = "-" if b["joules_per_output_token"] is None else f"{b['joules_per_output_token']:.3g}"
    print(f"{s['scheme']:<7} {b['parallelism']['tp']:>3} {b['parallelism']['pp']:>3} {b['batch']:>5} "
          f"{b['ttft_ms']:>8.4g} {b['tpot_ms']:>8.3g} {b['output_tokens_per_s_per_chip']:>10.4g} "
          f"{joules:>8} {b['usd_per_million_output_tokens']:>8.3g}")
best = r["best"]
print(f"best: {best['scheme']} on tp {best['parallelism']['tp']} x pp {best['parallelism']['pp']}, "
      f"batch {best['batch']}")
