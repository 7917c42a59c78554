"""Benchmarks of batched execution (issue 12): B1, B2, B3.

    python -m tests.bench.batch_bench        (or `make bench` for every benchmark)

Each figure is a ratio measured in this one run, the two sides interleaved (A, B, A, B, …) so a
change of the machine's load hits both; median and range over the repeats, load average printed.
Both sides run on one host thread: the emulator with threads = 1, numpy with its BLAS limited to
one thread (OPENBLAS_NUM_THREADS etc. are set before numpy loads, in a child process).  Times are
the process's CPU time (one thread per side, so other load on the machine does not enter), each
sample the sum of REPS runs.
  * B1: ideal model, one bmvm of B = 1000 vectors (4-bit inputs) through one 128×256 core, from
    issue to the end of the batch, against numpy float32 `X @ W` (one call); goal ≤ 1.5×.
  * B2: the same on the analog model (write-verify programmed, aged 1 h); goal ≤ 2.0×.
  * B3: the digits evaluation, 450 test digits through the ×16-copies MLP on the analog model:
    programs/digits_mlp_noise.s (the per-sample loop) against programs/digits_mlp_noise_batched.s;
    the evaluation is the program's batch loop (from `loop` to halt) as `neurram digits` runs it:
    on a fresh machine right after the program's write-verify programming and ageing, which are
    identical in both and measured apart as the whole run; goal ≥ 6× faster.  Also printed, for
    reference: the evaluation run again and again from a snapshot restored before each run (the
    38 MB restore leaves the host's caches cold, which weighs more on the shorter batched run),
    and the evaluation's wall time with the default `threads` (all host cores) on both sides,
    where a batch's vectors spread over the worker threads.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_THREAD = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
B, K, N = 1000, 128, 256
REPS = 5
clock = time.process_time

BMVM = f"""
        .data
w:      .zero {K * N}
x:      .zero {B * K}
        .align 2
y:      .zero {B * N * 2}
        .text
        li      x1, 1
        cpon    x1
        ccfg.inbits x1, 4
        ccfg.insigned x1, 0
        ccfg.gshift x1, 9
        la      x2, w
        cprog   c0, x2
        sync    x0
        li      x2, 3600000
        cage    x2
        li      x2, {B}
        bcount  x2
        li      x7, {2 * N}
        li      x8, {K}
        bstride x7, x8, x0
        la      x3, x
        la      x4, y
start:  bmvm.fwd.u8.i16 c0, x4, x3
        sync    x1
        halt
"""


def _ratio_line(name: str, ta, tb, goal: str, unit="") -> str:
    r = [x / y for x, y in zip(ta, tb)]
    return (f"{name:<50}{statistics.median(r):>8.2f}×  range {min(r):.2f}–{max(r):.2f}   "
            f"({statistics.median(ta) * 1e3:.3g} ms / {statistics.median(tb) * 1e3:.3g} ms CPU){unit}  {goal}")


def _at(m, label: str):
    """Step a loaded machine to a label; returns its snapshot there."""
    pc = m.sym(label)
    while m.pc != pc:
        r = m.step()
        assert r.stop not in ("fault", "halt"), r
    return m.snapshot()


def _run_from(m, snap) -> float:
    """CPU seconds of REPS runs from the snapshot (the restores are not timed)."""
    dt = 0.0
    for _ in range(REPS):
        m.restore(snap)
        t0 = clock()
        r = m.run()
        dt += clock() - t0
        assert r.ok, r.message
    return dt


def bmvm_vs_numpy(model: str, repeats: int) -> tuple[list, list]:
    import numpy as np

    from emulator import Machine

    rng = np.random.default_rng(0)
    W = rng.integers(-127, 128, size=(K, N)).astype(np.int8)
    X = rng.integers(0, 16, size=(B, K)).astype(np.uint8)
    m = Machine(model=model, seed=1, config={"threads": 1}).load(BMVM)
    m.write_mem(m.sym("w"), W)
    m.write_mem(m.sym("x"), X)
    snap = _at(m, "start")
    Xf, Wf = X.astype(np.float32), W.astype(np.float32)
    te, tn = [], []
    for _ in range(repeats):
        te.append(_run_from(m, snap))
        t0 = clock()
        for _ in range(REPS):
            Y = Xf @ Wf
        tn.append(clock() - t0)
    assert Y.shape == (B, N)
    return te, tn


DIGITS = ("digits_mlp_noise", "digits_mlp_noise_batched")


def _programmed(key: str, config: dict):
    """A fresh machine that ran `programs/<key>.s` up to its evaluation loop (write-verify
    programming and the hour of ageing, as `neurram digits` runs them)."""
    from emulator import Machine

    m = Machine(model="analog", seed=1, config=config).load(ROOT / "programs" / f"{key}.s")
    m.set_breakpoint("loop")
    r = m.run()
    assert r.stop == "breakpoint", r
    m.clear_breakpoint("loop")
    return m


def digits_eval(repeats: int, config: dict, timer) -> tuple[list, list, list, list]:
    """B3: per sample, REPS evaluations, each on a freshly programmed machine (the programming
    untimed); also the whole runs (load, programming and evaluation) of the same machines."""
    out = {key: ([], []) for key in DIGITS}
    for _ in range(repeats):
        for key in DIGITS:
            ev = whole = 0.0
            for _ in range(REPS):
                t0 = timer()
                m = _programmed(key, config)
                t1 = timer()
                r = m.run()
                t2 = timer()
                assert r.ok, r.message
                ev += t2 - t1
                whole += t2 - t0
            out[key][0].append(ev)
            out[key][1].append(whole)
    (lu, wu), (lb, wb) = out[DIGITS[0]], out[DIGITS[1]]
    return lu, lb, wu, wb


def digits_from_snapshot(repeats: int) -> tuple[list, list]:
    """The same evaluations run again and again from a snapshot taken at `loop`: restoring the
    38 MB image before each run leaves the host's caches cold, a cost `neurram digits` never
    pays (for reference)."""
    from emulator import Machine

    loop = {}
    for key in DIGITS:
        m = Machine(model="analog", seed=1, config={"threads": 1}).load(ROOT / "programs" / f"{key}.s")
        loop[key] = (m, _at(m, "loop"))
    lu, lb = [], []
    for _ in range(repeats):
        lu.append(_run_from(*loop[DIGITS[0]]))
        lb.append(_run_from(*loop[DIGITS[1]]))
    return lu, lb


def worker(repeats: int) -> None:
    t1e, t1n = bmvm_vs_numpy("ideal", repeats)
    print(_ratio_line(f"B1 ideal bmvm B={B} {K}×{N} / numpy X@W", t1e, t1n, "goal ≤ 1.5"))
    t2e, t2n = bmvm_vs_numpy("analog", repeats)
    print(_ratio_line(f"B2 analog bmvm B={B} {K}×{N} / numpy X@W", t2e, t2n, "goal ≤ 2.0"))
    lu, lb, wu, wb = digits_eval(repeats, {"threads": 1}, clock)
    print(_ratio_line("B3 digits 450×16 analog: loop / batched (eval)", lu, lb, "goal ≥ 6"))
    print(_ratio_line("   … whole run incl. write-verify programming", wu, wb, "(for reference)"))
    su, sb = digits_from_snapshot(repeats)
    print(_ratio_line("   … eval from a restored snapshot (cold caches)", su, sb, "(for reference)"))
    du, db, _, _ = digits_eval(repeats, {}, time.perf_counter)
    print(_ratio_line("   … eval wall time, all host threads", du, db, "(for reference)").replace(" CPU)", " wall)"))


def main(repeats: int = 9) -> None:
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"host cores {os.cpu_count()}; one host thread per side")
    env = dict(os.environ, **ONE_THREAD)
    subprocess.run([sys.executable, "-m", "tests.bench.batch_bench", "--worker", str(repeats)],
                   env=env, cwd=ROOT, check=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(int(sys.argv[2]))
    else:
        main()
