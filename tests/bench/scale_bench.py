"""Benchmarks of issue 12 that this branch delivers: B4 (worker threads) and B5 (write-verify).

    python -m tests.bench.scale_bench        (or `make bench` for every benchmark)

Each figure is a ratio measured in this one run, the two sides interleaved (A, B, A, B, …) so
that a change in the machine's load hits both; the median and the range over the repeats are
printed, with the load average at the start.
  * B4: the 48-core forward MVM wave of core_bench (128×256 int8 weights, 4-bit inputs, sync),
    B4_WAVES times, threads = 1 against threads = 2; goal: 2 threads ≥ 1.6× faster.
  * B5: write-verify of 48 full 128×256 cores on the analog model (48 cprog + sync), the
    reference algorithm (wv_reference = 1, one thread) against the default (threads = 2);
    goal ≥ 6×.  The reference keeps the previous release's algorithm: Box–Muller draws, the
    write-verify simulated again at completion, and every cell's relaxation draw made again at
    each relaxation epoch the run crosses (the fast path caches it per cell).
"""
from __future__ import annotations

import os
import statistics
import time

import numpy as np

from .core_bench import wave_program

# B4 runs long enough (~0.2 s a side) that thread start-up and the machine's background load
# average out: at 200 waves one run is 17 ms and its ratio swings between 0.8 and 1.8
B4_WAVES = 2000

PROGRAM_48 = """
        .data
w:      .zero 48 * 128 * 256
        .text
        li      x1, (1 << 48) - 1
        cpon    x1
        sync    x0
        la      x2, w
""" + "".join(f"        cprog   c{c}, x2\n        addi    x2, x2, 32767\n        addi    x2, x2, 1\n"
              for c in range(48)) + """
        sync    x0
        halt
"""


def _wave_machine(threads: int):
    from emulator import Machine

    rng = np.random.default_rng(0)
    m = Machine(seed=1, config={"threads": threads}).load(wave_program(B4_WAVES))
    m.step(5)
    for c in m.cores:
        c.set_weights(rng.integers(-127, 128, size=(128, 256)))
        c.h[:128] = rng.integers(-7, 8, size=128)
    return m


def _time_run(m) -> float:
    t0 = time.perf_counter()
    r = m.run()
    dt = time.perf_counter() - t0
    assert r.ok, r.message
    return dt


def _program_machine(reference: int, threads: int):
    from emulator import Machine

    w = np.random.default_rng(0).integers(-127, 128, size=(48, 128, 256)).astype(np.int8)
    m = Machine(model="analog", seed=1, config={"wv_reference": reference, "threads": threads})
    m.load(PROGRAM_48)
    m.write_mem(m.sym("w"), w)
    return m


def interleaved(a, b, repeats: int) -> tuple[list[float], list[float]]:
    """Times of make-and-run a() and b(), alternating; returns both lists (seconds)."""
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(_time_run(a()))
        tb.append(_time_run(b()))
    return ta, tb


def _ratio_line(name: str, ta, tb, goal: str) -> str:
    r = [x / y for x, y in zip(ta, tb)]
    return (f"{name:<44}{statistics.median(r):>8.2f}×  range {min(r):.2f}–{max(r):.2f}   "
            f"({statistics.median(ta):.3g} s / {statistics.median(tb):.3g} s)  {goal}")


def main(repeats_b4: int = 7, repeats_b5: int = 3) -> dict:
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"host cores {os.cpu_count()}")
    t1, t2 = interleaved(lambda: _wave_machine(1), lambda: _wave_machine(2), repeats_b4)
    print(_ratio_line(f"B4 48-core wave ×{B4_WAVES}, threads 1 / 2", t1, t2, "goal ≥ 1.6"))
    old, new = interleaved(lambda: _program_machine(1, 1), lambda: _program_machine(0, 2), repeats_b5)
    print(_ratio_line("B5 write-verify 48 cores, reference / fast", old, new, "goal ≥ 6"))
    return {"b4": (t1, t2), "b5": (old, new)}


if __name__ == "__main__":
    main()
