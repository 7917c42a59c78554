"""Sweep engine: throughput with 1 and 2 LocalCluster workers and the scheduling overhead per point.

    python -m tests.bench.sweep_bench        (or `make bench` for every benchmark)

What is measured (wall-clock, ROUNDS rounds interleaved, median and range printed):
  * throughput: a digits sweep of POINTS analog points (all 450 test digits, 16 column copies, ~0.1 s of compute
    per point) through a 1-worker and a 2-worker LocalCluster, both started before the rounds;
    points/s = points / (first submit → last row committed: the
    client's builds and the cluster start are not in it); scaling = 2-worker / 1-worker.
    Goal ≥ 1.7× on two cores (it can only be reached on an otherwise idle machine).  The points
    run with threads = 1: the engine's scaling, not the chip's own worker threads, is measured.
  * overhead per point: the same sweep on the 1-worker cluster minus in-process (same points,
    same store writes), divided by the points: what Dask adds per point (submit, transfer,
    result).  Goal ≤ 50 ms.
Cluster start-up (a few seconds, once per `neurram sweep`) is printed on its own.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

POINTS = 30
ROUNDS = 3
# threads = 1: every point on one host thread, so that the engine's own scaling is measured (with
# the default, a 1-worker cluster's chips already use both cores for their batches)
SPEC = """\
[sweep]
name = "bench"
[config]
threads = 1
[workload]
kind = "digits"
n_test = 450
[grid]
relax_scale = [0.5, 1.0, 2.0]
seed = {{ from = 1, to = {seeds}, step = 1 }}
"""


def _fmt(vals, unit, scale=1.0) -> str:
    v = sorted(x * scale for x in vals)
    return f"{statistics.median(v):.3g} {unit} (range {v[0]:.3g}–{v[-1]:.3g})"


def main() -> None:
    from emulator.sweep import sweep
    from emulator.sweep.engine import local_cluster

    with tempfile.TemporaryDirectory() as d:
        spec = Path(d) / "bench.toml"
        spec.write_text(SPEC.format(seeds=POINTS // 3))
        t0 = time.perf_counter()
        c1 = local_cluster(1)
        startup = time.perf_counter() - t0
        c2 = local_cluster(2)
        try:
            sweep(spec, out=Path(d) / "warm.db", scheduler=c2.scheduler_address, progress=False)
            rate = {"here": [], 1: [], 2: []}
            for r in range(ROUNDS):
                for mode in ("here", 1, 2):
                    out = Path(d) / f"{mode}-{r}.db"
                    kw = {"workers": 0} if mode == "here" else \
                        {"scheduler": (c1 if mode == 1 else c2).scheduler_address}
                    s = sweep(spec, out=out, progress=False, **kw)
                    assert s.ok == POINTS, s
                    rate[mode].append(s.run_s)
                    os.unlink(out)
        finally:
            c2.close()
            c1.close()
    scaling = [a / b for a, b in zip(rate[1], rate[2])]
    overhead = [(a - b) / POINTS for a, b in zip(rate[1], rate["here"])]
    print(f"{POINTS} digits points per sweep, {ROUNDS} interleaved rounds; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"in-process      {_fmt([POINTS / t for t in rate['here']], 'points/s')}")
    print(f"1 worker        {_fmt([POINTS / t for t in rate[1]], 'points/s')}")
    print(f"2 workers       {_fmt([POINTS / t for t in rate[2]], 'points/s')}")
    print(f"scaling 2 vs 1  {_fmt(scaling, '×')}   (goal ≥ 1.7× on 2 idle cores)")
    print(f"overhead/point  {_fmt(overhead, 'ms', 1e3)}   (goal ≤ 50 ms; 1 worker minus in-process)")
    print(f"cluster start   {startup:.2f} s (1 worker, once per sweep command)")


if __name__ == "__main__":
    main()
