"""The T4 crossover table (`mlsim crossover --hw t4-seed`) from Python.

    pip install ./crates/mlsim-py && python examples/python/t4_crossover.py
"""

import mlsim

x = mlsim.crossover("t4-seed")
print(f"{x['hardware']}: original crossover AI per dtype")
for r in x["original_formula"]:
    print(f"  {r['dtype']:<6} {r['original_crossover_ai']}")
print()
print(f"{'workload':<34} {'dtype':<6} {'adjusted ms':>12} {'speedup':>8}  beneficial")
for r in x["analysis"]:
    verdict = {None: "baseline", True: "yes", False: "no"}[r["beneficial"]]
    print(f"{r['workload']:<34} {r['dtype']:<6} {r['adjusted_runtime_ms']:>12.4g} {r['speedup_vs_fp32']:>7.3g}x  {verdict}")
