"""Benchmarks of issue 12 that this branch delivers: B4 (worker threads) and B5 (write-verify).

    python -m tests.bench.scale_bench        (or `make bench` for every benchmark)

Each figure is a ratio measured in this one run, the two sides interleaved (A, B, A, B, …) so
that a change in the machine's load hits both; the median and the range over the repeats are
printed, with the load average at the start.
  * B4: the 48-core forward MVM wave of core_bench (128×256 int8 weights, 4-bit inputs, sync),
    B4_WAVES times, threads = 1 against threads = 2; goal: 2 threads ≥ 1.6× faster.
  * B5: write-verify of 48 full 128×256 cores on the analog model (48 cprog + sync, the
    programming then relaxing over the run's seconds of chip time): the previous release's
    execution (wv_serial = 1, one thread, exact Box–Muller draws: write-verify simulated at issue
    and again at completion, every cell's relaxation draw made again at each epoch the run
    crosses) against the fast write-verify (threads = 2, wv_reference = 0: simulated once with
    the cheap Irwin–Hall draws, rows and relaxation threaded, each cell's draw cached; the same
    per-cell statistics, tests/test_threads.py); goal ≥ 6×.  Printed for reference: the default
    (exact draws, so every documented figure stays as measured) with the new execution, which
    the benchmark first checks programs the same conductances as the old one.
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


def _program_machine(config: dict):
    from emulator import Machine

    w = np.random.default_rng(0).integers(-127, 128, size=(48, 128, 256)).astype(np.int8)
    m = Machine(model="analog", seed=1, config=config)
    m.load(PROGRAM_48)
    m.write_mem(m.sym("w"), w)
    return m


OLD = {"wv_serial": 1, "threads": 1}    # the previous release's execution, one thread
NEW = {"threads": 2}                    # the default (exact draws) on two threads
FAST_DRAWS = {"threads": 2, "wv_reference": 0}


def same_conductances(a: dict, b: dict) -> bool:
    """Old and new execution program the same conductances (wv_serial changes no result)."""
    ma, mb = _program_machine(a), _program_machine(b)
    assert ma.run().ok and mb.run().ok
    return all(np.array_equal(x.conductances, y.conductances) for x, y in zip(ma.cores, mb.cores))


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
    old, fast = interleaved(lambda: _program_machine(OLD), lambda: _program_machine(FAST_DRAWS), repeats_b5)
    print(_ratio_line("B5 write-verify 48 cores, old / fast", old, fast, "goal ≥ 6"))
    assert same_conductances(OLD, NEW), "wv_serial changed the programmed conductances"
    old2, new = interleaved(lambda: _program_machine(OLD), lambda: _program_machine(NEW), repeats_b5)
    print(_ratio_line("   … old / new with the exact draws (the default)", old2, new, "(for reference)"))
    return {"b4": (t1, t2), "b5": (old, fast), "b5_exact": (old2, new)}


if __name__ == "__main__":
    main()
