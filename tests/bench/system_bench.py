"""Benchmark of multi-chip systems: simulated cycles per second for 1, 2 and 4 chips.

    python -m tests.bench.system_bench        (or `make bench` for every benchmark)

Every chip runs the same program: ITERS times, an MVM on 8 cores and a sync, then a 256-byte
token passes once round the ring of chips (chip 0 sends first; a one-chip system skips the
ring), over the c2c link preset.  Figures: wall-clock of one System.run() (best of REPEATS),
the system's simulated cycles, cycles per second (system cycles / s) and chip-cycles per second
(chips × cycles / s: the work the scheduler steps).  A second table runs the same program with
the MVM taken out ("link-bound": every few cycles a transfer, so it measures the scheduler's
rounds rather than the cores).
"""
from __future__ import annotations

import time

ITERS = 2000          # iterations with an MVM
LINK_ITERS = 100_000  # iterations of the link-bound variant
REPEATS = 3

PROGRAM = """
        .data
tok:    .zero   256
        .text
_start: chipid  x1
        nchips  x2
        addi    x3, x1, 1
        bne     x3, x2, ok
        movi    x3, 0
ok:     addi    x4, x1, -1
        bge     x4, x0, go
        addi    x4, x2, -1
go:     li      x10, 0xFF
        cpon    x10
        sync    x0
        la      x5, tok
        li      x6, 256
        li      x7, {ITERS}
        li      x9, 1
iter:   {MVM}
        beq     x2, x9, next       # one chip: no ring
        bnez    x1, relay
        send    x3, x5, x6
        recv    x4, x5, x6
        j       next
relay:  recv    x4, x5, x6
        send    x3, x5, x6
next:   addi    x7, x7, -1
        bnez    x7, iter
        halt
"""


def run(n: int, mvm: bool = True) -> dict:
    from asm import assemble
    from emulator.system import System

    body = "mvm.fwd x10\n        sync    x10" if mvm else "nop"
    iters = ITERS if mvm else LINK_ITERS
    prog = assemble(PROGRAM.replace("{MVM}", body).replace("{ITERS}", str(iters)), "system_bench.s")
    best, cycles = float("inf"), 0
    for _ in range(REPEATS):
        s = System(n, link="c2c").load([prog] * n)
        t0 = time.perf_counter()
        r = s.run()
        best = min(best, time.perf_counter() - t0)
        assert r.ok, r.message
        cycles = r.cycles
    return {"chips": n, "iterations": iters, "seconds": best, "cycles": cycles, "cycles_per_s": cycles / best,
            "chip_cycles_per_s": n * cycles / best}


def main() -> None:
    for mvm in (True, False):
        print("MVM + ring per iteration" if mvm else "link-bound (ring only)")
        print(f"{'chips':>5} {'wall s':>8} {'sim cycles':>12} {'cycles/s':>12} {'chip-cycles/s':>14} "
              f"{'iterations/s':>13}")
        for n in (1, 2, 4):
            r = run(n, mvm)
            print(f"{r['chips']:5d} {r['seconds']:8.3f} {r['cycles']:12,d} {r['cycles_per_s']:12.3g} "
                  f"{r['chip_cycles_per_s']:14.3g} {r['iterations'] / r['seconds']:13.3g}")


if __name__ == "__main__":
    main()
