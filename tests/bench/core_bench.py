"""Benchmark of the C core: MVM throughput, control-loop speed and state size, side by side.

    python -m tests.bench.core_bench        (or `make bench` for every benchmark)

What is measured (best of several repeats, wall-clock):
  * MVM wave: a program issues `mvm.fwd` on all 48 cores and `sync`s, WAVES times in a loop.
    Each core holds a full 128×256 window of int8 weight codes and 128 signed 4-bit inputs.
    The time per wave is the whole nr_run time divided by WAVES: the 48 MVMs (input clamp,
    integer kernel, readout), their completions and the loop's four controller instructions;
    nothing is subtracted.  The baseline is numpy `W.T @ x` in float32 on the same 48
    matrices, one call per core (as a model would call it), and a single batched matmul.
  * Control loop: simulated instructions per second of a 4-instruction scalar loop
    (addi, xor, addi, bnez) running to halt in one run() call.
  * Memory loop with the program checker off, warn: a load/store loop over a data label; the
    checker off must cost nothing (the same speed as before it existed), on it checks every
    access.
  * Chip state: bytes of the machine struct + data memory + program (a snapshot's size).
"""
from __future__ import annotations

import time

import numpy as np

WAVES = 200
LOOP_ITERS = 10_000_000

def wave_program(waves: int) -> str:
    """`mvm.fwd` on all 48 cores and `sync`, `waves` times in a loop."""
    return f"""
        li      x1, (1 << 48) - 1
        cpon    x1
        sync    x0
        li      x2, {waves}
wave:   mvm.fwd x1
        sync    x0
        addi    x2, x2, -1
        bnez    x2, wave
        halt
"""


MVM_WAVE = wave_program(WAVES)

CONTROL_LOOP = f"""
        li      x1, {LOOP_ITERS}
        li      x2, 0
loop:   addi    x2, x2, 3
        xor     x3, x2, x1
        addi    x1, x1, -1
        bnez    x1, loop
        halt
"""


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def mvm_wave(repeats: int = 3, model: str = "ideal") -> dict:
    from emulator import Machine

    rng = np.random.default_rng(0)
    ws = [rng.integers(-127, 128, size=(128, 256)) for _ in range(48)]
    xs = [rng.integers(-7, 8, size=128) for _ in range(48)]

    def setup() -> Machine:
        m = Machine(model=model, seed=1).load(MVM_WAVE)
        m.step(5)                                   # li (3 words), cpon, sync: cores awake
        for c, w, x in zip(m.cores, ws, xs):
            c.set_weights(w)
            c.h[:128] = x
        return m

    machines = [setup() for _ in range(repeats)]
    it = iter(machines)
    emu = _best(lambda: next(it).run(), repeats) / WAVES
    m = machines[0]
    if model == "ideal":
        assert all(np.array_equal(m.cores[i].v, np.clip(ws[i].T @ xs[i], -127, 127))
                   for i in range(48)), "MVM results differ from W.T @ x"

    wf = [w.astype(np.float32) for w in ws]
    xf = [x.astype(np.float32) for x in xs]

    def numpy_loop():
        for _ in range(WAVES):
            for w, x in zip(wf, xf):
                w.T @ x

    wb = np.ascontiguousarray(np.stack(wf).transpose(0, 2, 1))
    xb = np.stack(xf)[:, :, None]

    def numpy_batched():
        for _ in range(WAVES):
            np.matmul(wb, xb)

    loop = _best(numpy_loop, repeats) / WAVES
    batched = _best(numpy_batched, repeats) / WAVES
    return {"emulator_s": emu, "numpy_loop_s": loop, "numpy_batched_s": batched,
            "ratio": emu / loop, "ratio_batched": emu / batched,
            "chip_cycles_per_wave": (m.cycle - 0) / WAVES}


def control_loop(repeats: int = 3) -> dict:
    from emulator import Machine

    best, insns = float("inf"), 0
    for _ in range(repeats):
        m = Machine().load(CONTROL_LOOP)
        t0 = time.perf_counter()
        r = m.run()
        best = min(best, time.perf_counter() - t0)
        insns = r.instructions
    return {"instructions": insns, "seconds": best, "insns_per_s": insns / best}


MEMORY_LOOP = f"""
        .data
buf:    .zero 64
        .text
        li      x1, {LOOP_ITERS // 2}
        la      x4, buf
loop:   lw      x2, 8(x4)
        addi    x2, x2, 1
        sw      x2, 8(x4)
        addi    x1, x1, -1
        bnez    x1, loop
        halt
"""


def memory_loop(check: str, repeats: int = 3) -> dict:
    from emulator import Machine

    best, insns = float("inf"), 0
    for _ in range(repeats):
        m = Machine(check=check).load(MEMORY_LOOP)
        t0 = time.perf_counter()
        r = m.run()
        best = min(best, time.perf_counter() - t0)
        insns = r.instructions
    return {"instructions": insns, "seconds": best, "insns_per_s": insns / best}


def state_size() -> dict:
    from emulator import Machine

    m = Machine().load(CONTROL_LOOP)
    return {"bytes": m.state_bytes, "mib": m.state_bytes / 2**20,
            "mem_size": m.config["mem_size"]}


def main() -> dict:
    wave = mvm_wave()
    awave = mvm_wave(model="analog")
    loop = control_loop()
    mem_off, mem_on = memory_loop("off"), memory_loop("warn")
    size = state_size()
    us = 1e6
    print(f"{'measure':<44}{'value':>16}   note")
    print(f"{'48-core fwd MVM wave (emulator)':<44}{wave['emulator_s'] * us:>13.1f} µs   "
          f"128×256 int8 weights, 4-bit inputs, incl. sync")
    print(f"{'numpy W.T @ x float32, 48 calls':<44}{wave['numpy_loop_s'] * us:>13.1f} µs")
    print(f"{'numpy batched matmul float32':<44}{wave['numpy_batched_s'] * us:>13.1f} µs")
    print(f"{'ratio emulator / numpy (48 calls)':<44}{wave['ratio']:>16.2f}   goal ≤ 1.5")
    print(f"{'ratio emulator / numpy (batched)':<44}{wave['ratio_batched']:>16.2f}")
    print(f"{'48-core fwd MVM wave, analog model':<44}{awave['emulator_s'] * us:>13.1f} µs   "
          f"voltage-mode sensing, read noise, readout")
    print(f"{'ratio analog / numpy (48 calls)':<44}{awave['ratio']:>16.2f}   goal ≤ 3")
    print(f"{'scalar control loop':<44}{loop['insns_per_s'] / 1e6:>12.0f} M/s   "
          f"simulated instructions, goal ≥ 200 M/s")
    print(f"{'load/store loop, checker off':<44}{mem_off['insns_per_s'] / 1e6:>12.0f} M/s")
    print(f"{'load/store loop, checker on (warn)':<44}{mem_on['insns_per_s'] / 1e6:>12.0f} M/s   "
          f"every access looked up and its bytes' written bits checked")
    print(f"{'chip state (struct + memory + code)':<44}{size['mib']:>12.2f} MiB   "
          f"goal ≤ 64 MiB, data memory {size['mem_size'] >> 20} MiB")
    return {"mvm_wave": wave, "mvm_wave_analog": awave, "control_loop": loop,
            "memory_loop_off": mem_off, "memory_loop_check": mem_on, "state": size}


if __name__ == "__main__":
    main()
