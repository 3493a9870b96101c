"""Timings of the Python package (a script, not a test): run with the
package installed, e.g. `python crates/mlsim-py/bench.py`.

1. one Python-level prediction call (target: under 2 us);
2. 100k predictions in a sweep, with the GIL released (target: under 1 s;
   a second Python thread counts how often it ran meanwhile);
3. a 1M-point sweep, columns as array.array and as lists (target: under 1 s):
   the call, and the call with freeing its result (what earlier versions
   of this script timed as one).
"""

import os
import platform
import threading
import time

import mlsim


def best(f, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    h100 = mlsim.chip("h100-sxm5")
    w = mlsim.matmul(4096, 4096, 4096, "bf16")
    n = 100_000
    t = best(lambda: [h100.predict(w) for _ in range(n)], repeat=3)
    print(f"1. chip.predict(workload): {t / n * 1e6:.2f} us a call (h100-sxm5, gpu-tiled)")

    shapes = [(m, 4096, 4096) for m in range(1, 50_001)]
    ticks = [0]
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks[0] += 1
            time.sleep(0)

    th = threading.Thread(target=tick)
    th.start()
    time.sleep(0.05)
    before = ticks[0]
    t = time.perf_counter()
    mlsim.sweep(h100, shapes, ["bf16", "fp8_e4m3"], output="arrays")
    t = time.perf_counter() - t
    during = ticks[0] - before
    done.set()
    th.join()
    print(f"2. 100k predictions (sweep, arrays): {t:.3f} s; the other Python thread ran {during} times meanwhile (GIL released)")

    shapes = [(m, 1024, 1024) for m in range(1, 250_001)]
    dtypes = ["fp32", "fp16", "bf16", "int8"]
    for output in ("arrays", "dict"):
        calls, drops = [], []
        for _ in range(3):
            t = time.perf_counter()
            cols = mlsim.sweep("t4", shapes, dtypes, output=output)
            calls.append(time.perf_counter() - t)
            t = time.perf_counter()
            del cols
            drops.append(time.perf_counter() - t)
        call, drop = min(calls), min(drops)
        print(f"3. 1M-point sweep (t4, output={output!r}): {call + drop:.3f} s "
              f"(the call {call:.3f} s, freeing its result {drop:.3f} s)")


if __name__ == "__main__":
    main()
